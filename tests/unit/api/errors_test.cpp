// api/errors: the one table of error codes (common/error.hpp) gives each its HTTP status, and
// the envelope every error reply uses.
#include "api/errors.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "common/error.hpp"

namespace liveroom::api {
namespace {

TEST(Errors, EveryCodeIsListedOnceWithItsStatus) {
  std::set<std::string_view> seen;
  for (const auto& [code, status] : codes::kTable) {
    EXPECT_TRUE(seen.insert(code).second) << code << " twice";
    EXPECT_EQ(httpStatusFor(code), status) << code;
    EXPECT_TRUE(status == 307 || (status >= 400 && status <= 599)) << code;
  }
  EXPECT_EQ(httpStatusFor(codes::kRoomEnded), 410);
  EXPECT_EQ(httpStatusFor(codes::kPublisherExists), 409);
  EXPECT_EQ(httpStatusFor(codes::kStoreUnavailable), 503);
  EXPECT_EQ(httpStatusFor("no_such_code"), 500);
}

TEST(Errors, TheEnvelopeCarriesCodeAndMessage) {
  http::Response res = errorResponse(409, codes::kPublisherExists, "this room already has a broadcaster");
  EXPECT_EQ(res.status, 409);
  const auto body = nlohmann::json::parse(res.body);
  EXPECT_EQ(body["error"]["code"], "publisher_exists");
  EXPECT_EQ(body["error"]["message"], "this room already has a broadcaster");
}

}  // namespace
}  // namespace liveroom::api

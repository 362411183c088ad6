// Query parsing, percent-decoding and listen-address parsing of http/.
#include "http/message.hpp"

#include <gtest/gtest.h>

#include "http/server.hpp"

namespace liveroom::http {
namespace {

TEST(HttpMessage, QueryParam) {
  EXPECT_EQ(queryParam("room_id=live_abc&x=1", "room_id"), "live_abc");
  EXPECT_EQ(queryParam("x=1&room_id=a%20b+c", "room_id"), "a b c");
  EXPECT_EQ(queryParam("room_id=", "room_id"), "");
  EXPECT_EQ(queryParam("room_id", "room_id"), "");
  EXPECT_FALSE(queryParam("other=1", "room_id"));
  EXPECT_FALSE(queryParam("room_id=%zz", "room_id"));
  EXPECT_FALSE(queryParam("room_id=%4", "room_id"));
  EXPECT_FALSE(queryParam("", "room_id"));
}

TEST(HttpMessage, PercentDecode) {
  EXPECT_EQ(percentDecode("L%E1%BB%9Bp", false), "L\xE1\xBB\x9Bp");
  EXPECT_EQ(percentDecode("a+b", false), "a+b");
  EXPECT_FALSE(percentDecode("%", false));
}

TEST(HttpMessage, RequestHeaderLookup) {
  Request r;
  r.headers = {{"content-type", "application/json"}, {"authorization", "Bearer x"}};
  EXPECT_EQ(r.header("authorization"), "Bearer x");
  EXPECT_FALSE(r.header("origin"));
}

TEST(HttpServer, ParseListenAddress) {
  EXPECT_EQ(parseListenAddress("127.0.0.1:8080"), std::make_pair(std::string("127.0.0.1"), uint16_t{8080}));
  EXPECT_EQ(parseListenAddress("[::1]:0"), std::make_pair(std::string("::1"), uint16_t{0}));
  EXPECT_THROW(parseListenAddress("localhost"), std::invalid_argument);
  EXPECT_THROW(parseListenAddress("h:99999"), std::invalid_argument);
  EXPECT_THROW(parseListenAddress("h:8o"), std::invalid_argument);
  EXPECT_THROW(parseListenAddress(":80"), std::invalid_argument);
}

}  // namespace
}  // namespace liveroom::http

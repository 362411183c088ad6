// Depth-capped parsing of outside JSON.
#include "common/json.hpp"

#include <gtest/gtest.h>

#include <string>

namespace liveroom {
namespace {

TEST(JsonBounded, DepthIsMeasuredOutsideStrings) {
  EXPECT_EQ(jsonNestingDepth(R"({"a":[1,{"b":2}]})"), 3);
  EXPECT_EQ(jsonNestingDepth(R"({"a":"[[[[{{{{\"]]"})"), 1);
  EXPECT_EQ(jsonNestingDepth("42"), 0);
}

TEST(JsonBounded, DeepDocumentsAreRefusedWithoutBeingBuilt) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  JsonParse parsed = parseJsonBounded(deep);
  EXPECT_TRUE(parsed.too_deep);
  EXPECT_FALSE(parsed.value);
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(parseJsonBounded(ok).value);
  EXPECT_FALSE(parseJsonBounded(ok, kMaxJsonDepth - 1).value);
}

TEST(JsonBounded, NotJson) {
  JsonParse parsed = parseJsonBounded("{\"a\":");
  EXPECT_FALSE(parsed.too_deep);
  EXPECT_FALSE(parsed.value);
  EXPECT_EQ(parseJsonBounded("{\"a\":1}").value->at("a"), 1);
}

}  // namespace
}  // namespace liveroom

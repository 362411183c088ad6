// Opaque list cursors: round trip and rejection of anything we did not issue.
#include "api/cursor.hpp"

#include <gtest/gtest.h>

namespace liveroom::api {
namespace {

TEST(Cursor, RoundTrips) {
  for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{1763600000123}}) {
    ListCursor c{ms, "live_abcDEF1234567890"};
    auto text = encodeCursor(c);
    EXPECT_EQ(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    EXPECT_EQ(decodeCursor(text), c);
  }
}

TEST(Cursor, RejectsGarbage) {
  EXPECT_FALSE(decodeCursor(""));
  EXPECT_FALSE(decodeCursor("!!!!"));
  EXPECT_FALSE(decodeCursor("a"));
  EXPECT_FALSE(decodeCursor(std::string(500, 'A')));
  EXPECT_FALSE(decodeCursor(encodeCursor({5, "not-a-room"})));
  // "x:live_..." (non-numeric time) and "-5:live_..." (negative)
  EXPECT_FALSE(decodeCursor("eDpsaXZlX2FiY0RFRjEyMzQ1Njc4OTA"));
  EXPECT_FALSE(decodeCursor("LTU6bGl2ZV9hYmNERUYxMjM0NTY3ODkw"));
}

}  // namespace
}  // namespace liveroom::api

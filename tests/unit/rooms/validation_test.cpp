// Title, host and room-id rules of rooms/validation.
#include "rooms/validation.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace liveroom::rooms {
namespace {

std::string codeOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code() + ": " + e.what();
  }
  return "ok";
}

TEST(Validation, TitleIsTrimmedAndKept) { EXPECT_EQ(normalizeTitle("  Lớp học online \n"), "Lớp học online"); }

TEST(Validation, TitleCountsCharactersNotBytes) {
  std::string vietnamese;
  for (int i = 0; i < 200; ++i) vietnamese += "ớ";  // 3 bytes each
  EXPECT_EQ(normalizeTitle(vietnamese), vietnamese);
  EXPECT_NE(codeOf([&] { normalizeTitle(vietnamese + "a"); }).find("at most 200"), std::string::npos);
}

TEST(Validation, TitleRejectsEmptyInvalidUtf8AndControls) {
  EXPECT_EQ(codeOf([] { normalizeTitle("   "); }).substr(0, 13), "invalid_field");
  EXPECT_EQ(codeOf([] { normalizeTitle(""); }).substr(0, 13), "invalid_field");
  EXPECT_NE(codeOf([] { normalizeTitle("bad \xC3\x28"); }).find("UTF-8"), std::string::npos);
  EXPECT_NE(codeOf([] { normalizeTitle("overlong \xC0\xAF"); }).find("UTF-8"), std::string::npos);
  EXPECT_NE(codeOf([] { normalizeTitle("surrogate \xED\xA0\x80"); }).find("UTF-8"), std::string::npos);
  EXPECT_NE(codeOf([] { normalizeTitle(std::string("nul\0x", 5)); }).find("control"), std::string::npos);
}

TEST(Validation, Utf8Validator) {
  EXPECT_TRUE(isValidUtf8("plain"));
  EXPECT_TRUE(isValidUtf8("\xF0\x9F\x8E\xA5 emoji"));
  EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xE2\x82"));          // truncated
  EXPECT_EQ(utf8Length("Lớp"), 3u);
}

TEST(Validation, Host) {
  EXPECT_EQ(codeOf([] { validateHost("user_123"); }), "ok");
  EXPECT_EQ(codeOf([] { validateHost("a.b-c@d"); }), "ok");
  EXPECT_EQ(codeOf([] { validateHost(std::string(64, 'a')); }), "ok");
  EXPECT_NE(codeOf([] { validateHost(std::string(65, 'a')); }), "ok");
  EXPECT_NE(codeOf([] { validateHost(""); }), "ok");
  EXPECT_NE(codeOf([] { validateHost("has space"); }), "ok");
  EXPECT_NE(codeOf([] { validateHost("ü"); }), "ok");
}

TEST(Validation, RoomId) {
  EXPECT_TRUE(isWellFormedRoomId("live_abcDEF123456"));
  EXPECT_FALSE(isWellFormedRoomId("live_short"));
  EXPECT_FALSE(isWellFormedRoomId("room_abcDEF123456"));
  EXPECT_FALSE(isWellFormedRoomId("live_abcDEF12345-"));
  EXPECT_FALSE(isWellFormedRoomId("live_" + std::string(65, 'a')));
}

}  // namespace
}  // namespace liveroom::rooms

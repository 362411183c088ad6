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

TEST(Validation, HostNamesInAnyLanguage) {
  EXPECT_EQ(normalizeHost("user_123"), "user_123");
  EXPECT_EQ(normalizeHost("Cô Lan"), "Cô Lan");  // Vietnamese, with a space
  EXPECT_EQ(normalizeHost("  Thầy Nguyễn Văn Hùng \t"), "Thầy Nguyễn Văn Hùng");
  EXPECT_EQ(normalizeHost("李老师"), "李老师");  // CJK
  EXPECT_EQ(normalizeHost("田中さん"), "田中さん");
  EXPECT_EQ(normalizeHost("Lan \xF0\x9F\x8E\x93"), "Lan \xF0\x9F\x8E\x93");  // emoji (graduation cap)
  EXPECT_EQ(normalizeHost("\xE3\x80\x80Mai\xC2\xA0"), "Mai");                // ideographic + no-break space trimmed
  EXPECT_EQ(normalizeHost("مريم"), "مريم");                                  // right-to-left script
  EXPECT_EQ(normalizeHost("a.b-c@d"), "a.b-c@d");
  std::string cjk64;
  for (int i = 0; i < 64; ++i) cjk64 += "李";  // 64 characters, 192 bytes
  EXPECT_EQ(normalizeHost(cjk64), cjk64);
  EXPECT_NE(codeOf([&] { normalizeHost(cjk64 + "a"); }).find("at most 64"), std::string::npos);
  EXPECT_NE(codeOf([] { normalizeHost(std::string(65, 'a')); }), "ok");
}

TEST(Validation, HostileHostNamesAreRefused) {
  auto refused = [](std::string_view text, std::string_view why) {
    const std::string got = codeOf([&] { normalizeHost(text); });
    EXPECT_EQ(got.substr(0, 13), "invalid_field") << text;
    EXPECT_NE(got.find(why), std::string::npos) << got;
  };
  refused("", "empty");
  refused(" \t\xE3\x80\x80 ", "empty");
  refused(std::string("a\0b", 3), "control");
  refused("a\x1B[31mred", "control");  // terminal escapes
  refused(
      "a\xC2\x85"
      "b",
      "control");  // C1 NEL inside
  refused("a\x7F", "control");
  refused("a\nb", "control");
  refused("admin\xE2\x80\xAEnimda", "bidirectional");      // RIGHT-TO-LEFT OVERRIDE
  refused("x\xE2\x81\xA6y\xE2\x81\xA9", "bidirectional");  // LEFT-TO-RIGHT ISOLATE ... POP
  refused(
      "a\xE2\x80\xA8"
      "b",
      "separator");
  refused("a\xEF\xBF\xBE", "noncharacter");
  refused("overlong \xC0\xAF", "UTF-8");
  refused("\xE0\x80\xAF", "UTF-8");  // overlong '/'
  refused("surrogate \xED\xA0\x80", "UTF-8");
  refused("bad \xC3\x28", "UTF-8");
  refused("\xF4\x90\x80\x80", "UTF-8");
}

TEST(Validation, TitlesFollowTheSameRules) {
  EXPECT_EQ(normalizeTitle("\xE3\x80\x80Lớp học\xC2\xA0"), "Lớp học");
  EXPECT_NE(codeOf([] { normalizeTitle("x\xE2\x80\xAEy"); }).find("bidirectional"), std::string::npos);
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

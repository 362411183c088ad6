// common/hex and common/random: the one hex codec and the one source of random ids.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <stdexcept>
#include <vector>

#include "common/hex.hpp"
#include "common/random.hpp"

namespace liveroom {
namespace {

TEST(Hex, EncodesLowerUpperAndWithASeparator) {
  const std::vector<uint8_t> bytes = {0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(hexEncode(bytes), "000fa5ff");
  EXPECT_EQ(hexEncode(bytes, /*upper=*/true, ':'), "00:0F:A5:FF");  // a DTLS fingerprint
  EXPECT_EQ(hexEncode({}), "");
  EXPECT_EQ(hexEncode({}, true, ':'), "");
}

TEST(Hex, DecodesEitherCaseAndRefusesAnythingElse) {
  EXPECT_EQ(hexDecode("000fA5ff"), (std::vector<uint8_t>{0x00, 0x0f, 0xa5, 0xff}));
  EXPECT_TRUE(hexDecode("").empty());
  EXPECT_THROW(hexDecode("abc"), std::invalid_argument);
  EXPECT_THROW(hexDecode("0g"), std::invalid_argument);
  EXPECT_THROW(hexDecode("0x00"), std::invalid_argument) << "no prefix here (eth::fromHex takes it)";
  EXPECT_THROW(hexDecode(" 0"), std::invalid_argument);
}

TEST(Random, HexHasTheLengthAskedAndDiffers) {
  EXPECT_EQ(randomHex(16).size(), 32u);
  EXPECT_EQ(randomHex(0), "");
  EXPECT_NE(randomHex(16), randomHex(16));
  EXPECT_EQ(hexDecode(randomHex(8)).size(), 8u);
}

TEST(Random, StringsUseOnlyTheAlphabetAndEverySymbolAboutEqually) {
  const std::string s = randomString(62 * 400, kBase62);
  std::map<char, int> counts;
  for (char c : s) {
    ASSERT_NE(kBase62.find(c), std::string_view::npos) << c;
    ++counts[c];
  }
  ASSERT_EQ(counts.size(), 62u);
  for (const auto& [c, n] : counts) {  // 400 expected each: far outside [250, 550] means bias
    EXPECT_GT(n, 250) << c;
    EXPECT_LT(n, 550) << c;
  }
  EXPECT_EQ(randomString(5, "ab").find_first_not_of("ab"), std::string::npos);
  EXPECT_THROW(randomString(5, "a"), std::invalid_argument);
}

TEST(Random, ValuesDiffer) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 100; ++i) seen.insert(randomValue<uint64_t>());
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace liveroom

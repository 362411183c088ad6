// RLP against the ethereum/tests vectors in ../shared/fixtures/eth (rlptest.json must round-trip,
// every invalidRLPTest.json case must be refused), plus the hex and 256-bit helpers it relies on.
#include "eth/rlp.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <stdexcept>
#include <string>

#include "eth/hex.hpp"
#include "eth/uint256.hpp"
#include "support/fixtures.hpp"

namespace liveroom::eth {
namespace {

using rlp::Item;

// The item an rlptest.json "in" value stands for.
Item expectedItem(const nlohmann::json& in) {
  if (in.is_array()) {
    std::vector<Item> children;
    for (const auto& child : in) children.push_back(expectedItem(child));
    return Item::list(std::move(children));
  }
  if (in.is_number_unsigned()) return Item::string(U256(in.get<uint64_t>()).minimalBytes());
  const auto text = in.get<std::string>();
  if (!text.empty() && text[0] == '#') return Item::string(decimalToBytes(std::string_view(text).substr(1)));
  return Item::string(Bytes(text.begin(), text.end()));
}

TEST(Hex, ParsesPrefixedBareAndMixedCase) {
  EXPECT_EQ(fromHex("0x00ff7F"), (Bytes{0x00, 0xff, 0x7f}));
  EXPECT_EQ(fromHex("0XAbCd"), (Bytes{0xab, 0xcd}));
  EXPECT_EQ(fromHex("abcd"), (Bytes{0xab, 0xcd}));
  EXPECT_EQ(fromHex(""), Bytes{});
  EXPECT_EQ(fromHex("0x"), Bytes{});
  EXPECT_EQ(toHex(Bytes{0x00, 0xab}), "00ab");
  EXPECT_EQ(toHex(Bytes{0x00, 0xab}, true), "0x00ab");
}

TEST(Hex, RejectsMalformedText) {
  for (const char* bad : {"0x1", "abc", "0xzz", "0x 0", "00x0", "x0", "0x0g", "+1", "0x-1"}) {
    EXPECT_THROW(fromHex(bad), std::invalid_argument) << bad;
  }
}

TEST(Hex, Uint256Conversions) {
  EXPECT_EQ(decimalToBytes("0"), Bytes{});
  EXPECT_EQ(decimalToBytes("256"), (Bytes{0x01, 0x00}));
  EXPECT_EQ(U256::fromDecimal("1000000000000000000").minimalBytes(), fromHex("0de0b6b3a7640000"));
  EXPECT_EQ(U256::fromHex("0x1"), U256(1));
  EXPECT_EQ(U256::fromHex("0x0"), U256(0));
  EXPECT_EQ(U256(0x1234).toUint64(), 0x1234u);
  EXPECT_THROW(U256::fromDecimal("115792089237316195423570985008687907853269984665640564039457584007913129639936"),
               std::invalid_argument);  // 2^256
  EXPECT_NO_THROW(U256::fromDecimal("115792089237316195423570985008687907853269984665640564039457584007913129639935"));
  EXPECT_THROW(U256::fromHex("0x1" + std::string(64, '0')).toUint64(), std::invalid_argument);
  EXPECT_THROW(U256::fromDecimal("12a"), std::invalid_argument);
  EXPECT_THROW(U256::fromDecimal(""), std::invalid_argument);
  EXPECT_THROW(U256::fromHex("0x1" + std::string(16, '0')).toUint64(), std::out_of_range);
}

TEST(Rlp, OfficialValidVectorsRoundTrip) {
  const auto cases = nlohmann::json::parse(test_support::readFixture("eth/rlptest.json"));
  ASSERT_GE(cases.size(), 20u);
  for (const auto& [name, c] : cases.items()) {
    SCOPED_TRACE(name);
    const Bytes out = fromHex(c["out"].get<std::string>());
    const Item expected = expectedItem(c["in"]);
    EXPECT_EQ(toHex(rlp::encode(expected)), toHex(out));
    Item decoded;
    ASSERT_NO_THROW(decoded = rlp::decode(out));
    EXPECT_EQ(decoded, expected);
    EXPECT_EQ(rlp::encode(decoded), out);
  }
}

TEST(Rlp, OfficialInvalidVectorsAreRejected) {
  const auto cases = nlohmann::json::parse(test_support::readFixture("eth/invalidRLPTest.json"));
  ASSERT_GE(cases.size(), 15u);
  for (const auto& [name, c] : cases.items()) {
    SCOPED_TRACE(name);
    const Bytes out = fromHex(c["out"].get<std::string>());
    EXPECT_THROW(rlp::decode(out), DecodeError);
  }
}

TEST(Rlp, RejectsTruncationTrailingBytesAndEmptyInput) {
  EXPECT_THROW(rlp::decode(Bytes{}), DecodeError);
  EXPECT_THROW(rlp::decode(fromHex("83646f")), DecodeError);      // string cut short
  EXPECT_THROW(rlp::decode(fromHex("83646f6700")), DecodeError);  // trailing byte
  EXPECT_THROW(rlp::decode(fromHex("c3646f")), DecodeError);      // list cut short
  EXPECT_THROW(rlp::decode(fromHex("c28364")), DecodeError);      // child runs past its list
  EXPECT_THROW(rlp::decode(fromHex("b9")), DecodeError);          // length bytes missing
  EXPECT_THROW(rlp::decode(fromHex("ffffffffffffffffff")), DecodeError);
  EXPECT_THROW(rlp::decode(Bytes(rlp::kMaxDepth + 2, 0xc0)), DecodeError);
}

TEST(Rlp, DeepNestingIsBoundedNotACrash) {
  Bytes nested(100000, 0xc1);
  nested.back() = 0xc0;  // c1 c1 ... c0: 100000 levels
  EXPECT_THROW(rlp::decode(nested), DecodeError);
}

TEST(Rlp, IntegersAreCanonical) {
  EXPECT_EQ(rlp::encodeUint(uint64_t{0}), fromHex("80"));
  EXPECT_EQ(rlp::encodeUint(uint64_t{0x7f}), fromHex("7f"));
  EXPECT_EQ(rlp::encodeUint(uint64_t{0x80}), fromHex("8180"));
  EXPECT_EQ(rlp::encodeUint(U256::fromDecimal("1000000000000000000")), fromHex("880de0b6b3a7640000"));
  EXPECT_EQ(rlp::decode(fromHex("820400")).asUint64(), 1024u);
  EXPECT_EQ(rlp::decode(fromHex("80")).asUint64(), 0u);
  EXPECT_THROW(rlp::decode(fromHex("820004")).asUint64(), DecodeError);                // leading zero
  EXPECT_THROW(rlp::decode(fromHex("00")).asUint64(), DecodeError);                    // zero must be 0x80
  EXPECT_THROW(rlp::decode(fromHex("c0")).asUint64(), DecodeError);                    // a list
  EXPECT_THROW(rlp::decode(fromHex("89010000000000000000")).asUint64(), DecodeError);  // 2^64
}

// Whatever the decoder accepts is canonical, so it re-encodes to exactly the input; everything else is a
// DecodeError (never a crash or an out-of-bounds read: run under LIVEROOM_SANITIZE to check the latter).
TEST(Rlp, MutatedInputsEitherRoundTripOrAreRejected) {
  const auto cases = nlohmann::json::parse(test_support::readFixture("eth/rlptest.json"));
  std::vector<Bytes> seeds;
  for (const auto& [name, c] : cases.items()) seeds.push_back(fromHex(c["out"].get<std::string>()));
  std::mt19937 rng(4);  // fixed seed: reproducible
  size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    Bytes input = seeds[rng() % seeds.size()];
    const int mutations = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < mutations && !input.empty(); ++m) {
      const size_t at = rng() % input.size();
      switch (rng() % 3) {
        case 0:
          input[at] = static_cast<uint8_t>(rng());
          break;
        case 1:
          input.erase(input.begin() + static_cast<std::ptrdiff_t>(at));
          break;
        default:
          input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(rng()));
      }
    }
    try {
      const Item item = rlp::decode(input);
      ++accepted;
      ASSERT_EQ(toHex(rlp::encode(item)), toHex(input));
    } catch (const DecodeError&) {
    }
  }
  EXPECT_GT(accepted, 0u);
}

}  // namespace
}  // namespace liveroom::eth

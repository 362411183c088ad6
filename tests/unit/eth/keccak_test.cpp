// Keccak-256 against the vectors of ../shared/fixtures/eth/README.md.
#include "eth/keccak.hpp"

#include <gtest/gtest.h>

#include <string>

namespace liveroom::eth {
namespace {

std::string hex(const Hash& h, size_t n = 32) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[h[i] >> 4]);
    out.push_back(kHex[h[i] & 15]);
  }
  return out;
}

TEST(Keccak, EmptyInputIsKeccakNotSha3) {
  EXPECT_EQ(hex(keccak256("")), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

TEST(Keccak, SelectorsAndTopics) {
  EXPECT_EQ(hex(keccak256("transfer(address,uint256)"), 4), "a9059cbb");
  EXPECT_EQ(hex(keccak256("baz(uint32,bool)"), 4), "cdcd77c0");
  EXPECT_EQ(hex(keccak256("Error(string)"), 4), "08c379a0");
  EXPECT_EQ(hex(keccak256("Panic(uint256)"), 4), "4e487b71");
  EXPECT_EQ(hex(keccak256("Transfer(address,address,uint256)")),
            "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
}

}  // namespace
}  // namespace liveroom::eth

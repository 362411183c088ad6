// Unsigned 256-bit quantities (wei amounts, fees, signature scalars) held as 32 big-endian bytes, with the
// conversions the Ethereum client needs: from uint64, decimal text and big-endian bytes; to minimal bytes.
// No arithmetic: values are carried between JSON-RPC, RLP and ABI, not computed with.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string_view>

#include "eth/hex.hpp"

namespace liveroom::eth {

// Big-endian bytes of the non-negative decimal number `text`, without leading zeros (zero is empty), of any
// size. Throws std::invalid_argument unless `text` is one or more decimal digits.
Bytes decimalToBytes(std::string_view text);

class U256 {
 public:
  constexpr U256() = default;
  constexpr U256(uint64_t v) {  // NOLINT: implicit, so `tx.value = 5` reads naturally.
    for (size_t i = 0; i < 8; ++i) be_[31 - i] = static_cast<uint8_t>(v >> (8 * i));
  }

  // Big-endian bytes, leading zeros allowed; throws std::invalid_argument if the value needs more than 256 bits.
  static U256 fromBytes(std::span<const uint8_t> big_endian);
  static U256 fromDecimal(std::string_view text);
  // "0x"-prefixed or bare hex of any (even or odd) length, as JSON-RPC quantities are written.
  static U256 fromHex(std::string_view text);

  const std::array<uint8_t, 32>& bytes() const { return be_; }
  // Big-endian without leading zeros; zero is empty (the RLP and JSON-RPC form).
  Bytes minimalBytes() const;
  bool fitsUint64() const;
  // Throws std::out_of_range unless fitsUint64().
  uint64_t toUint64() const;

  friend auto operator<=>(const U256&, const U256&) = default;

 private:
  std::array<uint8_t, 32> be_{};
};

}  // namespace liveroom::eth

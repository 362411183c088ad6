// 256-bit quantities (see uint256.hpp).
#include "eth/uint256.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace liveroom::eth {

Bytes decimalToBytes(std::string_view text) {
  if (text.empty()) throw std::invalid_argument("decimal: empty");
  Bytes be;  // big-endian, grows at the front as needed
  for (const char c : text) {
    if (c < '0' || c > '9') throw std::invalid_argument("decimal: not a digit");
    unsigned carry = static_cast<unsigned>(c - '0');
    for (auto it = be.rbegin(); it != be.rend(); ++it) {
      const unsigned v = *it * 10u + carry;
      *it = static_cast<uint8_t>(v & 0xff);
      carry = v >> 8;
    }
    if (carry != 0) be.insert(be.begin(), static_cast<uint8_t>(carry));
  }
  const auto first = std::find_if(be.begin(), be.end(), [](uint8_t b) { return b != 0; });
  return Bytes(first, be.end());
}

U256 U256::fromBytes(std::span<const uint8_t> big_endian) {
  const auto first = std::find_if(big_endian.begin(), big_endian.end(), [](uint8_t b) { return b != 0; });
  const auto significant = static_cast<size_t>(big_endian.end() - first);
  if (significant > 32) throw std::invalid_argument("uint256: value exceeds 256 bits");
  U256 out;
  std::copy(first, big_endian.end(), out.be_.begin() + static_cast<std::ptrdiff_t>(32 - significant));
  return out;
}

U256 U256::fromDecimal(std::string_view text) { return fromBytes(decimalToBytes(text)); }

U256 U256::fromHex(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  if (text.empty()) throw std::invalid_argument("uint256: empty hex");
  std::string even = text.size() % 2 ? "0" : "";
  even.append(text);
  return fromBytes(eth::fromHex(even));
}

Bytes U256::minimalBytes() const {
  const auto first = std::find_if(be_.begin(), be_.end(), [](uint8_t b) { return b != 0; });
  return Bytes(first, be_.end());
}

bool U256::fitsUint64() const {
  return std::all_of(be_.begin(), be_.begin() + 24, [](uint8_t b) { return b == 0; });
}

uint64_t U256::toUint64() const {
  if (!fitsUint64()) throw std::out_of_range("uint256: value exceeds 64 bits");
  uint64_t v = 0;
  for (size_t i = 24; i < 32; ++i) v = v << 8 | be_[i];
  return v;
}

}  // namespace liveroom::eth

// Recursive Length Prefix (RLP), Ethereum's serialization of transactions: encoding of byte strings, unsigned
// integers (big-endian, minimal) and lists, and a strict decoder into an item tree that accepts only the
// canonical encoding (minimal lengths, no leading zeros, no trailing bytes) and never reads past its input.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "eth/hex.hpp"
#include "eth/uint256.hpp"

namespace liveroom::eth {

// Malformed or non-canonical input to a decoder (RLP, transactions).
class DecodeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace rlp {

// One decoded RLP item: a byte string, or a list of items.
struct Item {
  bool is_list = false;
  Bytes bytes;              // the string's bytes (when !is_list)
  std::vector<Item> items;  // the list's items (when is_list)

  static Item string(Bytes b) { return Item{false, std::move(b), {}}; }
  static Item list(std::vector<Item> children) { return Item{true, {}, std::move(children)}; }

  // This item as a canonical unsigned integer (no leading zero byte; zero is the empty string).
  // Throw DecodeError on a list, a leading zero, or a value that does not fit.
  uint64_t asUint64() const;
  U256 asU256() const;

  friend bool operator==(const Item&, const Item&) = default;
};

Bytes encodeString(std::span<const uint8_t> bytes);
Bytes encodeString(std::string_view text);
Bytes encodeUint(uint64_t value);
Bytes encodeUint(const U256& value);
// A list of already encoded items (their concatenation gets the list header).
Bytes encodeList(std::span<const Bytes> encoded_items);
Bytes encode(const Item& item);

// The single item that `data` encodes, all of `data`. Throws DecodeError on anything non-canonical.
// Nesting deeper than kMaxDepth lists is refused (bounds the recursion).
inline constexpr size_t kMaxDepth = 256;
Item decode(std::span<const uint8_t> data);

}  // namespace rlp
}  // namespace liveroom::eth

// RLP encoding and strict decoding (see rlp.hpp).
#include "eth/rlp.hpp"

#include <algorithm>

namespace liveroom::eth::rlp {
namespace {

constexpr uint8_t kStringOffset = 0x80;
constexpr uint8_t kListOffset = 0xc0;

// The header of a string (offset 0x80) or list (offset 0xc0) payload of `length` bytes.
Bytes header(size_t length, uint8_t offset) {
  if (length < 56) return Bytes{static_cast<uint8_t>(offset + length)};
  Bytes len_be;
  for (size_t v = length; v != 0; v >>= 8) len_be.insert(len_be.begin(), static_cast<uint8_t>(v & 0xff));
  Bytes out{static_cast<uint8_t>(offset + 55 + len_be.size())};
  out.insert(out.end(), len_be.begin(), len_be.end());
  return out;
}

class Decoder {
 public:
  explicit Decoder(std::span<const uint8_t> data) : data_(data) {}

  // Decodes the item at pos_, which must end at or before `end`; advances pos_ past it.
  Item item(size_t end, size_t depth) {
    if (pos_ >= end) throw DecodeError("rlp: truncated input");
    const uint8_t b = data_[pos_++];
    if (b < kStringOffset) return Item::string(Bytes{b});
    const bool is_list = b >= kListOffset;
    const uint8_t offset = is_list ? kListOffset : kStringOffset;
    size_t length = 0;
    if (b - offset < 56) {
      length = b - offset;
    } else {
      const size_t length_bytes = static_cast<size_t>(b - offset - 55);  // 1..8
      if (length_bytes > end - pos_) throw DecodeError("rlp: truncated length");
      if (data_[pos_] == 0) throw DecodeError("rlp: leading zero in length");
      for (size_t i = 0; i < length_bytes; ++i) length = length << 8 | data_[pos_++];
      if (length < 56) throw DecodeError("rlp: long form for a short length");
    }
    if (length > end - pos_) throw DecodeError("rlp: length exceeds input");
    const size_t item_end = pos_ + length;
    if (!is_list) {
      if (length == 1 && data_[pos_] < kStringOffset) throw DecodeError("rlp: single byte below 0x80 as a string");
      Item out = Item::string(Bytes(data_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                    data_.begin() + static_cast<std::ptrdiff_t>(item_end)));
      pos_ = item_end;
      return out;
    }
    if (depth >= kMaxDepth) throw DecodeError("rlp: lists nested too deeply");
    Item out = Item::list({});
    while (pos_ < item_end) out.items.push_back(item(item_end, depth + 1));
    return out;
  }

  size_t pos() const { return pos_; }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

}  // namespace

uint64_t Item::asUint64() const {
  const U256 v = asU256();
  if (!v.fitsUint64()) throw DecodeError("rlp: integer exceeds 64 bits");
  return v.toUint64();
}

U256 Item::asU256() const {
  if (is_list) throw DecodeError("rlp: list where an integer was expected");
  if (!bytes.empty() && bytes[0] == 0) throw DecodeError("rlp: leading zero in integer");
  if (bytes.size() > 32) throw DecodeError("rlp: integer exceeds 256 bits");
  return U256::fromBytes(bytes);
}

Bytes encodeString(std::span<const uint8_t> bytes) {
  if (bytes.size() == 1 && bytes[0] < kStringOffset) return Bytes{bytes[0]};
  Bytes out = header(bytes.size(), kStringOffset);
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

Bytes encodeString(std::string_view text) {
  return encodeString(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

Bytes encodeUint(uint64_t value) { return encodeUint(U256(value)); }

Bytes encodeUint(const U256& value) { return encodeString(value.minimalBytes()); }

Bytes encodeList(std::span<const Bytes> encoded_items) {
  size_t total = 0;
  for (const Bytes& e : encoded_items) total += e.size();
  Bytes out = header(total, kListOffset);
  out.reserve(out.size() + total);
  for (const Bytes& e : encoded_items) out.insert(out.end(), e.begin(), e.end());
  return out;
}

Bytes encode(const Item& item) {
  if (!item.is_list) return encodeString(item.bytes);
  std::vector<Bytes> children;
  children.reserve(item.items.size());
  for (const Item& child : item.items) children.push_back(encode(child));
  return encodeList(children);
}

Item decode(std::span<const uint8_t> data) {
  Decoder decoder(data);
  Item out = decoder.item(data.size(), 0);
  if (decoder.pos() != data.size()) throw DecodeError("rlp: trailing bytes after the item");
  return out;
}

}  // namespace liveroom::eth::rlp

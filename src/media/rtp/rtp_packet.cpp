// RTP header parsing and in-place rewriting for the forwarding path.
#include "media/rtp/rtp_packet.hpp"

#include "media/byte_io.hpp"

#include <cstring>

namespace liveroom::media::rtp {
namespace {

// One extension element as found in the block.
struct Element {
  size_t header_offset;  // the id byte
  size_t header_size;    // 1 (one-byte form) or 2 (two-byte form)
  uint8_t id;
  size_t value_size;
};

// Walks the elements of a one- or two-byte extension block, calling visit(Element) for each.
// Returns false when an element overruns the block. Padding (id 0) is skipped; in the one-byte
// form id 15 ends processing (RFC 8285 §4.2).
template <typename Visit>
bool walkElements(const uint8_t* block, size_t size, ExtensionForm form, Visit&& visit) {
  size_t i = 0;
  while (i < size) {
    const uint8_t first = block[i];
    if (form == ExtensionForm::OneByte) {
      const uint8_t id = first >> 4;
      if (id == 0) {
        ++i;
        continue;
      }
      if (id == 15) return true;
      const size_t len = size_t{first & 0x0Fu} + 1;
      if (len > size - i - 1) return false;
      if (!visit(Element{i, 1, id, len})) return true;
      i += 1 + len;
    } else {
      if (first == 0) {
        ++i;
        continue;
      }
      if (size - i < 2) return false;
      const size_t len = block[i + 1];
      if (len > size - i - 2) return false;
      if (!visit(Element{i, 2, first, len})) return true;
      i += 2 + len;
    }
  }
  return true;
}

}  // namespace

std::optional<RtpPacket> RtpPacket::parse(uint8_t* data, size_t size) {
  if (data == nullptr || size < kFixedHeaderSize) return std::nullopt;
  if ((data[0] >> 6) != 2) return std::nullopt;
  RtpPacket packet;
  packet.data_ = data;
  packet.size_ = size;
  size_t pos = kFixedHeaderSize + 4 * size_t{data[0] & 0x0Fu};
  if (pos > size) return std::nullopt;
  if (data[0] & 0x10) {
    if (size - pos < 4) return std::nullopt;
    packet.extension_profile_ = read16(data + pos);
    const size_t ext_size = 4 * size_t{read16(data + pos + 2)};
    pos += 4;
    if (ext_size > size - pos) return std::nullopt;
    packet.extension_offset_ = pos;
    packet.extension_size_ = ext_size;
    if (packet.extension_profile_ == kOneByteProfile) {
      packet.extension_form_ = ExtensionForm::OneByte;
    } else if ((packet.extension_profile_ & kTwoByteProfileMask) == kTwoByteProfile) {
      packet.extension_form_ = ExtensionForm::TwoByte;
    } else {
      packet.extension_form_ = ExtensionForm::Other;  // opaque: carried, never interpreted
    }
    if (packet.extension_form_ != ExtensionForm::Other &&
        !walkElements(data + pos, ext_size, packet.extension_form_, [](const Element&) { return true; })) {
      return std::nullopt;
    }
    pos += ext_size;
  }
  packet.header_size_ = pos;
  if (data[0] & 0x20) {
    // The last byte counts the padding, itself included (RFC 3550 §5.1).
    const size_t padding = data[size - 1];
    if (padding == 0 || padding > size - pos) return std::nullopt;
    packet.padding_size_ = padding;
  }
  return packet;
}

uint32_t RtpPacket::csrc(size_t index) const noexcept { return read32(data_ + kFixedHeaderSize + 4 * index); }
uint16_t RtpPacket::sequenceNumber() const noexcept { return read16(data_ + 2); }
uint32_t RtpPacket::timestamp() const noexcept { return read32(data_ + 4); }
uint32_t RtpPacket::ssrc() const noexcept { return read32(data_ + 8); }

std::optional<std::span<uint8_t>> RtpPacket::findExtension(uint8_t id) const noexcept {
  if (id == 0 || (extension_form_ != ExtensionForm::OneByte && extension_form_ != ExtensionForm::TwoByte)) {
    return std::nullopt;
  }
  std::optional<std::span<uint8_t>> found;
  uint8_t* block = data_ + extension_offset_;
  walkElements(block, extension_size_, extension_form_, [&](const Element& e) {
    if (e.id != id) return true;
    found = std::span<uint8_t>(block + e.header_offset + e.header_size, e.value_size);
    return false;
  });
  return found;
}

void RtpPacket::setMarker(bool marker) noexcept {
  data_[1] = static_cast<uint8_t>((data_[1] & 0x7F) | (marker ? 0x80 : 0));
}
void RtpPacket::setPayloadType(uint8_t payload_type) noexcept {
  data_[1] = static_cast<uint8_t>((data_[1] & 0x80) | (payload_type & 0x7F));
}
void RtpPacket::setSequenceNumber(uint16_t sequence_number) noexcept { write16(data_ + 2, sequence_number); }
void RtpPacket::setTimestamp(uint32_t timestamp) noexcept { write32(data_ + 4, timestamp); }
void RtpPacket::setSsrc(uint32_t ssrc) noexcept { write32(data_ + 8, ssrc); }

void RtpPacket::remapExtensionIds(std::span<const uint8_t> map) noexcept {
  if (extension_form_ != ExtensionForm::OneByte && extension_form_ != ExtensionForm::TwoByte) return;
  uint8_t* block = data_ + extension_offset_;
  const bool one_byte = extension_form_ == ExtensionForm::OneByte;
  // Lengths are read before each rewrite, and rewrites never change lengths, so the walk is safe.
  walkElements(block, extension_size_, extension_form_, [&](const Element& e) {
    const uint8_t to = e.id < map.size() ? map[e.id] : 0;
    const bool fits = to != 0 && (!one_byte || to <= 14);
    uint8_t* header = block + e.header_offset;
    if (!fits) {
      std::memset(header, 0, e.header_size + e.value_size);
    } else if (one_byte) {
      header[0] = static_cast<uint8_t>((to << 4) | (header[0] & 0x0F));
    } else {
      header[0] = to;
    }
    return true;
  });
}

RtpPacket RtpPacket::copyTo(uint8_t* buffer) const noexcept {
  std::memcpy(buffer, data_, size_);
  RtpPacket copy = *this;
  copy.data_ = buffer;
  return copy;
}

}  // namespace liveroom::media::rtp

// RTCP compound iteration and header writing.
#include "media/rtcp/rtcp_packet.hpp"

namespace liveroom::media::rtcp {

std::optional<RtcpPacketView> RtcpCompoundReader::next() noexcept {
  if (malformed_ || data_ == nullptr || pos_ >= size_) return std::nullopt;
  const size_t remaining = size_ - pos_;
  const uint8_t* p = data_ + pos_;
  if (remaining < kHeaderSize || (p[0] >> 6) != 2) {
    malformed_ = true;
    return std::nullopt;
  }
  const size_t packet_size = (size_t{detail::read16(p + 2)} + 1) * 4;
  if (packet_size > remaining) {
    malformed_ = true;
    return std::nullopt;
  }
  RtcpPacketView view;
  view.data = p;
  view.size = packet_size;
  view.count = p[0] & 0x1F;
  view.packet_type = p[1];
  if (p[0] & 0x20) {
    // The last byte counts the padding, itself included; it cannot eat into the header.
    const size_t padding = p[packet_size - 1];
    if (padding == 0 || padding > packet_size - kHeaderSize) {
      malformed_ = true;
      return std::nullopt;
    }
    view.padding = padding;
  }
  pos_ += packet_size;
  return view;
}

bool isValidCompound(const uint8_t* data, size_t size) noexcept {
  if (data == nullptr || size == 0) return false;
  RtcpCompoundReader reader(data, size);
  while (reader.next()) {
  }
  return !reader.malformed();
}

namespace detail {

size_t beginPacket(std::vector<uint8_t>& out, uint8_t count, uint8_t packet_type) {
  const size_t start = out.size();
  append8(out, static_cast<uint8_t>(0x80 | (count & 0x1F)));  // V=2, P=0
  append8(out, packet_type);
  append16(out, 0);
  return start;
}

size_t finishPacket(std::vector<uint8_t>& out, size_t start) {
  const size_t size = out.size() - start;  // builders only ever write whole 32-bit words
  const auto words = static_cast<uint16_t>(size / 4 - 1);
  out[start + 2] = static_cast<uint8_t>(words >> 8);
  out[start + 3] = static_cast<uint8_t>(words);
  return size;
}

}  // namespace detail
}  // namespace liveroom::media::rtcp

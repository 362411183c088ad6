// RTX packetisation both ways (see rtx.hpp).
#include "media/rtp/rtx.hpp"

#include <cstring>

namespace liveroom::media::rtp {

std::optional<RtpPacket> restoreFromRtx(const RtpPacket& rtx, uint8_t media_payload_type, uint32_t media_ssrc) {
  if (rtx.payloadSize() < 2) return std::nullopt;
  uint8_t* data = rtx.data();
  const size_t at = rtx.payloadOffset();
  const auto osn = static_cast<uint16_t>((data[at] << 8) | data[at + 1]);
  // Payload and padding move two bytes towards the header.
  std::memmove(data + at, data + at + 2, rtx.size() - at - 2);
  auto packet = RtpPacket::parse(data, rtx.size() - 2);
  if (!packet) return std::nullopt;
  packet->setPayloadType(media_payload_type);
  packet->setSsrc(media_ssrc);
  packet->setSequenceNumber(osn);
  return packet;
}

std::optional<RtpPacket> wrapInRtx(RtpPacket& packet, size_t capacity, uint8_t rtx_payload_type, uint32_t rtx_ssrc,
                                   uint16_t rtx_sequence_number) {
  if (packet.size() + 2 > capacity) return std::nullopt;
  uint8_t* data = packet.data();
  const size_t at = packet.payloadOffset();
  const uint16_t osn = packet.sequenceNumber();
  std::memmove(data + at + 2, data + at, packet.size() - at);
  data[at] = static_cast<uint8_t>(osn >> 8);
  data[at + 1] = static_cast<uint8_t>(osn & 0xFF);
  auto rtx = RtpPacket::parse(data, packet.size() + 2);
  if (!rtx) return std::nullopt;
  rtx->setPayloadType(rtx_payload_type);
  rtx->setSsrc(rtx_ssrc);
  rtx->setSequenceNumber(rtx_sequence_number);
  return rtx;
}

}  // namespace liveroom::media::rtp

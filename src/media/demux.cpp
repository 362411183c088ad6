// RFC 7983 first-byte demultiplexing for the shared WebRTC UDP port.
#include "media/demux.hpp"

namespace liveroom::media {

PacketKind classifyPacket(const uint8_t* data, size_t size) noexcept {
  if (data == nullptr || size == 0) return PacketKind::Unknown;
  const uint8_t first = data[0];
  if (first <= 3) return PacketKind::Stun;
  if (first >= 20 && first <= 63) return PacketKind::Dtls;
  if (first >= 128 && first <= 191) {
    // Both RTP and RTCP need their second byte to be told apart; a 1-byte datagram is neither.
    if (size < 2) return PacketKind::Unknown;
    const uint8_t second = data[1];
    return (second >= 192 && second <= 223) ? PacketKind::Rtcp : PacketKind::Rtp;
  }
  // 16..19 is ZRTP and 64..79 TURN channels: neither is used here, so they are dropped.
  return PacketKind::Unknown;
}

const char* toString(PacketKind kind) noexcept {
  switch (kind) {
    case PacketKind::Stun:
      return "stun";
    case PacketKind::Dtls:
      return "dtls";
    case PacketKind::Rtp:
      return "rtp";
    case PacketKind::Rtcp:
      return "rtcp";
    case PacketKind::Unknown:
      break;
  }
  return "unknown";
}

}  // namespace liveroom::media

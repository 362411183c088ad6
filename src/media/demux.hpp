// Classifies a datagram arriving on the shared WebRTC UDP port by its first bytes (RFC 7983),
// so one socket can carry STUN, DTLS and SRTP/SRTCP for every peer.
#pragma once

#include <cstddef>
#include <cstdint>

namespace liveroom::media {

enum class PacketKind { Stun, Dtls, Rtp, Rtcp, Unknown };

// Pure and allocation-free; Unknown means "drop it". RTP vs RTCP follows RFC 5761 §4: with
// rtcp-mux the second byte of RTCP is a packet type in 192..223, which RTP payload types avoid.
PacketKind classifyPacket(const uint8_t* data, size_t size) noexcept;

const char* toString(PacketKind kind) noexcept;

}  // namespace liveroom::media

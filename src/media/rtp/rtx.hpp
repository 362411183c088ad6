// RTX (RFC 4588): retransmissions on a stream of their own, the original sequence number (OSN)
// in the first two payload bytes. restoreFromRtx() turns a publisher's RTX packet back into the
// packet it repairs, in place; wrapInRtx() makes a viewer's RTX packet from a media packet, in
// place (the buffer needs two spare bytes). Pure, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "media/rtp/rtp_packet.hpp"

namespace liveroom::media::rtp {

// The repaired packet (same buffer, two bytes shorter), with the media payload type, SSRC and
// the OSN as sequence number; nullopt for an RTX packet without an OSN (padding-only probes).
std::optional<RtpPacket> restoreFromRtx(const RtpPacket& rtx, uint8_t media_payload_type, uint32_t media_ssrc);

// `packet` (size bytes in a buffer of `capacity`) becomes an RTX packet: OSN inserted before the
// payload, payload type, SSRC and sequence number replaced. nullopt when there is no room.
std::optional<RtpPacket> wrapInRtx(RtpPacket& packet, size_t capacity, uint8_t rtx_payload_type, uint32_t rtx_ssrc,
                                   uint16_t rtx_sequence_number);

}  // namespace liveroom::media::rtp

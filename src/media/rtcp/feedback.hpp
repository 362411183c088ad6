// RTCP feedback messages an SFU reads and writes (RFC 4585, RFC 5104): PLI, FIR, Generic NACK,
// REMB (draft-alvestrand-rmcat-remb) and the transport-cc feedback header. Parsed views borrow
// the packet's bytes (variable-length lists are read through accessors, never copied); builders
// append one packet to a caller-owned buffer and return its size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "media/rtcp/rtcp_packet.hpp"

namespace liveroom::media::rtcp {

// Picture Loss Indication: PSFB FMT 1, no FCI.
struct Pli {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  static std::optional<Pli> parse(const RtcpPacketView& packet) noexcept;
};

struct FirEntry {
  uint32_t ssrc = 0;  // the encoder asked for a key frame
  uint8_t sequence_number = 0;
  bool operator==(const FirEntry&) const = default;
};

// Full Intra Request: PSFB FMT 4, one 8-byte FCI entry per target SSRC.
struct Fir {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;  // 0 per RFC 5104 §4.3.1.2; targets are in the entries
  const uint8_t* entries_data = nullptr;
  size_t entry_count = 0;

  FirEntry entry(size_t index) const noexcept;  // index < entry_count
  static std::optional<Fir> parse(const RtcpPacketView& packet) noexcept;
};

// Generic NACK: RTPFB FMT 1; each 4-byte item is a lost PID plus a bitmask (BLP) of the
// 16 sequence numbers after it.
struct Nack {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  const uint8_t* items_data = nullptr;
  size_t item_count = 0;

  // Calls visit(uint16_t seq) for every lost sequence number, in packet order.
  template <typename Visit>
  void forEachLost(Visit&& visit) const {
    for (size_t i = 0; i < item_count; ++i) {
      const uint8_t* item = items_data + 4 * i;
      const auto pid = detail::read16(item);
      const auto blp = detail::read16(item + 2);
      visit(pid);
      for (uint16_t bit = 0; bit < 16; ++bit) {
        if (blp & (1u << bit)) visit(static_cast<uint16_t>(pid + bit + 1));
      }
    }
  }
  void appendLost(std::vector<uint16_t>& out) const;
  static std::optional<Nack> parse(const RtcpPacketView& packet) noexcept;
};

// Receiver Estimated Maximum Bitrate: PSFB FMT 15 with the "REMB" identifier.
struct Remb {
  uint32_t sender_ssrc = 0;
  uint64_t bitrate_bps = 0;  // mantissa << exponent, saturated at UINT64_MAX
  const uint8_t* ssrcs_data = nullptr;
  size_t ssrc_count = 0;

  uint32_t ssrc(size_t index) const noexcept { return detail::read32(ssrcs_data + 4 * index); }
  static std::optional<Remb> parse(const RtcpPacketView& packet) noexcept;
};

// Transport-wide congestion control feedback (RTPFB FMT 15): only the fixed part is decoded;
// the packet status chunks are for a bandwidth estimator, which this server does not run.
struct TransportCcHeader {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  uint16_t base_sequence = 0;
  uint16_t packet_status_count = 0;
  int32_t reference_time = 0;  // 24-bit signed, multiples of 64 ms
  uint8_t feedback_count = 0;
  static std::optional<TransportCcHeader> parse(const RtcpPacketView& packet) noexcept;
};

size_t appendPli(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc);
size_t appendFir(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t target_ssrc, uint8_t sequence_number);
// Packs the lost sequence numbers into PID+BLP items. Any order covers every number; sorted
// input (in RTP order, across the wrap) gives the fewest items and no repeats.
size_t appendNack(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc, std::span<const uint16_t> lost);
// At most 255 SSRCs are written (the count is one byte).
size_t appendRemb(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint64_t bitrate_bps,
                  std::span<const uint32_t> ssrcs);

}  // namespace liveroom::media::rtcp

// RTCP Sender Report and Receiver Report (RFC 3550 §6.4): parse from a compound's packet view
// and build by appending to a caller-owned buffer. Reports keep their blocks inline (at most
// 31 by the 5-bit count), so parsing allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "media/rtcp/rtcp_packet.hpp"

namespace liveroom::media::rtcp {

inline constexpr size_t kMaxReportBlocks = 31;
inline constexpr size_t kReportBlockSize = 24;

struct ReportBlock {
  uint32_t ssrc = 0;  // the source this block reports on
  uint8_t fraction_lost = 0;
  int32_t cumulative_lost = 0;  // 24-bit signed on the wire; clamped when building
  uint32_t extended_highest_sequence = 0;
  uint32_t jitter = 0;
  uint32_t last_sr = 0;              // middle 32 bits of the last SR's NTP timestamp
  uint32_t delay_since_last_sr = 0;  // units of 1/65536 s
  bool operator==(const ReportBlock&) const = default;
};

struct SenderReport {
  uint32_t ssrc = 0;
  uint64_t ntp_timestamp = 0;
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;
  std::array<ReportBlock, kMaxReportBlocks> blocks{};
  size_t block_count = 0;

  std::span<const ReportBlock> reportBlocks() const noexcept { return {blocks.data(), block_count}; }
  // nullopt unless `packet` is an SR whose body holds the sender info and all its blocks.
  static std::optional<SenderReport> parse(const RtcpPacketView& packet) noexcept;
};

struct ReceiverReport {
  uint32_t ssrc = 0;
  std::array<ReportBlock, kMaxReportBlocks> blocks{};
  size_t block_count = 0;

  std::span<const ReportBlock> reportBlocks() const noexcept { return {blocks.data(), block_count}; }
  static std::optional<ReceiverReport> parse(const RtcpPacketView& packet) noexcept;
};

// Builders append one packet to `out` and return its size. Blocks beyond 31 are dropped.
size_t appendSenderReport(std::vector<uint8_t>& out, uint32_t ssrc, uint64_t ntp_timestamp, uint32_t rtp_timestamp,
                          uint32_t packet_count, uint32_t octet_count, std::span<const ReportBlock> blocks = {});
size_t appendReceiverReport(std::vector<uint8_t>& out, uint32_t ssrc, std::span<const ReportBlock> blocks);

}  // namespace liveroom::media::rtcp

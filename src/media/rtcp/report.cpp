// RTCP SR/RR parsing and building.
#include "media/rtcp/report.hpp"

#include <algorithm>

namespace liveroom::media::rtcp {
namespace {

using detail::read24;
using detail::read32;

constexpr size_t kSenderInfoSize = 24;  // SSRC + NTP (8) + RTP ts + packet count + octet count

ReportBlock readBlock(const uint8_t* p) {
  ReportBlock block;
  block.ssrc = read32(p);
  block.fraction_lost = p[4];
  // Sign-extend the 24-bit two's complement count without shifting into the sign bit.
  const uint32_t raw = read24(p + 5);
  block.cumulative_lost = (raw & 0x800000u) ? static_cast<int32_t>(raw) - 0x1000000 : static_cast<int32_t>(raw);
  block.extended_highest_sequence = read32(p + 8);
  block.jitter = read32(p + 12);
  block.last_sr = read32(p + 16);
  block.delay_since_last_sr = read32(p + 20);
  return block;
}

void appendBlock(std::vector<uint8_t>& out, const ReportBlock& block) {
  detail::append32(out, block.ssrc);
  detail::append8(out, block.fraction_lost);
  const int32_t lost = std::clamp<int32_t>(block.cumulative_lost, -0x800000, 0x7FFFFF);
  detail::append24(out, static_cast<uint32_t>(lost) & 0xFFFFFFu);
  detail::append32(out, block.extended_highest_sequence);
  detail::append32(out, block.jitter);
  detail::append32(out, block.last_sr);
  detail::append32(out, block.delay_since_last_sr);
}

// Reads `count` blocks from `p` if they fit in `available` bytes.
bool readBlocks(const uint8_t* p, size_t available, size_t count, std::array<ReportBlock, kMaxReportBlocks>& blocks) {
  if (count > kMaxReportBlocks || count * kReportBlockSize > available) return false;
  for (size_t i = 0; i < count; ++i) blocks[i] = readBlock(p + i * kReportBlockSize);
  return true;
}

}  // namespace

std::optional<SenderReport> SenderReport::parse(const RtcpPacketView& packet) noexcept {
  if (packet.packet_type != type::kSenderReport || packet.bodySize() < kSenderInfoSize) return std::nullopt;
  const uint8_t* p = packet.body();
  SenderReport report;
  report.ssrc = read32(p);
  report.ntp_timestamp = (uint64_t{read32(p + 4)} << 32) | read32(p + 8);
  report.rtp_timestamp = read32(p + 12);
  report.packet_count = read32(p + 16);
  report.octet_count = read32(p + 20);
  if (!readBlocks(p + kSenderInfoSize, packet.bodySize() - kSenderInfoSize, packet.count, report.blocks)) {
    return std::nullopt;
  }
  report.block_count = packet.count;
  return report;
}

std::optional<ReceiverReport> ReceiverReport::parse(const RtcpPacketView& packet) noexcept {
  if (packet.packet_type != type::kReceiverReport || packet.bodySize() < 4) return std::nullopt;
  const uint8_t* p = packet.body();
  ReceiverReport report;
  report.ssrc = read32(p);
  if (!readBlocks(p + 4, packet.bodySize() - 4, packet.count, report.blocks)) return std::nullopt;
  report.block_count = packet.count;
  return report;
}

size_t appendSenderReport(std::vector<uint8_t>& out, uint32_t ssrc, uint64_t ntp_timestamp, uint32_t rtp_timestamp,
                          uint32_t packet_count, uint32_t octet_count, std::span<const ReportBlock> blocks) {
  const size_t n = std::min(blocks.size(), kMaxReportBlocks);
  const size_t start = detail::beginPacket(out, static_cast<uint8_t>(n), type::kSenderReport);
  detail::append32(out, ssrc);
  detail::append32(out, static_cast<uint32_t>(ntp_timestamp >> 32));
  detail::append32(out, static_cast<uint32_t>(ntp_timestamp));
  detail::append32(out, rtp_timestamp);
  detail::append32(out, packet_count);
  detail::append32(out, octet_count);
  for (size_t i = 0; i < n; ++i) appendBlock(out, blocks[i]);
  return detail::finishPacket(out, start);
}

size_t appendReceiverReport(std::vector<uint8_t>& out, uint32_t ssrc, std::span<const ReportBlock> blocks) {
  const size_t n = std::min(blocks.size(), kMaxReportBlocks);
  const size_t start = detail::beginPacket(out, static_cast<uint8_t>(n), type::kReceiverReport);
  detail::append32(out, ssrc);
  for (size_t i = 0; i < n; ++i) appendBlock(out, blocks[i]);
  return detail::finishPacket(out, start);
}

}  // namespace liveroom::media::rtcp

// RTCP feedback message parsing and building (PLI, FIR, NACK, REMB, transport-cc header).
#include "media/rtcp/feedback.hpp"

#include <algorithm>
#include <limits>

namespace liveroom::media::rtcp {
namespace {

using detail::read16;
using detail::read24;
using detail::read32;

constexpr size_t kCommonFeedbackSize = 8;  // sender SSRC + media SSRC, after the header

// True when `packet` is the given feedback type with at least the common part.
bool isFeedback(const RtcpPacketView& packet, uint8_t packet_type, uint8_t format) {
  return packet.packet_type == packet_type && packet.count == format && packet.bodySize() >= kCommonFeedbackSize;
}

size_t beginFeedback(std::vector<uint8_t>& out, uint8_t packet_type, uint8_t format, uint32_t sender_ssrc,
                     uint32_t media_ssrc) {
  const size_t start = detail::beginPacket(out, format, packet_type);
  detail::append32(out, sender_ssrc);
  detail::append32(out, media_ssrc);
  return start;
}

}  // namespace

std::optional<Pli> Pli::parse(const RtcpPacketView& packet) noexcept {
  if (!isFeedback(packet, type::kPayloadFeedback, fmt::kPli)) return std::nullopt;
  return Pli{read32(packet.body()), read32(packet.body() + 4)};
}

FirEntry Fir::entry(size_t index) const noexcept {
  const uint8_t* p = entries_data + 8 * index;
  return FirEntry{read32(p), p[4]};
}

std::optional<Fir> Fir::parse(const RtcpPacketView& packet) noexcept {
  if (!isFeedback(packet, type::kPayloadFeedback, fmt::kFir)) return std::nullopt;
  const size_t fci_size = packet.bodySize() - kCommonFeedbackSize;
  if (fci_size == 0 || fci_size % 8 != 0) return std::nullopt;
  Fir fir;
  fir.sender_ssrc = read32(packet.body());
  fir.media_ssrc = read32(packet.body() + 4);
  fir.entries_data = packet.body() + kCommonFeedbackSize;
  fir.entry_count = fci_size / 8;
  return fir;
}

void Nack::appendLost(std::vector<uint16_t>& out) const {
  forEachLost([&](uint16_t seq) { out.push_back(seq); });
}

std::optional<Nack> Nack::parse(const RtcpPacketView& packet) noexcept {
  if (!isFeedback(packet, type::kTransportFeedback, fmt::kNack)) return std::nullopt;
  const size_t fci_size = packet.bodySize() - kCommonFeedbackSize;
  if (fci_size == 0 || fci_size % 4 != 0) return std::nullopt;
  Nack nack;
  nack.sender_ssrc = read32(packet.body());
  nack.media_ssrc = read32(packet.body() + 4);
  nack.items_data = packet.body() + kCommonFeedbackSize;
  nack.item_count = fci_size / 4;
  return nack;
}

std::optional<Remb> Remb::parse(const RtcpPacketView& packet) noexcept {
  if (!isFeedback(packet, type::kPayloadFeedback, fmt::kAfb)) return std::nullopt;
  const uint8_t* fci = packet.body() + kCommonFeedbackSize;
  const size_t fci_size = packet.bodySize() - kCommonFeedbackSize;
  if (fci_size < 8 || fci[0] != 'R' || fci[1] != 'E' || fci[2] != 'M' || fci[3] != 'B') return std::nullopt;
  const size_t ssrc_count = fci[4];
  if (ssrc_count * 4 > fci_size - 8) return std::nullopt;
  Remb remb;
  remb.sender_ssrc = read32(packet.body());
  const unsigned exponent = fci[5] >> 2;
  const uint64_t mantissa = read24(fci + 5) & 0x3FFFFu;
  // An 18-bit mantissa shifted by up to 63 can overflow 64 bits: saturate instead.
  if (mantissa != 0 && exponent > 0 && (mantissa >> (64 - exponent)) != 0) {
    remb.bitrate_bps = std::numeric_limits<uint64_t>::max();
  } else {
    remb.bitrate_bps = mantissa << exponent;
  }
  remb.ssrcs_data = fci + 8;
  remb.ssrc_count = ssrc_count;
  return remb;
}

std::optional<TransportCcHeader> TransportCcHeader::parse(const RtcpPacketView& packet) noexcept {
  if (!isFeedback(packet, type::kTransportFeedback, fmt::kTransportCc)) return std::nullopt;
  if (packet.bodySize() < kCommonFeedbackSize + 8) return std::nullopt;
  const uint8_t* p = packet.body();
  TransportCcHeader header;
  header.sender_ssrc = read32(p);
  header.media_ssrc = read32(p + 4);
  header.base_sequence = read16(p + 8);
  header.packet_status_count = read16(p + 10);
  const uint32_t raw = read24(p + 12);
  header.reference_time = (raw & 0x800000u) ? static_cast<int32_t>(raw) - 0x1000000 : static_cast<int32_t>(raw);
  header.feedback_count = p[15];
  return header;
}

size_t appendPli(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc) {
  const size_t start = beginFeedback(out, type::kPayloadFeedback, fmt::kPli, sender_ssrc, media_ssrc);
  return detail::finishPacket(out, start);
}

size_t appendFir(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t target_ssrc, uint8_t sequence_number) {
  const size_t start = beginFeedback(out, type::kPayloadFeedback, fmt::kFir, sender_ssrc, 0);
  detail::append32(out, target_ssrc);
  detail::append8(out, sequence_number);
  detail::append24(out, 0);  // reserved
  return detail::finishPacket(out, start);
}

size_t appendNack(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc,
                  std::span<const uint16_t> lost) {
  const size_t start = beginFeedback(out, type::kTransportFeedback, fmt::kNack, sender_ssrc, media_ssrc);
  size_t i = 0;
  while (i < lost.size()) {
    const uint16_t pid = lost[i];
    uint16_t blp = 0;
    size_t j = i + 1;
    // Fold the following numbers into this item while they are 1..16 after the PID (mod 2^16).
    for (; j < lost.size(); ++j) {
      const auto distance = static_cast<uint16_t>(lost[j] - pid);
      if (distance == 0) continue;
      if (distance > 16) break;
      blp = static_cast<uint16_t>(blp | (1u << (distance - 1)));
    }
    detail::append16(out, pid);
    detail::append16(out, blp);
    i = j;
  }
  return detail::finishPacket(out, start);
}

size_t appendRemb(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint64_t bitrate_bps,
                  std::span<const uint32_t> ssrcs) {
  const size_t n = std::min<size_t>(ssrcs.size(), 255);
  // The media SSRC of REMB is always 0; the SSRCs it applies to follow the bitrate.
  const size_t start = beginFeedback(out, type::kPayloadFeedback, fmt::kAfb, sender_ssrc, 0);
  uint8_t exponent = 0;
  uint64_t mantissa = bitrate_bps;
  while (mantissa > 0x3FFFF) {  // 18 bits; rounds down, never over-reporting the estimate
    mantissa >>= 1;
    ++exponent;
  }
  for (char c : {'R', 'E', 'M', 'B'}) detail::append8(out, static_cast<uint8_t>(c));
  detail::append8(out, static_cast<uint8_t>(n));
  detail::append24(out, (uint32_t{exponent} << 18) | static_cast<uint32_t>(mantissa));
  for (size_t k = 0; k < n; ++k) detail::append32(out, ssrcs[k]);
  return detail::finishPacket(out, start);
}

}  // namespace liveroom::media::rtcp

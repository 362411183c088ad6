// TransportCcRecorder: arrival times by transport-wide sequence number, written back as RTPFB
// FMT 15 feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
//
// Times are kept in microseconds since the first packet and turned into absolute 250 us ticks
// (rounded) only when written: every receive delta is the difference of two absolute tick
// counts, and the first one is relative to the reference time (64 ms = 256 ticks), so rounding
// never accumulates across deltas or feedback packets.
#include "media/rtcp/transport_cc.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "media/rtcp/rtcp_packet.hpp"

namespace liveroom::media::rtcp {
namespace {

constexpr int64_t kTickUs = 250;             // receive delta unit
constexpr int64_t kTicksPerReference = 256;  // reference time unit: 64 ms
constexpr int64_t kUnwrapOffset = 1 << 16;   // added to the first sequence: backward steps stay >= 0
constexpr size_t kFixedSize = 20;            // RTCP header, 2 SSRCs, base, count, reference, fb count
constexpr uint16_t kMaxRunLength = 0x1FFF;   // 13 bits
// Run-length chunks cost 2 bytes per status at worst (alternating symbols), so the status cap
// alone does not bound the size: stop adding statuses past this many bytes (padding included).
constexpr size_t kMaxFeedbackSize = 1024;

enum Symbol : uint8_t { kNotReceived = 0, kSmallDelta = 1, kLargeDelta = 2 };

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && (a < 0) != (b < 0)) --q;
  return q;
}

int64_t toTicks(int64_t us) { return floorDiv(us + kTickUs / 2, kTickUs); }

size_t padded(size_t size) { return (size + 3) & ~size_t{3}; }

}  // namespace

TransportCcRecorder::TransportCcRecorder() : window_(kWindow) {}

void TransportCcRecorder::onPacket(uint16_t transport_sequence, Clock::time_point arrival) {
  if (!started_) {
    started_ = true;
    epoch_ = arrival;
    highest_ = next_report_ = kUnwrapOffset + transport_sequence;
    slot(highest_) = Arrival{highest_, 0};
    return;
  }
  const int64_t arrival_us = std::chrono::duration_cast<std::chrono::microseconds>(arrival - epoch_).count();
  const auto step = static_cast<int16_t>(static_cast<uint16_t>(transport_sequence - static_cast<uint16_t>(highest_)));
  const int64_t sequence = highest_ + step;
  const auto window = static_cast<int64_t>(kWindow);
  if (sequence > highest_) {
    if (sequence - highest_ > window) {
      // A jump past the whole window: nothing kept is worth reporting any more.
      std::fill(window_.begin(), window_.end(), Arrival{});
      next_report_ = sequence;
    } else if (next_report_ <= sequence - window) {
      next_report_ = sequence - window + 1;  // the oldest pending slots are about to be reused
    }
    highest_ = sequence;
  } else {
    if (sequence <= highest_ - window) return;  // its slot already holds a newer sequence
    if (sequence < next_report_) {
      // Reordered before the very first packet: still reportable until a feedback went out.
      if (reported_) return;
      next_report_ = sequence;
    }
    if (slot(sequence).sequence == sequence) return;  // duplicate: keep the first arrival
  }
  slot(sequence) = Arrival{sequence, arrival_us};
}

bool TransportCcRecorder::hasPending() const { return started_ && next_report_ <= highest_; }

size_t TransportCcRecorder::appendFeedback(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc) {
  if (!hasPending()) return 0;
  const int64_t base = next_report_;
  const auto received = [this](int64_t sequence) { return slot(sequence).sequence == sequence; };
  const auto ticks = [this](int64_t sequence) { return toTicks(slot(sequence).arrival_us); };

  // The highest sequence is always received, so this stops. Flooring the first received
  // packet's time to 64 ms makes its delta 0..255 ticks: a feedback always holds at least it.
  int64_t first_received = base;
  while (!received(first_received)) ++first_received;
  const int64_t reference = floorDiv(ticks(first_received), kTicksPerReference);

  // Pass 1: pick the statuses that fit. `reported` ends at the last received one, so trailing
  // losses stay pending (a late packet can still fill them in) unless nothing else fits.
  std::array<uint8_t, kMaxStatusesPerPacket> symbols;
  size_t count = 0;
  size_t reported = 0;
  size_t chunks = 0;
  size_t delta_bytes = 0;
  uint16_t run_length = 0;
  int64_t previous = reference * kTicksPerReference;
  for (int64_t sequence = base; sequence <= highest_ && count < kMaxStatusesPerPacket; ++sequence) {
    uint8_t symbol = kNotReceived;
    size_t symbol_bytes = 0;
    int64_t now = previous;
    if (received(sequence)) {
      now = ticks(sequence);
      const int64_t delta = now - previous;
      if (delta >= 0 && delta <= std::numeric_limits<uint8_t>::max()) {
        symbol = kSmallDelta;
        symbol_bytes = 1;
      } else if (delta >= std::numeric_limits<int16_t>::min() && delta <= std::numeric_limits<int16_t>::max()) {
        symbol = kLargeDelta;
        symbol_bytes = 2;
      } else {
        break;  // the next feedback starts here, with its own reference time
      }
    }
    const bool new_chunk = count == 0 || symbol != symbols[count - 1] || run_length == kMaxRunLength;
    const size_t size = kFixedSize + 2 * (chunks + (new_chunk ? 1 : 0)) + delta_bytes + symbol_bytes;
    if (count > 0 && padded(size) > kMaxFeedbackSize) break;
    chunks += new_chunk ? 1 : 0;
    run_length = new_chunk ? 1 : static_cast<uint16_t>(run_length + 1);
    delta_bytes += symbol_bytes;
    symbols[count++] = symbol;
    if (symbol != kNotReceived) {
      previous = now;
      reported = count;
    }
  }
  if (reported == 0) reported = count;  // only losses fit: report them, or we would never move on

  // Pass 2: write the packet.
  const size_t start = detail::beginPacket(out, fmt::kTransportCc, type::kTransportFeedback);
  detail::append32(out, sender_ssrc);
  detail::append32(out, media_ssrc);
  detail::append16(out, static_cast<uint16_t>(base));
  detail::append16(out, static_cast<uint16_t>(reported));
  detail::append24(out, static_cast<uint32_t>(reference) & 0xFFFFFFu);  // 24-bit two's complement
  detail::append8(out, feedback_count_++);
  for (size_t i = 0; i < reported;) {
    const uint8_t symbol = symbols[i];
    uint16_t run = 0;
    while (i < reported && symbols[i] == symbol && run < kMaxRunLength) {
      ++run;
      ++i;
    }
    detail::append16(out, static_cast<uint16_t>((symbol << 13) | run));  // T=0: run-length chunk
  }
  previous = reference * kTicksPerReference;
  for (size_t i = 0; i < reported; ++i) {
    if (symbols[i] == kNotReceived) continue;
    const int64_t now = ticks(base + static_cast<int64_t>(i));
    const int64_t delta = now - previous;
    previous = now;
    if (symbols[i] == kSmallDelta) {
      detail::append8(out, static_cast<uint8_t>(delta));
    } else {
      detail::append16(out, static_cast<uint16_t>(static_cast<int16_t>(delta)));
    }
  }
  // RFC 3550 padding: zeros, then the padding count in the last byte, and the P bit.
  const size_t padding = padded(out.size() - start) - (out.size() - start);
  if (padding > 0) {
    for (size_t i = 1; i < padding; ++i) detail::append8(out, 0);
    detail::append8(out, static_cast<uint8_t>(padding));
    out[start] |= 0x20;
  }
  next_report_ = base + static_cast<int64_t>(reported);
  reported_ = true;
  return detail::finishPacket(out, start);
}

}  // namespace liveroom::media::rtcp

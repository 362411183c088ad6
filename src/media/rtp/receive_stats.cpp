// ReceiveStats: RFC 3550 reception statistics of one stream (sequence tracking per A.1 without
// the probation and resync logic, loss per A.3, jitter per A.8, LSR/DLSR per §6.4.1).
#include "media/rtp/receive_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace liveroom::media::rtp {
namespace {

// `since_epoch` in RTP timestamp units, modulo 2^32 like the timestamps it is compared with.
// Whole seconds and the remainder are scaled apart, so nothing overflows for long streams.
uint32_t toTimestampUnits(ReceiveStats::Clock::duration since_epoch, uint32_t clock_rate) {
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count();
  const int64_t units = (us / 1'000'000) * clock_rate + (us % 1'000'000) * clock_rate / 1'000'000;
  return static_cast<uint32_t>(units);
}

}  // namespace

ReceiveStats::ReceiveStats(uint32_t ssrc, uint32_t clock_rate) : ssrc_(ssrc), clock_rate_(clock_rate) {}

void ReceiveStats::onPacket(uint16_t sequence_number, uint32_t rtp_timestamp, Clock::time_point arrival) {
  ++received_;
  if (!started_) {
    started_ = true;
    base_sequence_ = max_sequence_ = sequence_number;
    epoch_ = arrival;
  } else {
    const auto step = static_cast<uint16_t>(sequence_number - max_sequence_);
    // Duplicates and older packets (reordered, retransmitted) count as received but move
    // neither the highest sequence nor the jitter: their timestamps are not in arrival order.
    if (step == 0 || step >= 0x8000) return;
    if (sequence_number < max_sequence_) cycles_ += 1u << 16;
    max_sequence_ = sequence_number;
  }

  // A.8: J += (|D(i-1,i)| - J) / 16, D the difference of relative transit times. The transit
  // times are compared modulo 2^32 so an RTP timestamp wrap is just another difference.
  const uint32_t transit = toTimestampUnits(arrival - epoch_, clock_rate_) - rtp_timestamp;
  if (last_transit_) {
    const auto d = static_cast<int32_t>(transit - static_cast<uint32_t>(*last_transit_));
    jitter_ += (std::fabs(static_cast<double>(d)) - jitter_) / 16.0;
  }
  last_transit_ = transit;
}

void ReceiveStats::onSenderReport(uint64_t ntp_timestamp, Clock::time_point arrival) {
  last_sr_ = static_cast<uint32_t>(ntp_timestamp >> 16);
  last_sr_arrival_ = arrival;
}

std::optional<rtcp::ReportBlock> ReceiveStats::reportBlock(Clock::time_point now) {
  if (!started_) return std::nullopt;
  const uint64_t extended_max = uint64_t{cycles_} + max_sequence_;
  const uint64_t expected = extended_max - base_sequence_ + 1;
  const int64_t lost = static_cast<int64_t>(expected) - static_cast<int64_t>(received_);

  // A.3: the fraction is over the interval since the previous report, and 0 when duplicates
  // outnumber the losses.
  const int64_t expected_interval = static_cast<int64_t>(expected - expected_prior_);
  const int64_t received_interval = static_cast<int64_t>(received_ - received_prior_);
  const int64_t lost_interval = expected_interval - received_interval;
  expected_prior_ = expected;
  received_prior_ = received_;

  rtcp::ReportBlock block;
  block.ssrc = ssrc_;
  if (expected_interval > 0 && lost_interval > 0) {
    block.fraction_lost = static_cast<uint8_t>(std::min<int64_t>((lost_interval << 8) / expected_interval, 255));
  }
  block.cumulative_lost = static_cast<int32_t>(std::clamp<int64_t>(lost, 0, 0x7FFFFF));
  block.extended_highest_sequence = static_cast<uint32_t>(extended_max);
  block.jitter = static_cast<uint32_t>(jitter_);
  if (last_sr_) {
    block.last_sr = *last_sr_;
    const int64_t us =
        std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(now - last_sr_arrival_).count());
    const int64_t units = (us / 1'000'000) * 65536 + (us % 1'000'000) * 65536 / 1'000'000;
    block.delay_since_last_sr = static_cast<uint32_t>(std::min<int64_t>(units, std::numeric_limits<uint32_t>::max()));
  }
  return block;
}

}  // namespace liveroom::media::rtp

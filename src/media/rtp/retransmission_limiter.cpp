// Per-viewer retransmission limits (see retransmission_limiter.hpp).
#include "media/rtp/retransmission_limiter.hpp"

#include <algorithm>

namespace liveroom::media::rtp {

RetransmissionLimiter::RetransmissionLimiter(Options options)
    : options_(options),
      capacity_bytes_(static_cast<double>(options.budget_bps) / 8.0 *
                      std::chrono::duration<double>(options.burst).count()),
      tokens_(capacity_bytes_),
      rtt_(options.initial_rtt) {}

void RetransmissionLimiter::refill(Clock::time_point now) {
  if (!started_) {
    started_ = true;
    epoch_ = now;
    refilled_ = now;
    return;
  }
  if (now <= refilled_) return;
  const double seconds = std::chrono::duration<double>(now - refilled_).count();
  tokens_ = std::min(capacity_bytes_, tokens_ + seconds * static_cast<double>(options_.budget_bps) / 8.0);
  refilled_ = now;
}

RetransmissionLimiter::Verdict RetransmissionLimiter::check(uint16_t sequence, size_t bytes, Clock::time_point now) {
  refill(now);
  const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(now - epoch_).count();
  const auto now_ms = static_cast<uint32_t>(std::max<int64_t>(0, since_epoch));
  const auto rtt_ms = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(rtt_).count());
  if (!slots_) slots_ = std::make_unique<std::array<Slot, kSlots>>();
  Slot& slot = (*slots_)[sequence & (kSlots - 1)];
  if (slot.used != 0 && slot.sequence == sequence && now_ms - slot.resent_ms < rtt_ms) {
    ++stats_.repeats;
    return Verdict::kRepeat;
  }
  if (tokens_ < static_cast<double>(bytes)) {
    ++stats_.over_budget;
    return Verdict::kOverBudget;
  }
  tokens_ -= static_cast<double>(bytes);
  slot.used = 1;
  slot.sequence = sequence;
  slot.resent_ms = now_ms;
  ++stats_.sent;
  stats_.sent_bytes += bytes;
  return Verdict::kSend;
}

void RetransmissionLimiter::addRttSample(std::chrono::microseconds sample) {
  if (sample.count() < 0) return;
  if (!rtt_measured_) {
    rtt_ = sample;
    rtt_measured_ = true;
  } else {
    rtt_ = (rtt_ * 7 + sample) / 8;  // RFC 6298's smoothing weight
  }
  rtt_ = std::clamp<std::chrono::microseconds>(rtt_, options_.min_rtt, options_.max_rtt);
}

}  // namespace liveroom::media::rtp

// RetransmissionLimiter: what one viewer's NACKs may make the server resend. A packet is resent
// at most once per round-trip time (a NACK repeated before the first resend could have arrived
// asks for nothing new), and every resend spends from a byte budget refilled at a fixed rate (a
// token bucket), so a viewer's NACKs can never make the server send more than the media plus
// that budget, whatever they name. One per viewer track; media thread only; no allocation after
// construction.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace liveroom::media::rtp {

class RetransmissionLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    uint64_t budget_bps = 2'000'000;             // refill rate of the byte budget
    std::chrono::milliseconds burst{500};        // the budget holds this long of refill at most
    std::chrono::milliseconds initial_rtt{100};  // until the viewer's reports give one
    std::chrono::milliseconds min_rtt{10};
    std::chrono::milliseconds max_rtt{1000};
  };

  enum class Verdict { kSend, kRepeat, kOverBudget };

  explicit RetransmissionLimiter(Options options);
  RetransmissionLimiter() : RetransmissionLimiter(Options{}) {}
  RetransmissionLimiter(RetransmissionLimiter&&) noexcept = default;
  RetransmissionLimiter& operator=(RetransmissionLimiter&&) noexcept = default;

  // May the packet with this (viewer-side) sequence number, `bytes` long, be resent now? A kSend
  // verdict records the resend (time and bytes).
  Verdict check(uint16_t sequence, size_t bytes, Clock::time_point now);

  // A round-trip sample (from the viewer's receiver reports); smoothed, then clamped.
  void addRttSample(std::chrono::microseconds sample);
  std::chrono::microseconds rtt() const noexcept { return rtt_; }

  struct Stats {
    uint64_t sent = 0;
    uint64_t sent_bytes = 0;
    uint64_t repeats = 0;      // asked again within one RTT of a resend
    uint64_t over_budget = 0;  // the budget was spent
  };
  const Stats& stats() const noexcept { return stats_; }

 private:
  // A power of two; 4 KiB per track, allocated at the first resend (most viewers never NACK).
  static constexpr size_t kSlots = 512;
  struct Slot {  // 8 bytes
    uint16_t used = 0;
    uint16_t sequence = 0;
    uint32_t resent_ms = 0;  // since epoch_
  };
  void refill(Clock::time_point now);

  Options options_;
  double capacity_bytes_;
  double tokens_;
  Clock::time_point epoch_{};
  Clock::time_point refilled_{};
  bool started_ = false;
  std::chrono::microseconds rtt_;
  bool rtt_measured_ = false;
  std::unique_ptr<std::array<Slot, kSlots>> slots_;
  Stats stats_;
};

}  // namespace liveroom::media::rtp

// RetransmissionLimiter: a packet is resent at most once per RTT, and resends share a byte budget.
#include "media/rtp/retransmission_limiter.hpp"

#include <gtest/gtest.h>

namespace liveroom::media::rtp {
namespace {

using namespace std::chrono_literals;
using Verdict = RetransmissionLimiter::Verdict;

TEST(RetransmissionLimiter, APacketIsResentAtMostOncePerRoundTrip) {
  RetransmissionLimiter limiter;  // 100 ms until measured
  const auto t0 = RetransmissionLimiter::Clock::time_point{} + 1h;
  EXPECT_EQ(limiter.check(7, 1200, t0), Verdict::kSend);
  EXPECT_EQ(limiter.check(7, 1200, t0 + 50ms), Verdict::kRepeat);
  EXPECT_EQ(limiter.check(8, 1200, t0 + 50ms), Verdict::kSend);  // another packet is another matter
  EXPECT_EQ(limiter.check(7, 1200, t0 + 101ms), Verdict::kSend);
  limiter.addRttSample(400ms);
  EXPECT_EQ(limiter.rtt(), 400ms);
  EXPECT_EQ(limiter.check(7, 1200, t0 + 300ms), Verdict::kRepeat);
  EXPECT_EQ(limiter.check(7, 1200, t0 + 502ms), Verdict::kSend);
  EXPECT_EQ(limiter.stats().sent, 4u);
  EXPECT_EQ(limiter.stats().repeats, 2u);
}

TEST(RetransmissionLimiter, RoundTripIsSmoothedAndClamped) {
  RetransmissionLimiter limiter;
  limiter.addRttSample(1ms);
  EXPECT_EQ(limiter.rtt(), 10ms);  // min
  limiter.addRttSample(5000ms);
  EXPECT_LE(limiter.rtt(), 1000ms);  // max
  RetransmissionLimiter smooth;
  smooth.addRttSample(80ms);
  smooth.addRttSample(160ms);
  EXPECT_EQ(smooth.rtt(), 90ms);  // 7/8 * 80 + 1/8 * 160
}

TEST(RetransmissionLimiter, ABudgetCapsWhatNacksCanCost) {
  RetransmissionLimiter::Options options;
  options.budget_bps = 800'000;  // 100 kB/s
  options.burst = 100ms;         // 10 kB at once
  RetransmissionLimiter limiter(options);
  const auto t0 = RetransmissionLimiter::Clock::time_point{} + 1h;
  size_t sent = 0;
  // A NACK naming a whole second of video (500 distinct packets) at one instant.
  for (uint16_t seq = 0; seq < 500; ++seq) {
    if (limiter.check(seq, 1000, t0) == Verdict::kSend) ++sent;
  }
  EXPECT_EQ(sent, 10u);
  EXPECT_EQ(limiter.stats().over_budget, 490u);
  // Then the budget refills at its rate: 1 s later, 10 kB more (the burst cap), not 100 kB.
  size_t later = 0;
  for (uint16_t seq = 1000; seq < 1500; ++seq) {
    if (limiter.check(seq, 1000, t0 + 1s) == Verdict::kSend) ++later;
  }
  EXPECT_EQ(later, 10u);
  // Over 10 s of a sustained flood, resends stay within the rate (+ one burst).
  uint64_t bytes = 0;
  uint16_t seq = 2000;
  for (int ms = 0; ms < 10000; ms += 5) {
    for (int i = 0; i < 20; ++i) {
      if (limiter.check(seq++, 1000, t0 + 2s + std::chrono::milliseconds(ms)) == Verdict::kSend) bytes += 1000;
    }
  }
  EXPECT_LE(bytes, 100'000u * 10 + 10'000);
  EXPECT_GE(bytes, 100'000u * 9);
}

}  // namespace
}  // namespace liveroom::media::rtp

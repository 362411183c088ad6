// Keyed token buckets.
#include "common/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace liveroom {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, BurstThenRatePerKey) {
  RateLimiter limiter(2, 4);  // 2/s, bursts of 4
  const auto t0 = RateLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.allow("a", t0)) << i;
  std::chrono::milliseconds wait{0};
  EXPECT_FALSE(limiter.allow("a", t0, &wait));
  EXPECT_EQ(wait, 500ms);
  EXPECT_TRUE(limiter.allow("b", t0));  // another key has its own bucket
  EXPECT_TRUE(limiter.allow("a", t0 + 500ms));
  EXPECT_FALSE(limiter.allow("a", t0 + 600ms));
  EXPECT_TRUE(limiter.allow("a", t0 + 10s));
}

TEST(RateLimiter, ZeroRateIsOff) {
  RateLimiter off(0, 1);
  EXPECT_FALSE(off.enabled());
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(off.allow("a", RateLimiter::Clock::now()));
}

TEST(RateLimiter, ATableOfDistinctKeysStaysBounded) {
  RateLimiter limiter(1, 2, /*max_keys=*/100);
  const auto t0 = RateLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 10000; ++i) limiter.allow("k" + std::to_string(i), t0);
  EXPECT_LE(limiter.keys(), 100u);
}

}  // namespace
}  // namespace liveroom

// Token buckets by key (a client's address): `rate` events per second on average, bursts of up
// to `burst`. Thread-safe. The table is bounded: past `max_keys` it forgets the buckets that are
// full anyway (a full bucket and a fresh one answer the same), and if that is not enough, all of
// them, so a flood of distinct keys costs bounded memory (other limits still hold meanwhile).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace liveroom {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // rate <= 0 disables the limiter (allow() is always true).
  RateLimiter(double rate_per_second, double burst, size_t max_keys = 100'000);

  // Takes one token for `key`; false when its bucket is empty. `retry_after` (when given) gets
  // the wait until the next token.
  bool allow(std::string_view key, Clock::time_point now, std::chrono::milliseconds* retry_after = nullptr);
  bool enabled() const noexcept { return rate_ > 0; }
  size_t keys() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  void shrink(Clock::time_point now);

  double rate_;
  double burst_;
  size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace liveroom

// Keyed token buckets (see rate_limiter.hpp).
#include "common/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace liveroom {

RateLimiter::RateLimiter(double rate_per_second, double burst, size_t max_keys)
    : rate_(rate_per_second), burst_(std::max(1.0, burst)), max_keys_(std::max<size_t>(1, max_keys)) {}

bool RateLimiter::allow(std::string_view key, Clock::time_point now, std::chrono::milliseconds* retry_after) {
  if (rate_ <= 0) return true;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) shrink(now);
    it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  if (now > b.updated) {
    b.tokens = std::min(burst_, b.tokens + std::chrono::duration<double>(now - b.updated).count() * rate_);
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  if (retry_after != nullptr) {
    *retry_after = std::chrono::milliseconds(static_cast<int64_t>(std::ceil((1.0 - b.tokens) / rate_ * 1000.0)));
  }
  return false;
}

size_t RateLimiter::keys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

void RateLimiter::shrink(Clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& kv) {
    const Bucket& b = kv.second;
    return b.tokens + std::chrono::duration<double>(now - b.updated).count() * rate_ >= burst_;
  });
  if (buckets_.size() >= max_keys_) buckets_.clear();
}

}  // namespace liveroom

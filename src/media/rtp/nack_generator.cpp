// Loss repair towards a publisher (see nack_generator.hpp).
#include "media/rtp/nack_generator.hpp"

#include <algorithm>

namespace liveroom::media::rtp {

void NackGenerator::giveUp() {
  stats_.given_up += missing_.size();
  missing_.clear();
  key_frame_needed_ = true;
}

NackGenerator::Arrival NackGenerator::onPacket(uint16_t sequence_number, Clock::time_point now, bool retransmission) {
  if (!started_) {
    if (retransmission) return Arrival::kOld;  // no stream to place it in yet
    started_ = true;
    highest_ = sequence_number;
    return Arrival::kNew;
  }
  // The nearest extended number with these low 16 bits (RFC 3550 A.1's wrap handling).
  const auto delta = static_cast<int16_t>(static_cast<uint16_t>(sequence_number - static_cast<uint16_t>(highest_)));
  const int64_t extended = highest_ + delta;
  if (retransmission && delta > kMaxResendAhead) return Arrival::kOld;
  if (extended > highest_) {
    const int64_t hole = extended - highest_ - 1;
    if (static_cast<size_t>(hole) > options_.max_missing) {
      stats_.given_up += static_cast<uint64_t>(hole);
      giveUp();
    } else {
      for (int64_t s = highest_ + 1; s < extended; ++s) missing_.emplace(s, Gap{now});
      // Keep the list bounded however the holes add up.
      while (missing_.size() > options_.max_missing) {
        missing_.erase(missing_.begin());
        ++stats_.given_up;
        key_frame_needed_ = true;
      }
    }
    highest_ = extended;
    return Arrival::kNew;
  }
  auto it = missing_.find(extended);
  if (it == missing_.end()) return Arrival::kOld;  // a duplicate, or older than anything we track
  if (it->second.sent > 0) {
    ++stats_.recovered;
    // Asked once only: the answer is to that request, so the delay is a round trip (plus the
    // sender's reaction). Smoothed like RFC 6298's SRTT, clamped to something sane.
    if (it->second.sent == 1) {
      const auto sample = std::chrono::duration_cast<std::chrono::microseconds>(now - it->second.last_sent);
      rtt_ = (rtt_ * 7 + sample) / 8;
      rtt_ = std::clamp(rtt_, std::chrono::microseconds(10'000), std::chrono::microseconds(1'000'000));
    }
  }
  missing_.erase(it);
  return Arrival::kRepair;
}

void NackGenerator::collect(Clock::time_point now, std::vector<uint16_t>& out, size_t max_count) {
  size_t added = 0;
  for (auto it = missing_.begin(); it != missing_.end();) {
    Gap& gap = it->second;
    if (now - gap.detected >= options_.max_age || gap.sent >= options_.max_retries) {
      it = missing_.erase(it);
      ++stats_.given_up;
      key_frame_needed_ = true;
      continue;
    }
    const bool due = gap.sent == 0 ? now - gap.detected >= options_.reorder_window : now - gap.last_sent >= rtt_;
    if (due && added < max_count) {
      out.push_back(static_cast<uint16_t>(it->first));
      gap.last_sent = now;
      ++gap.sent;
      ++stats_.requested;
      ++added;
    }
    ++it;
  }
}

}  // namespace liveroom::media::rtp

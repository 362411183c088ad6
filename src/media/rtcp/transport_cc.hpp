// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01)
// from the receiving side: the server records when each of a publisher's packets arrived (by the
// transport-wide sequence number in its header extension) and reports those arrival times back,
// so the browser's send-side bandwidth estimator (GoogCC) can probe and ramp its encoder up.
// TransportCcRecorder keeps a fixed window (no allocation per packet) and writes RTPFB FMT 15
// packets: run-length chunks, 1-byte deltas (250 us units) or 2-byte signed ones.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace liveroom::media::rtcp {

class TransportCcRecorder {
 public:
  using Clock = std::chrono::steady_clock;
  // Arrivals kept per window: packets further back than this from the newest are forgotten.
  static constexpr size_t kWindow = 4096;
  // At most this many sequence numbers are reported in one feedback packet (keeps it far
  // below the MTU); the rest stay pending for the next call.
  static constexpr size_t kMaxStatusesPerPacket = 500;

  TransportCcRecorder();

  // Records one packet's arrival. Duplicates and packets older than what was already reported
  // are ignored; a jump of more than kWindow restarts the window.
  void onPacket(uint16_t transport_sequence, Clock::time_point arrival);

  // True when packets arrived that no feedback reported yet.
  bool hasPending() const;

  // Appends one feedback packet covering the oldest unreported sequence numbers (up to
  // kMaxStatusesPerPacket, stopping early where a receive delta would not fit 16 bits) and
  // returns its size; 0 when nothing is pending. Call repeatedly while hasPending().
  size_t appendFeedback(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc);

 private:
  struct Arrival {
    int64_t sequence = -1;  // unwrapped; -1: slot empty
    int64_t arrival_us = 0;
  };
  Arrival& slot(int64_t sequence) { return window_[static_cast<size_t>(sequence) % kWindow]; }

  std::vector<Arrival> window_;
  bool started_ = false;
  bool reported_ = false;    // a feedback was written: older packets can no longer be added
  int64_t highest_ = -1;     // unwrapped highest sequence seen
  int64_t next_report_ = 0;  // first unwrapped sequence not reported yet
  uint8_t feedback_count_ = 0;
  Clock::time_point epoch_;  // arrival times are microseconds since the first packet
};

}  // namespace liveroom::media::rtcp

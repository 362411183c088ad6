// Reception statistics of one incoming RTP stream (RFC 3550 §6.4.1, appendix A.3 and A.8):
// extended highest sequence number, packets lost (cumulative and since the last report),
// interarrival jitter, and the last sender report's timestamp, turned into the report block
// the server sends back to a publisher in its receiver reports. No allocation.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "media/rtcp/report.hpp"

namespace liveroom::media::rtp {

class ReceiveStats {
 public:
  using Clock = std::chrono::steady_clock;

  // `clock_rate`: RTP timestamp units per second (90000 video, 48000 Opus), for the jitter.
  ReceiveStats(uint32_t ssrc, uint32_t clock_rate);

  uint32_t ssrc() const noexcept { return ssrc_; }
  // One received packet (retransmissions too: duplicates only make `received` exceed
  // `expected`, which RFC 3550 allows and reports as no loss).
  void onPacket(uint16_t sequence_number, uint32_t rtp_timestamp, Clock::time_point arrival);
  // The stream's sender report: `ntp_timestamp` as sent (64-bit NTP).
  void onSenderReport(uint64_t ntp_timestamp, Clock::time_point arrival);

  // The report block for a receiver report sent at `now`; updates the "since last report"
  // counters (fraction lost is per interval). nullopt before the first packet.
  std::optional<rtcp::ReportBlock> reportBlock(Clock::time_point now);

  uint64_t packetsReceived() const noexcept { return received_; }

 private:
  uint32_t ssrc_;
  uint32_t clock_rate_;
  bool started_ = false;
  uint16_t base_sequence_ = 0;
  uint16_t max_sequence_ = 0;
  uint32_t cycles_ = 0;  // count of sequence-number wraps, shifted by 16
  uint64_t received_ = 0;
  uint64_t expected_prior_ = 0;
  uint64_t received_prior_ = 0;
  double jitter_ = 0;  // in timestamp units (RFC 3550 A.8, kept unscaled as a double)
  std::optional<int64_t> last_transit_;
  Clock::time_point epoch_;
  std::optional<uint32_t> last_sr_;  // middle 32 bits of the last SR's NTP timestamp
  Clock::time_point last_sr_arrival_{};
};

}  // namespace liveroom::media::rtp

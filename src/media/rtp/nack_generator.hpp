// NackGenerator: loss repair towards a publisher (RFC 4585 generic NACK), like libwebrtc's
// NackRequester and mediasoup's NackGenerator. Watches one incoming stream's sequence numbers,
// remembers the gaps, and says which to ask for again and when: a gap is first asked for once
// it has stayed open for a reordering window (a packet merely late is not lost), then again
// every round-trip time, at most `max_retries` times and while younger than `max_age`. A gap
// given up on, or one too large to repair, asks for a key frame instead. The round-trip time is
// measured from the repairs themselves (NACK sent -> retransmission arrived). Pure: the caller
// passes the clock; no allocation per packet once warm.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

namespace liveroom::media::rtp {

class NackGenerator {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::milliseconds reorder_window{5};
    int max_retries = 10;
    std::chrono::milliseconds max_age{1000};  // older gaps cannot be played in time any more
    size_t max_missing = 500;                 // a larger hole: key frame instead of NACKs
    std::chrono::milliseconds initial_rtt{100};
  };

  struct Stats {
    uint64_t requested = 0;  // sequence numbers put in NACKs (retries included)
    uint64_t recovered = 0;  // of those, packets that arrived afterwards
    uint64_t given_up = 0;   // gaps abandoned (too old, too many retries, or too large a hole)
  };

  NackGenerator() : NackGenerator(Options{}) {}
  explicit NackGenerator(Options options) : options_(options), rtt_(options.initial_rtt) {}

  // What a packet's arrival was to the stream.
  enum class Arrival {
    kNew,     // newer than anything before it (gaps behind it are now missing)
    kRepair,  // filled a gap: a reordered or retransmitted packet we were missing
    kOld,     // a duplicate, or older than anything tracked
  };
  // A retransmission this far ahead of the stream is nothing a sender resends (see onPacket).
  static constexpr int kMaxResendAhead = 32;

  // One packet of the stream arrived. A retransmission can be kNew: a sender may resend a packet
  // before the one after it reached us (Chromium sends recent packets again on its RTX stream as
  // bandwidth probes), and that is the only copy we will get. A "retransmission" more than
  // kMaxResendAhead ahead of the stream is kOld and changes nothing (no gaps opened for it).
  Arrival onPacket(uint16_t sequence_number, Clock::time_point now, bool retransmission = false);
  // Appends the sequence numbers to ask for now (at most `max_count`), oldest first, and records
  // that they were asked for. Gaps given up on are dropped here.
  void collect(Clock::time_point now, std::vector<uint16_t>& out, size_t max_count = 256);
  // True once after a gap was given up on or a hole was too large: the caller asks for a key frame.
  bool takeKeyFrameRequest() noexcept {
    const bool wanted = key_frame_needed_;
    key_frame_needed_ = false;
    return wanted;
  }

  std::chrono::microseconds rtt() const noexcept { return rtt_; }
  size_t missing() const noexcept { return missing_.size(); }
  const Stats& stats() const noexcept { return stats_; }

 private:
  struct Gap {
    Clock::time_point detected;
    Clock::time_point last_sent{};
    int sent = 0;
  };
  void giveUp();

  Options options_;
  std::chrono::microseconds rtt_;
  bool started_ = false;
  int64_t highest_ = 0;  // extended (unwrapped) highest sequence number seen
  std::map<int64_t, Gap> missing_;
  bool key_frame_needed_ = false;
  Stats stats_;
};

}  // namespace liveroom::media::rtp

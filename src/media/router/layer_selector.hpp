// LayerSelector: which simulcast layer one viewer gets. Layers are ranked by what they carry
// (their measured bitrate), never by rid names (OBS's rid order does not follow quality). The
// viewer's bandwidth is estimated from its receiver reports, like the loss-based half of GCC:
// loss over 10 % cuts the estimate to what was delivered, loss under 2 % raises it by a quarter
// per report; the viewer moves up one layer at a time while the next fits the estimate, and down
// only when it reports loss (to the best layer that fits). Moving up is how
// the estimate is tested: if the layer moved to then loses over 2 % within 4 s (receivers count
// packets their NACKs recovered as received, so an overfilled link can report only a few per
// cent), the viewer goes back down and moving up again waits 30 s,
// then 60 s, 120 s … (at most 5 min). A new viewer starts on the lowest layer. Pure; the caller
// passes the clock and switches only at key frames.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace liveroom::media {

class LayerSelector {
 public:
  using Clock = std::chrono::steady_clock;

  struct Layer {
    uint64_t rank = 0;         // larger = better (the bitrate, or the bytes of the current interval)
    uint64_t bitrate_bps = 0;  // 0: not measured yet
    bool active = false;       // sending now
  };

  // A receiver report: `fraction_lost` (0..1) over the interval in which we sent `sent_bps`.
  void onReport(double fraction_lost, uint64_t sent_bps, Clock::time_point now);
  // The layer index to send now, given the publisher's layers (by index) and the one being sent
  // (-1: none yet). -1 when no layer is active.
  int choose(const std::vector<Layer>& layers, int current, Clock::time_point now);

  uint64_t estimate() const noexcept { return estimate_bps_; }
  std::chrono::seconds backoff() const noexcept { return backoff_; }

 private:
  uint64_t estimate_bps_ = 0;  // 0: nothing known yet (start at the lowest layer)
  uint64_t current_rank_ = 0;
  Clock::time_point moved_up_at_{};
  Clock::time_point hold_until_{};
  Clock::time_point last_loss_at_{};
  std::chrono::seconds backoff_{30};
};

}  // namespace liveroom::media

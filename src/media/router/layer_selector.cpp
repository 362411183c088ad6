// Simulcast layer choice for one viewer (see layer_selector.hpp).
#include "media/router/layer_selector.hpp"

#include <algorithm>

namespace liveroom::media {

namespace {
constexpr double kLossHigh = 0.10;
constexpr double kLossLow = 0.02;
constexpr double kIncrease = 1.25;
constexpr uint64_t kMaxEstimate = 100'000'000;
constexpr std::chrono::seconds kProbeWindow{4};  // loss this soon after moving up blames the move
constexpr std::chrono::seconds kMaxBackoff{300};
constexpr std::chrono::seconds kLossMemory{3};  // a move down needs loss reported this recently
}  // namespace

void LayerSelector::onReport(double fraction_lost, uint64_t sent_bps, Clock::time_point now) {
  // Right after a move up, even a little loss says the new layer does not fit: the receiver's
  // report counts packets its NACKs got back as received, so a link the layer overfills can
  // report 2-10 % while the picture freezes behind a growing queue.
  const bool probing = moved_up_at_ != Clock::time_point{} && now - moved_up_at_ <= kProbeWindow;
  if (fraction_lost > kLossHigh || (probing && fraction_lost >= kLossLow)) {
    last_loss_at_ = now;
    estimate_bps_ = static_cast<uint64_t>(static_cast<double>(sent_bps) * (1.0 - 0.5 * fraction_lost));
    if (probing) {
      // Below what was sent, so the next choice goes back down; then wait before climbing again.
      estimate_bps_ = std::min(estimate_bps_, sent_bps * 3 / 4);
      hold_until_ = now + backoff_;
      backoff_ = std::min(backoff_ * 2, kMaxBackoff);
      moved_up_at_ = {};
    }
  } else if (fraction_lost < kLossLow) {
    const uint64_t base = std::max(estimate_bps_, sent_bps);
    estimate_bps_ = std::min(kMaxEstimate, static_cast<uint64_t>(static_cast<double>(base) * kIncrease));
  }
}

int LayerSelector::choose(const std::vector<Layer>& layers, int current, Clock::time_point now) {
  int lowest = -1;
  int best = -1;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    if (!l.active) continue;
    const int index = static_cast<int>(i);
    if (lowest < 0 || l.rank < layers[static_cast<size_t>(lowest)].rank) lowest = index;
    const bool fits = l.bitrate_bps > 0 && l.bitrate_bps <= estimate_bps_;
    if (fits && (best < 0 || l.rank > layers[static_cast<size_t>(best)].rank)) best = index;
  }
  if (lowest < 0) return -1;
  int target = best >= 0 ? best : lowest;
  const bool current_active =
      current >= 0 && static_cast<size_t>(current) < layers.size() && layers[static_cast<size_t>(current)].active;
  if (current_active) {
    const uint64_t current_rank = layers[static_cast<size_t>(current)].rank;
    if (layers[static_cast<size_t>(target)].rank > current_rank) {
      if (now < hold_until_) {
        target = current;  // backing off after a failed move up
      } else {
        // One step at a time: the next better layer, so a failed climb costs the least.
        int next = -1;
        for (size_t i = 0; i < layers.size(); ++i) {
          if (!layers[i].active || layers[i].rank <= current_rank) continue;
          if (next < 0 || layers[i].rank < layers[static_cast<size_t>(next)].rank) next = static_cast<int>(i);
        }
        target = next;
        moved_up_at_ = now;
      }
    } else if (layers[static_cast<size_t>(target)].rank < current_rank &&
               (last_loss_at_ == Clock::time_point{} || now - last_loss_at_ > kLossMemory)) {
      // Down only for loss: a layer measured over a second with a key frame in it looks bigger
      // than it is, which is no reason to leave it.
      target = current;
    }
  }
  current_rank_ = layers[static_cast<size_t>(target)].rank;
  return target;
}

}  // namespace liveroom::media

// Simulcast layer choice: ranked by bitrate (not rid order), start low, climb while the viewer
// loses nothing, drop on loss, back off after a failed climb.
#include "media/router/layer_selector.hpp"

#include <gtest/gtest.h>

namespace liveroom::media {
namespace {

using namespace std::chrono_literals;
using Layer = LayerSelector::Layer;

// OBS-like: the rid order is not the quality order. Index 0 is the best.
std::vector<Layer> layers() {
  return {{2'500'000, 2'500'000, true}, {150'000, 150'000, true}, {600'000, 600'000, true}};
}

TEST(LayerSelector, StartsOnTheLowestLayerByBitrateNotByIndex) {
  LayerSelector s;
  EXPECT_EQ(s.choose(layers(), -1, LayerSelector::Clock::now()), 1);
}

TEST(LayerSelector, ClimbsWhileNothingIsLostAndDropsOnLoss) {
  LayerSelector s;
  auto now = LayerSelector::Clock::now();
  int current = s.choose(layers(), -1, now);
  // Reports with no loss while sending the current layer: the estimate grows by a quarter each.
  for (int i = 0; i < 30 && current != 0; ++i) {
    now += 1s;
    s.onReport(0.0, layers()[static_cast<size_t>(current)].bitrate_bps, now);
    current = s.choose(layers(), current, now);
  }
  EXPECT_EQ(current, 0) << "an unconstrained viewer reaches the best layer; estimate " << s.estimate();
  // Heavy loss: down to what fits what was delivered.
  now += 1s;
  s.onReport(0.6, 2'500'000, now);
  EXPECT_LT(s.estimate(), 2'500'000u);
  current = s.choose(layers(), current, now);
  EXPECT_EQ(current, 2);  // 600 kbit/s fits 2.5 M * (1 - 0.3)
}

TEST(LayerSelector, AFailedClimbBacksOffLongerEachTime) {
  // A viewer behind 300 kbit/s: every climb to 600 k loses, so climbs get rarer.
  LayerSelector s;
  auto now = LayerSelector::Clock::now();
  int current = s.choose(layers(), -1, now);
  int climbs = 0;
  for (int second = 0; second < 120; ++second) {
    now += 1s;
    const uint64_t sent = layers()[static_cast<size_t>(current)].bitrate_bps;
    const double loss = sent > 300'000 ? 0.5 : 0.0;
    s.onReport(loss, sent, now);
    const int next = s.choose(layers(), current, now);
    if (layers()[static_cast<size_t>(next)].rank > layers()[static_cast<size_t>(current)].rank) ++climbs;
    current = next;
  }
  EXPECT_NE(current, 0) << "never settles on a layer the link cannot carry";
  EXPECT_LE(climbs, 4) << "climbs back off: 30 s, 60 s, 120 s";
  EXPECT_GE(s.backoff(), 40s);
}

TEST(LayerSelector, ALittleLossRightAfterAClimbFailsIt) {
  // Behind 300 kbit/s with NACKs repairing most of it: the climb to 600 k reports only 5 % loss.
  LayerSelector s;
  auto now = LayerSelector::Clock::now();
  int current = s.choose(layers(), -1, now);
  for (int i = 0; i < 10 && current == 1; ++i) {
    s.onReport(0.0, 150'000, now += 1s);
    current = s.choose(layers(), current, now);
  }
  ASSERT_EQ(current, 2) << "climbed to 600 k";
  s.onReport(0.05, 600'000, now += 1s);
  EXPECT_EQ(s.choose(layers(), current, now), 1) << "back down at once";
  for (int i = 0; i < 25; ++i) {
    s.onReport(0.0, 150'000, now += 1s);
    EXPECT_EQ(s.choose(layers(), 1, now), 1) << "no new climb for 30 s (second " << i << ")";
  }
  // Later, the same 5 % on a layer it has held for a while is no reason to leave it.
  LayerSelector settled;
  auto t = LayerSelector::Clock::now();
  for (int i = 0; i < 20; ++i) settled.onReport(0.0, 10'000'000, t += 1s);
  EXPECT_EQ(settled.choose(layers(), 2, t), 0);
  t += 10s;
  settled.onReport(0.05, 2'500'000, t);
  EXPECT_EQ(settled.choose(layers(), 0, t), 0);
}

TEST(LayerSelector, ClimbsOneLayerAtATimeAndLeavesOnlyForLoss) {
  LayerSelector s;
  auto now = LayerSelector::Clock::now();
  EXPECT_EQ(s.choose(layers(), -1, now), 1);
  for (int i = 0; i < 20; ++i) s.onReport(0.0, 10'000'000, now += 1s);  // the estimate fits every layer
  EXPECT_EQ(s.choose(layers(), 1, now), 2) << "150 k -> 600 k first, not straight to 2.5 M";
  EXPECT_EQ(s.choose(layers(), 2, now += 1s), 0);
  // The layer looks bigger than the estimate for a while (a key frame in its second): no loss,
  // no move down.
  auto bigger = layers();
  bigger[0].bitrate_bps = bigger[0].rank = 200'000'000;
  EXPECT_EQ(s.choose(bigger, 0, now += 1s), 0);
  s.onReport(0.5, 2'500'000, now += 1s);
  EXPECT_EQ(s.choose(layers(), 0, now), 2) << "loss: down to what fits";
}

TEST(LayerSelector, InactiveLayersAreSkippedAndNoneMeansNone) {
  LayerSelector s;
  auto l = layers();
  l[1].active = false;  // the lowest is paused
  EXPECT_EQ(s.choose(l, -1, LayerSelector::Clock::now()), 2);
  for (Layer& x : l) x.active = false;
  EXPECT_EQ(s.choose(l, 2, LayerSelector::Clock::now()), -1);
}

}  // namespace
}  // namespace liveroom::media

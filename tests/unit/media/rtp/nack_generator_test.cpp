// Loss repair towards a publisher: gaps, reordering, retries, wrap, give-up and key frames.
#include "media/rtp/nack_generator.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace liveroom::media::rtp {
namespace {

using namespace std::chrono_literals;
using Clock = NackGenerator::Clock;

std::vector<uint16_t> collect(NackGenerator& g, Clock::time_point now) {
  std::vector<uint16_t> out;
  g.collect(now, out);
  return out;
}

TEST(NackGenerator, AGapIsAskedForAfterTheReorderWindow) {
  NackGenerator g;
  const auto t0 = Clock::now();
  g.onPacket(100, t0);
  g.onPacket(101, t0);
  g.onPacket(104, t0);  // 102 and 103 missing
  EXPECT_EQ(g.missing(), 2u);
  EXPECT_TRUE(collect(g, t0 + 2ms).empty()) << "still within the reordering window";
  EXPECT_EQ(collect(g, t0 + 20ms), (std::vector<uint16_t>{102, 103}));
  EXPECT_TRUE(collect(g, t0 + 30ms).empty()) << "asked again only after a round trip";
  EXPECT_EQ(g.stats().requested, 2u);
}

TEST(NackGenerator, ReorderedPacketsAreNeverAskedFor) {
  NackGenerator g;
  const auto t0 = Clock::now();
  g.onPacket(10, t0);
  g.onPacket(12, t0);
  EXPECT_TRUE(g.onPacket(11, t0 + 3ms));  // late, within the window
  EXPECT_TRUE(collect(g, t0 + 50ms).empty());
  EXPECT_EQ(g.stats().requested, 0u);
  EXPECT_EQ(g.stats().recovered, 0u);  // it was never asked for
  EXPECT_FALSE(g.onPacket(11, t0 + 60ms)) << "a duplicate fills nothing";
}

TEST(NackGenerator, RetriesEveryRttUntilTheLimitThenAsksForAKeyFrame) {
  NackGenerator::Options o;
  o.max_retries = 3;
  o.max_age = 10s;
  NackGenerator g(o);
  const auto t0 = Clock::now();
  g.onPacket(1, t0);
  g.onPacket(3, t0);
  EXPECT_EQ(collect(g, t0 + 20ms), std::vector<uint16_t>{2});
  EXPECT_TRUE(collect(g, t0 + 100ms).empty()) << "initial RTT is 100 ms";
  EXPECT_EQ(collect(g, t0 + 121ms), std::vector<uint16_t>{2});
  EXPECT_EQ(collect(g, t0 + 222ms), std::vector<uint16_t>{2});
  EXPECT_FALSE(g.takeKeyFrameRequest());
  EXPECT_TRUE(collect(g, t0 + 400ms).empty());  // three sent: given up
  EXPECT_EQ(g.missing(), 0u);
  EXPECT_TRUE(g.takeKeyFrameRequest());
  EXPECT_FALSE(g.takeKeyFrameRequest()) << "once";
  EXPECT_EQ(g.stats().given_up, 1u);
}

TEST(NackGenerator, OldGapsAreAbandoned) {
  NackGenerator g;
  const auto t0 = Clock::now();
  g.onPacket(1, t0);
  g.onPacket(3, t0);
  EXPECT_TRUE(collect(g, t0 + 1001ms).empty());
  EXPECT_TRUE(g.takeKeyFrameRequest());
}

TEST(NackGenerator, RepairsMeasureTheRoundTrip) {
  NackGenerator g;
  auto t = Clock::now();
  uint16_t seq = 0;
  g.onPacket(seq, t);
  for (int i = 0; i < 40; ++i) {
    seq += 2;  // lose one packet in two
    g.onPacket(seq, t);
    t += 20ms;
    ASSERT_EQ(collect(g, t), std::vector<uint16_t>{static_cast<uint16_t>(seq - 1)});
    t += 30ms;  // the retransmission comes 30 ms after the NACK
    EXPECT_TRUE(g.onPacket(static_cast<uint16_t>(seq - 1), t));
  }
  const double rtt_ms = std::chrono::duration<double, std::milli>(g.rtt()).count();
  EXPECT_NEAR(rtt_ms, 30.0, 3.0);
  EXPECT_EQ(g.stats().recovered, 40u);
}

TEST(NackGenerator, SequenceNumbersWrap) {
  NackGenerator g;
  const auto t0 = Clock::now();
  g.onPacket(65534, t0);
  g.onPacket(1, t0);  // 65535 and 0 missing
  EXPECT_EQ(collect(g, t0 + 20ms), (std::vector<uint16_t>{65535, 0}));
  EXPECT_TRUE(g.onPacket(0, t0 + 40ms));
  EXPECT_TRUE(g.onPacket(65535, t0 + 41ms));
  EXPECT_EQ(g.missing(), 0u);
  g.onPacket(2, t0 + 50ms);
  EXPECT_EQ(g.missing(), 0u);
}

TEST(NackGenerator, AHugeHoleAsksForAKeyFrameInsteadOfThousandsOfNacks) {
  NackGenerator g;
  const auto t0 = Clock::now();
  g.onPacket(0, t0);
  g.onPacket(5000, t0);
  EXPECT_EQ(g.missing(), 0u);
  EXPECT_TRUE(g.takeKeyFrameRequest());
  EXPECT_TRUE(collect(g, t0 + 20ms).empty());
  // The stream goes on from there.
  g.onPacket(5002, t0 + 30ms);
  EXPECT_EQ(collect(g, t0 + 60ms), std::vector<uint16_t>{5001});
}

TEST(NackGenerator, CollectHonoursItsCap) {
  NackGenerator g;
  const auto t0 = Clock::now();
  g.onPacket(0, t0);
  g.onPacket(301, t0);
  std::vector<uint16_t> out;
  g.collect(t0 + 20ms, out, 100);
  EXPECT_EQ(out.size(), 100u);
  EXPECT_EQ(out.front(), 1);
  out.clear();
  g.collect(t0 + 21ms, out, 1000);
  EXPECT_EQ(out.size(), 200u);
  EXPECT_EQ(out.front(), 101);
}

}  // namespace
}  // namespace liveroom::media::rtp

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
  EXPECT_EQ(g.onPacket(11, t0 + 3ms), NackGenerator::Arrival::kRepair);  // late, within the window
  EXPECT_TRUE(collect(g, t0 + 50ms).empty());
  EXPECT_EQ(g.stats().requested, 0u);
  EXPECT_EQ(g.stats().recovered, 0u);  // it was never asked for
  EXPECT_EQ(g.onPacket(11, t0 + 60ms), NackGenerator::Arrival::kOld) << "a duplicate fills nothing";
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
    EXPECT_EQ(g.onPacket(static_cast<uint16_t>(seq - 1), t), NackGenerator::Arrival::kRepair);
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
  EXPECT_EQ(g.onPacket(0, t0 + 40ms), NackGenerator::Arrival::kRepair);
  EXPECT_EQ(g.onPacket(65535, t0 + 41ms), NackGenerator::Arrival::kRepair);
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

// A retransmission ahead of the stream (its original lost, the packet after it not yet here) is
// new media: it moves the stream on and opens the gaps behind it, so the packets before it that
// are missing too are asked for. One far ahead is junk and changes nothing.
TEST(NackGenerator, AResendAheadOfTheStreamIsNewMediaButNotFarAhead) {
  NackGenerator g;
  const auto t0 = Clock::now();
  EXPECT_EQ(g.onPacket(7, t0, true), NackGenerator::Arrival::kOld) << "no stream yet";
  EXPECT_EQ(g.onPacket(10, t0), NackGenerator::Arrival::kNew);
  EXPECT_EQ(g.onPacket(11, t0, true), NackGenerator::Arrival::kNew);
  EXPECT_EQ(g.onPacket(14, t0, true), NackGenerator::Arrival::kNew);  // 12 and 13 missing
  EXPECT_EQ(collect(g, t0 + 20ms), (std::vector<uint16_t>{12, 13}));
  EXPECT_EQ(g.onPacket(11, t0 + 21ms), NackGenerator::Arrival::kOld) << "the late original is a repeat";
  const auto far = static_cast<uint16_t>(14 + NackGenerator::kMaxResendAhead + 1);
  EXPECT_EQ(g.onPacket(far, t0 + 22ms, true), NackGenerator::Arrival::kOld);
  EXPECT_EQ(g.missing(), 2u) << "the far one opened no gaps";
  EXPECT_EQ(g.onPacket(15, t0 + 23ms), NackGenerator::Arrival::kNew) << "the stream goes on from 14";
  EXPECT_EQ(g.onPacket(far, t0 + 24ms), NackGenerator::Arrival::kNew) << "as media, far ahead is a gap";
}

}  // namespace
}  // namespace liveroom::media::rtp

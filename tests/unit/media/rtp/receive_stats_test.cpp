// ReceiveStats: RFC 3550 report blocks for clean, lossy, duplicated and wrapping streams,
// interarrival jitter (A.8) from arrival times, and LSR/DLSR after a sender report.
#include "media/rtp/receive_stats.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>

namespace liveroom::media::rtp {
namespace {

using Clock = ReceiveStats::Clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr uint32_t kSsrc = 0x11223344;
const Clock::time_point kStart = Clock::time_point{} + std::chrono::hours(5);

// Opus-like pacing: 20 ms per packet, 960 timestamp units at 48 kHz, arriving exactly on time.
void pacedPacket(ReceiveStats& stats, uint16_t sequence, int index, microseconds late = microseconds(0)) {
  stats.onPacket(sequence, 1000 + 960u * static_cast<uint32_t>(index), kStart + milliseconds(20 * index) + late);
}

TEST(ReceiveStatsTest, NoReportBeforeTheFirstPacket) {
  ReceiveStats stats(kSsrc, 48000);
  EXPECT_EQ(stats.ssrc(), kSsrc);
  EXPECT_FALSE(stats.reportBlock(kStart));
  stats.onSenderReport(0x0123456789ABCDEFull, kStart);
  EXPECT_FALSE(stats.reportBlock(kStart));
  EXPECT_EQ(stats.packetsReceived(), 0u);
}

TEST(ReceiveStatsTest, CleanStream) {
  ReceiveStats stats(kSsrc, 48000);
  for (int i = 0; i < 100; ++i) pacedPacket(stats, static_cast<uint16_t>(1000 + i), i);
  const auto block = stats.reportBlock(kStart + std::chrono::seconds(2));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->ssrc, kSsrc);
  EXPECT_EQ(block->fraction_lost, 0);
  EXPECT_EQ(block->cumulative_lost, 0);
  EXPECT_EQ(block->extended_highest_sequence, 1099u);
  EXPECT_EQ(block->jitter, 0u);  // perfectly paced
  EXPECT_EQ(block->last_sr, 0u);
  EXPECT_EQ(block->delay_since_last_sr, 0u);
  EXPECT_EQ(stats.packetsReceived(), 100u);
}

TEST(ReceiveStatsTest, LossesPerIntervalAndCumulative) {
  ReceiveStats stats(kSsrc, 48000);
  int index = 0;
  // Interval 1: 0..99 with every tenth (0 excepted) missing: 9 of 100 lost.
  for (; index < 100; ++index) {
    if (index % 10 == 0 && index > 0) continue;
    pacedPacket(stats, static_cast<uint16_t>(index), index);
  }
  auto block = stats.reportBlock(kStart + std::chrono::seconds(2));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->fraction_lost, 9 * 256 / 100);  // 23
  EXPECT_EQ(block->cumulative_lost, 9);
  EXPECT_EQ(block->extended_highest_sequence, 99u);

  // Interval 2: 100 packets, none lost: the fraction is per interval, the count cumulative.
  for (; index < 200; ++index) pacedPacket(stats, static_cast<uint16_t>(index), index);
  block = stats.reportBlock(kStart + std::chrono::seconds(4));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->fraction_lost, 0);
  EXPECT_EQ(block->cumulative_lost, 9);

  // Interval 3: every other packet lost.
  for (; index < 300; ++index) {
    if (index % 2 == 1) pacedPacket(stats, static_cast<uint16_t>(index), index);
  }
  block = stats.reportBlock(kStart + std::chrono::seconds(6));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->fraction_lost, 128);
  EXPECT_EQ(block->cumulative_lost, 59);
  EXPECT_EQ(block->extended_highest_sequence, 299u);

  // Interval 4: nothing arrived at all.
  block = stats.reportBlock(kStart + std::chrono::seconds(8));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->fraction_lost, 0);
  EXPECT_EQ(block->cumulative_lost, 59);
}

TEST(ReceiveStatsTest, LateRetransmissionsFillLossesAndDuplicatesNeverGoNegative) {
  ReceiveStats stats(kSsrc, 48000);
  for (int i = 0; i < 10; ++i) {
    if (i != 4) pacedPacket(stats, static_cast<uint16_t>(i), i);
  }
  pacedPacket(stats, 4, 10);  // retransmitted late: not a loss any more
  auto block = stats.reportBlock(kStart + std::chrono::seconds(1));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->cumulative_lost, 0);
  EXPECT_EQ(block->fraction_lost, 0);
  EXPECT_EQ(block->extended_highest_sequence, 9u);

  for (int i = 0; i < 5; ++i) pacedPacket(stats, 9, 11 + i);  // duplicates: received > expected
  block = stats.reportBlock(kStart + std::chrono::seconds(2));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->cumulative_lost, 0);
  EXPECT_EQ(block->fraction_lost, 0);
  EXPECT_EQ(block->extended_highest_sequence, 9u);
  EXPECT_EQ(stats.packetsReceived(), 15u);
}

TEST(ReceiveStatsTest, CountsSequenceWraps) {
  ReceiveStats stats(kSsrc, 48000);
  for (int i = 0; i < 20; ++i) pacedPacket(stats, static_cast<uint16_t>(65530 + i), i);
  pacedPacket(stats, 65535, 20);  // an old packet after the wrap changes nothing
  auto block = stats.reportBlock(kStart + std::chrono::seconds(1));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->extended_highest_sequence, (1u << 16) | 13u);  // 65530 + 19 = 65549
  EXPECT_EQ(block->cumulative_lost, 0);

  // A second wrap, with a loss on each side of it.
  ReceiveStats twice(kSsrc, 90000);
  uint32_t sequence = 65000;
  for (int i = 0; i < 70000; ++i, ++sequence) {
    if (sequence == 65535 || sequence == 65536 + 65536) continue;
    twice.onPacket(static_cast<uint16_t>(sequence), 3000u * static_cast<uint32_t>(i),
                   kStart + microseconds(33'333LL * i));
  }
  block = twice.reportBlock(kStart + std::chrono::hours(1));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->extended_highest_sequence, (2u << 16) | ((65000u + 69999u) & 0xFFFFu));
  EXPECT_EQ(block->cumulative_lost, 2);
}

TEST(ReceiveStatsTest, JitterIsZeroWhenPacedAndGrowsWithUnevenArrivals) {
  ReceiveStats stats(kSsrc, 48000);
  for (int i = 0; i < 10; ++i) pacedPacket(stats, static_cast<uint16_t>(i), i);
  EXPECT_EQ(stats.reportBlock(kStart + std::chrono::seconds(1))->jitter, 0u);

  // 10 ms late = 480 units: J = 480 / 16 = 30. Back on time: D = -480, J = 30 + 450 / 16.
  pacedPacket(stats, 10, 10, milliseconds(10));
  EXPECT_EQ(stats.reportBlock(kStart + std::chrono::seconds(1))->jitter, 30u);
  pacedPacket(stats, 11, 11);
  EXPECT_EQ(stats.reportBlock(kStart + std::chrono::seconds(1))->jitter, 58u);  // 58.125

  // Then it decays while the stream is paced again (by 15/16 per packet).
  for (int i = 12; i < 40; ++i) pacedPacket(stats, static_cast<uint16_t>(i), i);
  const uint32_t decayed = stats.reportBlock(kStart + std::chrono::seconds(1))->jitter;
  EXPECT_LT(decayed, 58u);
  EXPECT_EQ(decayed, static_cast<uint32_t>(58.125 * std::pow(15.0 / 16.0, 28)));

  // Steadily uneven arrivals (every other packet 5 ms late) settle near |D| = 240 units.
  ReceiveStats uneven(kSsrc, 48000);
  for (int i = 0; i < 500; ++i) {
    pacedPacket(uneven, static_cast<uint16_t>(i), i, milliseconds(i % 2 == 0 ? 0 : 5));
  }
  const uint32_t settled = uneven.reportBlock(kStart + std::chrono::seconds(20))->jitter;
  EXPECT_GE(settled, 235u);
  EXPECT_LE(settled, 240u);
}

TEST(ReceiveStatsTest, JitterIgnoresTheRtpTimestampWrapAndReorderedPackets) {
  ReceiveStats stats(kSsrc, 90000);
  const uint32_t first = 0xFFFFFFFFu - 3000u * 5;
  for (int i = 0; i < 20; ++i) {
    stats.onPacket(static_cast<uint16_t>(i), first + 3000u * static_cast<uint32_t>(i),
                   kStart + microseconds(33'333 * i + (i % 3 == 0 ? 0 : 1)));  // ~1 us rounding noise
  }
  EXPECT_LE(stats.reportBlock(kStart + std::chrono::seconds(1))->jitter, 1u);
  // A retransmission of an old packet, very late: counted, but not in the jitter.
  stats.onPacket(3, first + 9000, kStart + std::chrono::seconds(2));
  EXPECT_LE(stats.reportBlock(kStart + std::chrono::seconds(2))->jitter, 1u);
}

TEST(ReceiveStatsTest, LastSenderReportAndDelaySinceIt) {
  ReceiveStats stats(kSsrc, 90000);
  stats.onPacket(1, 0, kStart);
  auto block = stats.reportBlock(kStart);
  ASSERT_TRUE(block);
  EXPECT_EQ(block->last_sr, 0u);
  EXPECT_EQ(block->delay_since_last_sr, 0u);

  stats.onSenderReport(0x0123456789ABCDEFull, kStart + milliseconds(100));
  block = stats.reportBlock(kStart + milliseconds(1600));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->last_sr, 0x456789ABu);         // middle 32 bits
  EXPECT_EQ(block->delay_since_last_sr, 98304u);  // 1.5 s * 65536

  block = stats.reportBlock(kStart + milliseconds(100) + microseconds(250));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->delay_since_last_sr, 16u);  // 0.25 ms * 65536 = 16.384

  // A newer report replaces it.
  stats.onSenderReport(0xAAAABBBBCCCCDDDDull, kStart + std::chrono::seconds(5));
  block = stats.reportBlock(kStart + std::chrono::seconds(6));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->last_sr, 0xBBBBCCCCu);
  EXPECT_EQ(block->delay_since_last_sr, 65536u);
}

}  // namespace
}  // namespace liveroom::media::rtp

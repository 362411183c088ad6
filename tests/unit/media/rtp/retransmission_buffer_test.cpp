// RTP retransmission buffer: lookup, slot reuse, age limit, sequence wrap, size limit.
#include "media/rtp/retransmission_buffer.hpp"

#include <gtest/gtest.h>

namespace liveroom::media::rtp {
namespace {

using namespace std::chrono_literals;

std::vector<uint8_t> packet(uint16_t seq, size_t size = 100) {
  std::vector<uint8_t> p(size, static_cast<uint8_t>(seq));
  p[0] = 0x80;
  return p;
}

TEST(RtpRetransmissionBuffer, ReturnsStoredPacketsByteForByte) {
  RetransmissionBuffer buffer(8);
  auto t = RetransmissionBuffer::Clock::now();
  for (uint16_t seq = 100; seq < 105; ++seq) {
    auto p = packet(seq);
    buffer.insert(seq, p.data(), p.size(), t);
  }
  auto got = buffer.get(103, t);
  ASSERT_TRUE(got);
  auto want = packet(103);
  EXPECT_TRUE(std::equal(got->begin(), got->end(), want.begin(), want.end()));
  EXPECT_FALSE(buffer.get(99, t));
  EXPECT_FALSE(buffer.get(105, t));
}

TEST(RtpRetransmissionBuffer, ReusedSlotsForgetOldPackets) {
  RetransmissionBuffer buffer(5);  // rounded up to 8 slots
  auto t = RetransmissionBuffer::Clock::now();
  for (uint16_t seq = 0; seq < 20; ++seq) {
    auto p = packet(seq);
    buffer.insert(seq, p.data(), p.size(), t);
  }
  EXPECT_FALSE(buffer.get(11, t));  // slot 3 now holds 19
  EXPECT_TRUE(buffer.get(12, t));
  EXPECT_TRUE(buffer.get(19, t));
}

TEST(RtpRetransmissionBuffer, PacketsOlderThanMaxAgeAreGone) {
  RetransmissionBuffer buffer(64, 1000ms);
  auto t = RetransmissionBuffer::Clock::now();
  auto p = packet(7);
  buffer.insert(7, p.data(), p.size(), t);
  EXPECT_TRUE(buffer.get(7, t + 1000ms));
  EXPECT_FALSE(buffer.get(7, t + 1001ms));
}

TEST(RtpRetransmissionBuffer, SequenceNumbersWrapAround) {
  RetransmissionBuffer buffer(16);
  auto t = RetransmissionBuffer::Clock::now();
  for (uint32_t i = 65530; i < 65540; ++i) {
    auto seq = static_cast<uint16_t>(i);
    auto p = packet(seq);
    buffer.insert(seq, p.data(), p.size(), t);
  }
  EXPECT_TRUE(buffer.get(65535, t));
  EXPECT_TRUE(buffer.get(0, t));
  EXPECT_TRUE(buffer.get(3, t));
}

TEST(RtpRetransmissionBuffer, OversizedPacketsAreNotKept) {
  RetransmissionBuffer buffer(16);
  auto t = RetransmissionBuffer::Clock::now();
  auto big = packet(1, RetransmissionBuffer::kMaxPacketSize + 1);
  buffer.insert(1, big.data(), big.size(), t);
  EXPECT_FALSE(buffer.get(1, t));
}

TEST(RtpRetransmissionBuffer, StorageIsReusedWithoutReallocation) {
  RetransmissionBuffer buffer(4);
  auto t = RetransmissionBuffer::Clock::now();
  auto p = packet(1, RetransmissionBuffer::kMaxPacketSize);
  buffer.insert(1, p.data(), p.size(), t);
  const uint8_t* first = buffer.get(1, t)->data();
  buffer.insert(5, p.data(), p.size(), t);  // same slot (5 & 3 == 1)
  EXPECT_EQ(buffer.get(5, t)->data(), first);
}

}  // namespace
}  // namespace liveroom::media::rtp

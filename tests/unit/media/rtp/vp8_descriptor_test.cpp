// VP8 descriptor numbering, read and written in place; and kept continuous by the rewriter when
// a viewer's source changes (a simulcast switch).
#include "media/rtp/vp8_descriptor.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "media/router/rtp_rewriter.hpp"
#include "media/rtp/rtp_packet.hpp"

namespace liveroom::media::rtp {
namespace {

using namespace std::chrono_literals;

TEST(Vp8Descriptor, ReadsAndWritesEveryField) {
  // X; I (15-bit PictureID 0x1234), L (TL0PICIDX 9), T+K (TID 2, Y, KEYIDX 5); then VP8 data.
  std::vector<uint8_t> p = {0x90, 0xF0, 0x92, 0x34, 0x09, 0xA5, 0x9D};
  auto n = readVp8Numbering(p);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->picture_id, 0x1234);
  EXPECT_TRUE(n->long_picture_id);
  EXPECT_EQ(n->tl0_pic_idx, 9);
  EXPECT_EQ(n->key_idx, 5);
  n->picture_id = 0x7FFF;
  n->tl0_pic_idx = 200;
  n->key_idx = 31;
  ASSERT_TRUE(writeVp8Numbering(p, *n));
  EXPECT_EQ(p, (std::vector<uint8_t>{0x90, 0xF0, 0xFF, 0xFF, 200, 0xBF, 0x9D}));  // TID/Y bits kept
  // 7-bit PictureID, no other fields; no extension at all; truncated.
  std::vector<uint8_t> short_id = {0x90, 0x80, 0x05, 0x00};
  EXPECT_EQ(readVp8Numbering(short_id)->picture_id, 5);
  EXPECT_FALSE(readVp8Numbering(short_id)->long_picture_id);
  EXPECT_FALSE(readVp8Numbering(std::vector<uint8_t>{0x10, 0x00})->picture_id);
  EXPECT_FALSE(readVp8Numbering(std::vector<uint8_t>{0x90, 0x80}));
  EXPECT_FALSE(readVp8Numbering(std::vector<uint8_t>{0x90, 0xC0, 0x81}));
}

// An RTP packet (no extensions) carrying a VP8 descriptor with PictureID and TL0PICIDX.
std::vector<uint8_t> vp8Packet(uint16_t seq, uint32_t ssrc, uint16_t picture_id, uint8_t tl0) {
  return {0x80,
          96,
          static_cast<uint8_t>(seq >> 8),
          static_cast<uint8_t>(seq),
          0,
          0,
          0x10,
          0,
          static_cast<uint8_t>(ssrc >> 24),
          static_cast<uint8_t>(ssrc >> 16),
          static_cast<uint8_t>(ssrc >> 8),
          static_cast<uint8_t>(ssrc),
          0x90,
          0xC0,
          static_cast<uint8_t>(0x80 | (picture_id >> 8)),
          static_cast<uint8_t>(picture_id),
          tl0,
          0x00};
}

TEST(Vp8Descriptor, TheRewriterKeepsPictureNumbersContinuousAcrossASourceSwitch) {
  RtpRewriter::Config c;
  c.ssrc = 0xCAFE;
  c.clock_rate = 90000;
  c.payload_types[96] = 100;
  c.vp8 = true;
  RtpRewriter rewriter(c);
  const auto t0 = RtpRewriter::Clock::now();
  std::vector<Vp8Numbering> out;
  auto send = [&](std::vector<uint8_t> bytes, RtpRewriter::Clock::time_point at) {
    auto packet = RtpPacket::parse(bytes.data(), bytes.size());
    ASSERT_TRUE(packet);
    ASSERT_TRUE(rewriter.rewrite(*packet, at));
    out.push_back(*readVp8Numbering(packet->payload()));
  };
  ASSERT_NO_FATAL_FAILURE(send(vp8Packet(10, 1, 100, 7), t0));
  ASSERT_NO_FATAL_FAILURE(send(vp8Packet(11, 1, 101, 7), t0 + 33ms));
  // Another layer, its own numbering: continues at 102 / 8.
  ASSERT_NO_FATAL_FAILURE(send(vp8Packet(5000, 2, 30000, 200), t0 + 66ms));
  ASSERT_NO_FATAL_FAILURE(send(vp8Packet(5001, 2, 30001, 201), t0 + 99ms));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].picture_id, 100);
  EXPECT_EQ(out[1].picture_id, 101);
  EXPECT_EQ(out[2].picture_id, 102);
  EXPECT_EQ(out[3].picture_id, 103);
  EXPECT_EQ(out[2].tl0_pic_idx, 8);
  EXPECT_EQ(out[3].tl0_pic_idx, 9);
  // Wrapping the 15-bit PictureID.
  ASSERT_NO_FATAL_FAILURE(send(vp8Packet(100, 3, 0x7FFF, 0), t0 + 130ms));  // a third source: 104
  ASSERT_NO_FATAL_FAILURE(send(vp8Packet(101, 3, 0x0000, 0), t0 + 160ms));
  EXPECT_EQ(out[4].picture_id, 104);
  EXPECT_EQ(out[5].picture_id, 105);
}

}  // namespace
}  // namespace liveroom::media::rtp

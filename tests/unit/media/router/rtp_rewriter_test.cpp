// Per-viewer RTP rewriting: PT/SSRC/extension mapping and continuity across a
// publisher reconnect.
#include "media/router/rtp_rewriter.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace liveroom::media {
namespace {

using namespace std::chrono_literals;

// V=2, X=1, PT, seq, ts, ssrc, one-byte extension block with id 3 (1 byte of data).
std::vector<uint8_t> rtpPacket(uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc) {
  return {0x90,
          pt,
          static_cast<uint8_t>(seq >> 8),
          static_cast<uint8_t>(seq),
          static_cast<uint8_t>(ts >> 24),
          static_cast<uint8_t>(ts >> 16),
          static_cast<uint8_t>(ts >> 8),
          static_cast<uint8_t>(ts),
          static_cast<uint8_t>(ssrc >> 24),
          static_cast<uint8_t>(ssrc >> 16),
          static_cast<uint8_t>(ssrc >> 8),
          static_cast<uint8_t>(ssrc),
          0xBE,
          0xDE,
          0x00,
          0x01,  // one-byte extensions, 1 word
          0x30,  // id 3, length 1
          0xAA,
          0x00,
          0x00,  // padding
          0x01,
          0x02,
          0x03};  // payload
}

struct Out {
  bool sent;
  uint8_t pt;
  uint16_t seq;
  uint32_t ts;
  uint32_t ssrc;
  bool has_ext5;
};

class RtpRewriterTest : public ::testing::Test {
 protected:
  RtpRewriterTest() {
    RtpRewriter::Config c;
    c.ssrc = 0xCAFE;
    c.clock_rate = 90000;
    c.payload_types[96] = 100;  // publisher VP8 96 -> viewer 100
    c.extension_ids[3] = 5;
    rewriter_.emplace(c);
  }
  Out send(uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, RtpRewriter::Clock::time_point at) {
    auto bytes = rtpPacket(pt, seq, ts, ssrc);
    auto packet = rtp::RtpPacket::parse(bytes.data(), bytes.size());
    EXPECT_TRUE(packet);
    bool sent = rewriter_->rewrite(*packet, at);
    return {sent,
            packet->payloadType(),
            packet->sequenceNumber(),
            packet->timestamp(),
            packet->ssrc(),
            packet->findExtension(5).has_value()};
  }
  std::optional<RtpRewriter> rewriter_;
  RtpRewriter::Clock::time_point t0_ = RtpRewriter::Clock::now();
};

TEST_F(RtpRewriterTest, MapsPayloadTypeSsrcAndExtensionIds) {
  auto out = send(96, 1000, 5000, 0x1111, t0_);
  EXPECT_TRUE(out.sent);
  EXPECT_EQ(out.pt, 100);
  EXPECT_EQ(out.ssrc, 0xCAFEu);
  EXPECT_EQ(out.seq, 1000);
  EXPECT_EQ(out.ts, 5000u);
  EXPECT_TRUE(out.has_ext5);
}

TEST_F(RtpRewriterTest, UnnegotiatedPayloadTypesAreNotSent) { EXPECT_FALSE(send(97, 1, 1, 0x1111, t0_).sent); }

TEST_F(RtpRewriterTest, PublisherReconnectContinuesSequenceAndTimestamp) {
  send(96, 1000, 5000, 0x1111, t0_);
  send(96, 1001, 8000, 0x1111, t0_ + 33ms);
  // The publisher comes back with a new SSRC and random bases, 2 s later.
  auto out = send(96, 40000, 123456, 0x2222, t0_ + 2033ms);
  EXPECT_TRUE(out.sent);
  EXPECT_EQ(out.ssrc, 0xCAFEu);
  EXPECT_EQ(out.seq, 1002);
  EXPECT_EQ(out.ts, 8000u + 2000u * 90u);
  auto next = send(96, 40001, 126456, 0x2222, t0_ + 2066ms);
  EXPECT_EQ(next.seq, 1003);
  EXPECT_EQ(next.ts, 8000u + 180000u + 3000u);
  // A straggler from before the new stream's first packet would collide: dropped.
  EXPECT_FALSE(send(96, 39990, 100000, 0x2222, t0_ + 2070ms).sent);
}

TEST_F(RtpRewriterTest, SequenceWrapKeepsCounting) {
  send(96, 65534, 1, 0x1111, t0_);
  EXPECT_EQ(send(96, 65535, 2, 0x1111, t0_).seq, 65535);
  EXPECT_EQ(send(96, 0, 3, 0x1111, t0_).seq, 0);
  auto out = send(96, 7, 9, 0x3333, t0_ + 10ms);  // reconnect right after the wrap
  EXPECT_EQ(out.seq, 1);
}

TEST_F(RtpRewriterTest, NacksMapBackToPublisherSequences) {
  send(96, 1000, 5000, 0x1111, t0_);
  send(96, 1001, 8000, 0x1111, t0_);
  send(96, 500, 9000, 0x2222, t0_ + 1s);  // out 1002
  send(96, 501, 9100, 0x2222, t0_ + 1s);  // out 1003
  EXPECT_EQ(rewriter_->publisherSequence(1003), 501);
  EXPECT_EQ(rewriter_->publisherSequence(1002), 500);
  EXPECT_EQ(rewriter_->publisherSequence(1001), std::nullopt);  // the previous stream's
  EXPECT_EQ(rewriter_->publisherSequence(1004), std::nullopt);  // not sent yet
}

}  // namespace
}  // namespace liveroom::media

// RTX (RFC 4588) both ways: wrap a packet for a viewer's RTX stream, restore a publisher's.
#include "media/rtp/rtx.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace liveroom::media::rtp {
namespace {

// V=2, P as given, X=1 with a one-byte extension (id 3, 2 bytes), PT 96, seq 0x1234, ts, SSRC 0xAABBCCDD.
std::vector<uint8_t> mediaPacket(bool padding) {
  std::vector<uint8_t> p = {static_cast<uint8_t>(0x90 | (padding ? 0x20 : 0)),
                            96,
                            0x12,
                            0x34,
                            0,
                            0,
                            0x10,
                            0,
                            0xAA,
                            0xBB,
                            0xCC,
                            0xDD,
                            0xBE,
                            0xDE,
                            0,
                            1,
                            0x31,
                            7,
                            8,
                            0,  // extension block: one element, padded
                            'v',
                            'p',
                            '8',
                            '!'};
  if (padding) p.insert(p.end(), {0, 0, 3});
  return p;
}

TEST(Rtx, WrapThenRestoreGivesBackTheSamePacket) {
  for (bool padding : {false, true}) {
    const std::vector<uint8_t> original = mediaPacket(padding);
    std::vector<uint8_t> buf = original;
    buf.resize(original.size() + 2);
    auto media = RtpPacket::parse(buf.data(), original.size());
    ASSERT_TRUE(media);
    auto rtx = wrapInRtx(*media, buf.size(), 97, 0x01020304, 777);
    ASSERT_TRUE(rtx);
    EXPECT_EQ(rtx->size(), original.size() + 2);
    EXPECT_EQ(rtx->payloadType(), 97);
    EXPECT_EQ(rtx->ssrc(), 0x01020304u);
    EXPECT_EQ(rtx->sequenceNumber(), 777);
    EXPECT_EQ(rtx->timestamp(), 0x00001000u);
    ASSERT_EQ(rtx->payloadSize(), 6u);
    EXPECT_EQ(rtx->payload()[0], 0x12);
    EXPECT_EQ(rtx->payload()[1], 0x34);
    EXPECT_EQ(rtx->paddingSize(), padding ? 3u : 0u);
    ASSERT_TRUE(rtx->findExtension(3));

    auto restored = restoreFromRtx(*rtx, 96, 0xAABBCCDD);
    ASSERT_TRUE(restored);
    EXPECT_EQ(std::vector<uint8_t>(restored->data(), restored->data() + restored->size()), original);
  }
}

TEST(Rtx, PaddingOnlyProbesAndFullBuffersAreRefused) {
  // An RTX packet whose payload is all padding (a bandwidth probe): nothing to restore.
  std::vector<uint8_t> probe = {0xA0, 97, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4};
  auto p = RtpPacket::parse(probe.data(), probe.size());
  ASSERT_TRUE(p);
  EXPECT_FALSE(restoreFromRtx(*p, 96, 1));
  // One byte of payload is no OSN either.
  std::vector<uint8_t> short_one = {0x80, 97, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 9};
  auto s = RtpPacket::parse(short_one.data(), short_one.size());
  ASSERT_TRUE(s);
  EXPECT_FALSE(restoreFromRtx(*s, 96, 1));
  // No room for the OSN.
  std::vector<uint8_t> full = mediaPacket(false);
  auto m = RtpPacket::parse(full.data(), full.size());
  ASSERT_TRUE(m);
  EXPECT_FALSE(wrapInRtx(*m, full.size() + 1, 97, 1, 1));
}

}  // namespace
}  // namespace liveroom::media::rtp

// RFC 7983 first-byte demultiplexing of the shared WebRTC UDP port.
#include "media/demux.hpp"

#include <gtest/gtest.h>

namespace liveroom::media {
namespace {

PacketKind classify(std::initializer_list<uint8_t> bytes) { return classifyPacket(bytes.begin(), bytes.size()); }

TEST(DemuxTest, ClassifiesEveryFirstByteRange) {
  for (int b = 0; b < 256; ++b) {
    const uint8_t packet[2] = {static_cast<uint8_t>(b), 96};  // second byte: an RTP payload type
    const PacketKind kind = classifyPacket(packet, sizeof(packet));
    if (b <= 3) {
      EXPECT_EQ(kind, PacketKind::Stun) << b;
    } else if (b >= 20 && b <= 63) {
      EXPECT_EQ(kind, PacketKind::Dtls) << b;
    } else if (b >= 128 && b <= 191) {
      EXPECT_EQ(kind, PacketKind::Rtp) << b;
    } else {
      EXPECT_EQ(kind, PacketKind::Unknown) << b;
    }
  }
}

TEST(DemuxTest, TellsRtcpFromRtpBySecondByte) {
  EXPECT_EQ(classify({0x80, 200}), PacketKind::Rtcp);  // SR
  EXPECT_EQ(classify({0x81, 201}), PacketKind::Rtcp);  // RR
  EXPECT_EQ(classify({0x81, 206}), PacketKind::Rtcp);  // PSFB
  EXPECT_EQ(classify({0x80, 192}), PacketKind::Rtcp);  // lowest of the RFC 5761 range
  EXPECT_EQ(classify({0x80, 223}), PacketKind::Rtcp);  // highest
  EXPECT_EQ(classify({0x80, 191}), PacketKind::Rtp);   // marker set, PT 63
  EXPECT_EQ(classify({0x80, 224}), PacketKind::Rtp);   // marker set, PT 96
  EXPECT_EQ(classify({0x80, 111}), PacketKind::Rtp);   // Opus, no marker
}

TEST(DemuxTest, RealPacketsHeads) {
  EXPECT_EQ(classify({0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42}), PacketKind::Stun);  // binding request
  EXPECT_EQ(classify({0x16, 0xfe, 0xfd}), PacketKind::Dtls);                                // DTLS 1.2 handshake
  EXPECT_EQ(classify({0x17, 0xfe, 0xfd}), PacketKind::Dtls);                                // application data
}

TEST(DemuxTest, EmptyAndTooShortAreDropped) {
  EXPECT_EQ(classifyPacket(nullptr, 0), PacketKind::Unknown);
  EXPECT_EQ(classify({0x80}), PacketKind::Unknown);  // an RTP first byte alone says nothing more
  EXPECT_EQ(classify({0x00}), PacketKind::Stun);     // the STUN parser rejects it later
  EXPECT_STREQ(toString(PacketKind::Rtcp), "rtcp");
}

}  // namespace
}  // namespace liveroom::media

// RTP header view: hand-assembled packets, in-place rewriting, RFC 8285 extensions, robustness.
#include "media/rtp/rtp_packet.hpp"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

namespace liveroom::media::rtp {
namespace {

// A VP8 packet as Chromium sends it: one-byte extensions (mid, abs-send-time, transport-cc).
std::vector<uint8_t> videoPacket() {
  return {
      0x90,                    // V=2, P=0, X=1, CC=0
      0xE0,                    // M=1, PT=96
      0x12, 0x34,              // sequence number 0x1234
      0x00, 0x01, 0xE2, 0x40,  // timestamp 123456
      0xDE, 0xAD, 0xBE, 0xEF,  // SSRC
      0xBE, 0xDE, 0x00, 0x03,  // one-byte extension profile, 3 words
      0x10, 0x30,              // id 1 (mid), length 1: "0"
      0x22, 0x01, 0x02, 0x03,  // id 2 (abs-send-time), length 3
      0x31, 0x00, 0x07,        // id 3 (transport-cc), length 2: 7
      0x00, 0x00, 0x00,        // padding to the word boundary
      0x90, 0x00, 0x00, 0x00,  // VP8 payload descriptor + payload
      0xAA, 0xBB,
  };
}

// An Opus packet with two CSRCs, a two-byte extension block and 3 bytes of RTP padding.
std::vector<uint8_t> audioPacket() {
  return {
      0xB2,                    // V=2, P=1, X=1, CC=2
      0x6F,                    // M=0, PT=111
      0xFF, 0xFF,              // sequence number 65535
      0xFF, 0xFF, 0xFF, 0xFF,  // timestamp
      0x01, 0x02, 0x03, 0x04,  // SSRC
      0x00, 0x00, 0x00, 0x0A,  // CSRC 1
      0x00, 0x00, 0x00, 0x0B,  // CSRC 2
      0x10, 0x00, 0x00, 0x02,  // two-byte extension profile 0x1000, 2 words
      0x05, 0x02, 0xAB, 0xCD,  // id 5, length 2
      0x20, 0x00, 0x00, 0x00,  // id 32, length 0, then padding
      0xFC, 0xFD, 0xFE,        // Opus payload
      0x00, 0x00, 0x03,        // RTP padding: 3 bytes, count in the last
  };
}

TEST(RtpPacketTest, ParsesHandAssembledVideoPacket) {
  auto bytes = videoPacket();
  const auto packet = RtpPacket::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->version(), 2);
  EXPECT_FALSE(packet->hasPadding());
  EXPECT_TRUE(packet->hasExtension());
  EXPECT_EQ(packet->csrcCount(), 0);
  EXPECT_TRUE(packet->marker());
  EXPECT_EQ(packet->payloadType(), 96);
  EXPECT_EQ(packet->sequenceNumber(), 0x1234);
  EXPECT_EQ(packet->timestamp(), 123456u);
  EXPECT_EQ(packet->ssrc(), 0xDEADBEEFu);
  EXPECT_EQ(packet->extensionForm(), ExtensionForm::OneByte);
  EXPECT_EQ(packet->headerSize(), 28u);
  EXPECT_EQ(packet->payloadOffset(), 28u);
  EXPECT_EQ(packet->payloadSize(), 6u);
  EXPECT_EQ(packet->payload()[0], 0x90);

  const auto mid = packet->findExtension(1);
  ASSERT_TRUE(mid);
  ASSERT_EQ(mid->size(), 1u);
  EXPECT_EQ((*mid)[0], '0');
  const auto abs = packet->findExtension(2);
  ASSERT_TRUE(abs);
  EXPECT_EQ(abs->size(), 3u);
  EXPECT_EQ((*abs)[2], 0x03);
  const auto twcc = packet->findExtension(3);
  ASSERT_TRUE(twcc);
  EXPECT_EQ(((*twcc)[0] << 8) | (*twcc)[1], 7);
  EXPECT_FALSE(packet->findExtension(4));
  EXPECT_FALSE(packet->findExtension(0));
}

TEST(RtpPacketTest, ParsesCsrcsTwoByteExtensionsAndPadding) {
  auto bytes = audioPacket();
  const auto packet = RtpPacket::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(packet);
  EXPECT_TRUE(packet->hasPadding());
  EXPECT_EQ(packet->csrcCount(), 2);
  EXPECT_EQ(packet->csrc(0), 0x0Au);
  EXPECT_EQ(packet->csrc(1), 0x0Bu);
  EXPECT_FALSE(packet->marker());
  EXPECT_EQ(packet->payloadType(), 111);
  EXPECT_EQ(packet->sequenceNumber(), 65535);
  EXPECT_EQ(packet->extensionForm(), ExtensionForm::TwoByte);
  EXPECT_EQ(packet->headerSize(), 32u);
  EXPECT_EQ(packet->paddingSize(), 3u);
  EXPECT_EQ(packet->payloadSize(), 3u);
  EXPECT_EQ(packet->payload()[2], 0xFE);
  const auto five = packet->findExtension(5);
  ASSERT_TRUE(five);
  EXPECT_EQ(five->size(), 2u);
  EXPECT_EQ((*five)[1], 0xCD);
  const auto empty = packet->findExtension(32);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(RtpPacketTest, ACopyKeepsTheParseAndChangesOnlyItsOwnBytes) {
  auto bytes = audioPacket();
  const auto original = RtpPacket::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(original);
  std::vector<uint8_t> buffer(bytes.size() + 16, 0);
  RtpPacket copy = original->copyTo(buffer.data());
  EXPECT_EQ(copy.data(), buffer.data());
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), buffer.begin()));
  EXPECT_EQ(copy.headerSize(), original->headerSize());
  EXPECT_EQ(copy.paddingSize(), original->paddingSize());
  ASSERT_TRUE(copy.findExtension(5));
  EXPECT_EQ(copy.findExtension(5)->data(), buffer.data() + (original->findExtension(5)->data() - bytes.data()));
  copy.setSequenceNumber(7);
  copy.setSsrc(0x01020304);
  EXPECT_EQ(copy.sequenceNumber(), 7);
  EXPECT_EQ(original->sequenceNumber(), 65535);  // the original is untouched
  EXPECT_EQ(original->csrc(0), 0x0Au);
}

TEST(RtpPacketTest, MinimalHeaderWithoutExtension) {
  std::vector<uint8_t> bytes = {0x80, 0x08, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1};  // PCMA, no payload
  const auto packet = RtpPacket::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->extensionForm(), ExtensionForm::None);
  EXPECT_EQ(packet->payloadSize(), 0u);
  EXPECT_FALSE(packet->findExtension(1));
}

TEST(RtpPacketTest, RewritesHeaderFieldsInPlace) {
  auto bytes = videoPacket();
  auto packet = RtpPacket::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(packet);
  packet->setPayloadType(100);
  packet->setSequenceNumber(0xFFFE);
  packet->setTimestamp(0x01020304);
  packet->setSsrc(0xCAFEBABE);
  EXPECT_TRUE(packet->marker());  // untouched by the payload type change
  EXPECT_EQ(bytes[1], 0x80 | 100);
  EXPECT_EQ(bytes[2], 0xFF);
  EXPECT_EQ(bytes[3], 0xFE);
  EXPECT_EQ(bytes[4], 0x01);
  EXPECT_EQ(bytes[7], 0x04);
  EXPECT_EQ(bytes[8], 0xCA);
  EXPECT_EQ(bytes[11], 0xBE);
  packet->setMarker(false);
  EXPECT_EQ(bytes[1], 100);
  const auto again = RtpPacket::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->payloadType(), 100);
  EXPECT_EQ(again->sequenceNumber(), 0xFFFE);
  EXPECT_EQ(again->timestamp(), 0x01020304u);
  EXPECT_EQ(again->ssrc(), 0xCAFEBABEu);
  EXPECT_EQ(again->payloadSize(), 6u);
}

TEST(RtpPacketTest, RemapsOneByteExtensionIdsAndStripsUnmapped) {
  auto bytes = videoPacket();
  auto packet = RtpPacket::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(packet);
  std::array<uint8_t, 16> map{};
  map[1] = 4;   // mid: 1 -> 4
  map[2] = 14;  // abs-send-time: 2 -> 14
  // transport-cc (3) not negotiated by this viewer: stripped
  packet->remapExtensionIds(map);
  EXPECT_EQ(bytes[16], 0x40);
  EXPECT_EQ(bytes[18], 0xE2);
  EXPECT_EQ(bytes[22], 0x00);
  EXPECT_EQ(bytes[23], 0x00);
  EXPECT_EQ(bytes[24], 0x00);
  auto again = RtpPacket::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->findExtension(1));
  EXPECT_FALSE(again->findExtension(3));
  ASSERT_TRUE(again->findExtension(4));
  EXPECT_EQ((*again->findExtension(4))[0], '0');
  ASSERT_TRUE(again->findExtension(14));
  EXPECT_EQ(again->findExtension(14)->size(), 3u);
  EXPECT_EQ(again->payloadSize(), 6u);

  // A target id that does not fit the one-byte form strips too.
  std::array<uint8_t, 16> wide{};
  wide[4] = 15;
  wide[14] = 2;
  again->remapExtensionIds(wide);
  EXPECT_FALSE(again->findExtension(4));
  ASSERT_TRUE(again->findExtension(2));
}

TEST(RtpPacketTest, RemapsTwoByteExtensionIds) {
  auto bytes = audioPacket();
  auto packet = RtpPacket::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(packet);
  std::array<uint8_t, 64> map{};
  map[5] = 200;
  packet->remapExtensionIds(map);
  EXPECT_EQ(bytes[24], 200);
  EXPECT_TRUE(packet->findExtension(200));
  EXPECT_FALSE(packet->findExtension(5));
  EXPECT_FALSE(packet->findExtension(32));  // unmapped: zeroed into padding
}

TEST(RtpPacketTest, RejectsMalformedPackets) {
  auto parse = [](std::vector<uint8_t> bytes) { return RtpPacket::parse(bytes.data(), bytes.size()).has_value(); };
  auto video = videoPacket();
  EXPECT_TRUE(parse(video));
  auto bad = video;
  bad[0] = 0x50;  // version 1
  EXPECT_FALSE(parse(bad));
  bad = video;
  bad[15] = 0x09;  // extension length 9 words overruns the packet
  EXPECT_FALSE(parse(bad));
  bad = video;
  bad[16] = 0x1F;  // id 1 claiming 16 bytes overruns the extension block
  EXPECT_FALSE(parse(bad));
  bad = video;
  bad[0] = 0x9F;  // 15 CSRCs do not fit
  EXPECT_FALSE(parse(bad));
  bad = video;
  bad[0] = 0xB0;  // padding bit with a last byte (0xBB) larger than the payload
  EXPECT_FALSE(parse(bad));
  bad.back() = 0;  // padding count 0 is invalid
  EXPECT_FALSE(parse(bad));
  bad.back() = 6;  // exactly the whole payload: valid, empty payload
  EXPECT_TRUE(parse(bad));
  EXPECT_FALSE(parse({0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0}));  // 11 bytes
  EXPECT_FALSE(RtpPacket::parse(nullptr, 0));
}

TEST(RtpPacketTest, EveryPrefixAndRandomCorruptionStaysInBounds) {
  std::mt19937 rng(3550);
  for (const auto& sample : {videoPacket(), audioPacket()}) {
    auto check = [](std::vector<uint8_t>& bytes) {
      auto packet = RtpPacket::parse(bytes.data(), bytes.size());
      if (!packet) return;
      ASSERT_LE(packet->headerSize() + packet->paddingSize(), bytes.size());
      ASSERT_LE(packet->payload().data() + packet->payload().size(), bytes.data() + bytes.size());
      for (int id = 0; id < 256; ++id) {
        if (auto ext = packet->findExtension(static_cast<uint8_t>(id))) {
          ASSERT_GE(ext->data(), bytes.data());
          ASSERT_LE(ext->data() + ext->size(), bytes.data() + packet->headerSize());
        }
      }
      std::array<uint8_t, 256> map{};
      for (size_t i = 0; i < map.size(); ++i) map[i] = static_cast<uint8_t>(255 - i);
      packet->remapExtensionIds(map);
    };
    for (size_t n = 0; n <= sample.size(); ++n) {
      std::vector<uint8_t> prefix(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(n));
      check(prefix);
    }
    for (int round = 0; round < 5000; ++round) {
      auto bytes = sample;
      bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
      check(bytes);
    }
  }
}

}  // namespace
}  // namespace liveroom::media::rtp

// SrtpSession: protect/unprotect round trips for RTP and RTCP with both profiles, keyed from a
// real DTLS handshake; authentication, replay, wrong key, garbage and capacity failures.
#include "media/srtp/srtp_session.hpp"

#include "unit/media/dtls/dtls_loopback.hpp"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <stdexcept>

namespace liveroom::media {
namespace {

using Buffer = std::array<uint8_t, 1500>;

// A 12-byte RTP header (PT 111, the given sequence number, SSRC 0x11223344) and a payload.
size_t writeRtp(Buffer& buf, uint16_t sequence, size_t payloadSize = 160) {
  const uint8_t header[12] = {0x80,
                              111,
                              static_cast<uint8_t>(sequence >> 8),
                              static_cast<uint8_t>(sequence),
                              0x00,
                              0x01,
                              0x02,
                              0x03,
                              0x11,
                              0x22,
                              0x33,
                              0x44};
  std::copy(std::begin(header), std::end(header), buf.begin());
  for (size_t i = 0; i < payloadSize; ++i) buf[12 + i] = static_cast<uint8_t>(i * 7 + sequence);
  return 12 + payloadSize;
}

// A receiver report with one report block (RFC 3550 §6.4.2): 32 bytes.
size_t writeRtcp(Buffer& buf) {
  const uint8_t packet[32] = {0x81, 201,  0x00, 0x07, 0xAA, 0xBB, 0xCC, 0xDD, 0x11, 0x22, 0x33,
                              0x44, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x12, 0x34, 0x00, 0x00,
                              0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  std::copy(std::begin(packet), std::end(packet), buf.begin());
  return sizeof packet;
}

size_t rtpTagLength(SrtpProfile profile) { return profile == SrtpProfile::AeadAes128Gcm ? 16 : 10; }

class SrtpSessionTest : public ::testing::TestWithParam<SrtpProfile> {
 protected:
  void SetUp() override {
    DtlsTransport::Options client;
    client.srtpProfiles = {GetParam()};
    loop_ = std::make_unique<testing::DtlsLoopback>(client);
    ASSERT_TRUE(loop_->handshake());
    ASSERT_EQ(loop_->clientEnd.profile, GetParam());
    // Client sends, server receives; and the reverse direction.
    clientOut_ = std::make_unique<SrtpSession>(SrtpSession::Direction::Outbound, GetParam(), loop_->clientEnd.local);
    serverIn_ = std::make_unique<SrtpSession>(SrtpSession::Direction::Inbound, GetParam(), loop_->serverEnd.remote);
    serverOut_ = std::make_unique<SrtpSession>(SrtpSession::Direction::Outbound, GetParam(), loop_->serverEnd.local);
    clientIn_ = std::make_unique<SrtpSession>(SrtpSession::Direction::Inbound, GetParam(), loop_->clientEnd.remote);
  }

  std::unique_ptr<testing::DtlsLoopback> loop_;
  std::unique_ptr<SrtpSession> clientOut_, serverIn_, serverOut_, clientIn_;
};

TEST_P(SrtpSessionTest, RtpRoundTripBothDirections) {
  for (auto [out, in] : {std::pair{clientOut_.get(), serverIn_.get()}, std::pair{serverOut_.get(), clientIn_.get()}}) {
    for (uint16_t sequence = 1000; sequence < 1010; ++sequence) {
      Buffer buf{};
      size_t len = writeRtp(buf, sequence);
      const Buffer plain = buf;
      const size_t plainLen = len;
      ASSERT_TRUE(out->protectRtp(buf.data(), len, buf.size()));
      EXPECT_EQ(len, plainLen + rtpTagLength(GetParam()));
      EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 12, plain.begin()));                   // header in the clear
      EXPECT_FALSE(std::equal(buf.begin() + 12, buf.begin() + plainLen, plain.begin() + 12));  // payload not
      ASSERT_TRUE(in->unprotectRtp(buf.data(), len));
      ASSERT_EQ(len, plainLen);
      EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + len, plain.begin()));
    }
  }
}

TEST_P(SrtpSessionTest, RtcpRoundTripBothDirections) {
  for (auto [out, in] : {std::pair{clientOut_.get(), serverIn_.get()}, std::pair{serverOut_.get(), clientIn_.get()}}) {
    for (int i = 0; i < 5; ++i) {
      Buffer buf{};
      size_t len = writeRtcp(buf);
      const Buffer plain = buf;
      const size_t plainLen = len;
      ASSERT_TRUE(out->protectRtcp(buf.data(), len, buf.size()));
      EXPECT_EQ(len, plainLen + 4 + rtpTagLength(GetParam()));  // SRTCP index + tag
      ASSERT_TRUE(in->unprotectRtcp(buf.data(), len));
      ASSERT_EQ(len, plainLen);
      EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + len, plain.begin()));
    }
  }
}

TEST_P(SrtpSessionTest, TamperedPacketsFailAuthentication) {
  Buffer buf{};
  size_t len = writeRtp(buf, 1);
  ASSERT_TRUE(clientOut_->protectRtp(buf.data(), len, buf.size()));
  for (size_t at : {size_t{2}, size_t{20}, len - 1}) {  // header, payload, tag
    Buffer copy = buf;
    size_t copyLen = len;
    copy[at] ^= 0x01;
    EXPECT_FALSE(serverIn_->unprotectRtp(copy.data(), copyLen)) << "byte " << at;
    EXPECT_EQ(copyLen, len);
  }
  // The untouched packet still authenticates: failures did not poison the replay window.
  EXPECT_TRUE(serverIn_->unprotectRtp(buf.data(), len));

  len = writeRtcp(buf);
  ASSERT_TRUE(clientOut_->protectRtcp(buf.data(), len, buf.size()));
  buf[10] ^= 0x80;
  EXPECT_FALSE(serverIn_->unprotectRtcp(buf.data(), len));
}

TEST_P(SrtpSessionTest, ReplayedPacketsAreRejected) {
  Buffer buf{};
  size_t len = writeRtp(buf, 7);
  ASSERT_TRUE(clientOut_->protectRtp(buf.data(), len, buf.size()));
  Buffer replay = buf;
  size_t replayLen = len;
  ASSERT_TRUE(serverIn_->unprotectRtp(buf.data(), len));
  EXPECT_FALSE(serverIn_->unprotectRtp(replay.data(), replayLen));

  len = writeRtcp(buf);
  ASSERT_TRUE(clientOut_->protectRtcp(buf.data(), len, buf.size()));
  replay = buf;
  replayLen = len;
  ASSERT_TRUE(serverIn_->unprotectRtcp(buf.data(), len));
  EXPECT_FALSE(serverIn_->unprotectRtcp(replay.data(), replayLen));
}

TEST_P(SrtpSessionTest, RetransmissionsCanBeProtectedAgain) {
  // allow_repeat_tx: a NACKed packet is re-protected with its original sequence number.
  Buffer first{};
  size_t firstLen = writeRtp(first, 42);
  Buffer again = first;
  size_t againLen = firstLen;
  ASSERT_TRUE(clientOut_->protectRtp(first.data(), firstLen, first.size()));
  ASSERT_TRUE(clientOut_->protectRtp(again.data(), againLen, again.size()));
  EXPECT_TRUE(serverIn_->unprotectRtp(first.data(), firstLen));
}

TEST_P(SrtpSessionTest, WrongKeyFails) {
  SrtpKeys wrong = loop_->serverEnd.remote;
  wrong.key[0] ^= 0xFF;
  SrtpSession wrongIn(SrtpSession::Direction::Inbound, GetParam(), wrong);
  // The other direction's key is also wrong.
  SrtpSession swappedIn(SrtpSession::Direction::Inbound, GetParam(), loop_->serverEnd.local);

  Buffer buf{};
  size_t len = writeRtp(buf, 3);
  ASSERT_TRUE(clientOut_->protectRtp(buf.data(), len, buf.size()));
  for (SrtpSession* in : {&wrongIn, &swappedIn}) {
    Buffer copy = buf;
    size_t copyLen = len;
    EXPECT_FALSE(in->unprotectRtp(copy.data(), copyLen));
  }
  len = writeRtcp(buf);
  ASSERT_TRUE(clientOut_->protectRtcp(buf.data(), len, buf.size()));
  EXPECT_FALSE(wrongIn.unprotectRtcp(buf.data(), len));
}

TEST_P(SrtpSessionTest, GarbageIsRejected) {
  std::mt19937 random(99);
  for (int i = 0; i < 2000; ++i) {
    Buffer buf{};
    size_t len = random() % 300;
    for (size_t j = 0; j < len; ++j) buf[j] = static_cast<uint8_t>(random());
    if (len > 0 && i % 2 == 0) buf[0] = static_cast<uint8_t>(0x80 | (buf[0] & 0x3F));  // version 2
    if (len > 1 && i % 4 == 0) buf[1] = static_cast<uint8_t>(200 + i % 5);             // RTCP types
    size_t rtpLen = len;
    EXPECT_FALSE(serverIn_->unprotectRtp(buf.data(), rtpLen));
    size_t rtcpLen = len;
    EXPECT_FALSE(serverIn_->unprotectRtcp(buf.data(), rtcpLen));
  }
  size_t zero = 0;
  EXPECT_FALSE(serverIn_->unprotectRtp(nullptr, zero));
  EXPECT_FALSE(serverIn_->unprotectRtcp(nullptr, zero));
  // Garbage left the session usable.
  Buffer buf{};
  size_t len = writeRtp(buf, 5);
  ASSERT_TRUE(clientOut_->protectRtp(buf.data(), len, buf.size()));
  EXPECT_TRUE(serverIn_->unprotectRtp(buf.data(), len));
}

TEST_P(SrtpSessionTest, TooLittleCapacityIsRefused) {
  Buffer buf{};
  size_t len = writeRtp(buf, 9);
  const size_t plainLen = len;
  EXPECT_FALSE(clientOut_->protectRtp(buf.data(), len, len + SrtpSession::kMaxRtpTrailer - 1));
  EXPECT_EQ(len, plainLen);
  EXPECT_FALSE(clientOut_->protectRtp(buf.data(), len, len - 1));  // capacity below the length
  EXPECT_TRUE(clientOut_->protectRtp(buf.data(), len, len + SrtpSession::kMaxRtpTrailer));

  len = writeRtcp(buf);
  EXPECT_FALSE(clientOut_->protectRtcp(buf.data(), len, len + SrtpSession::kMaxRtcpTrailer - 1));
  EXPECT_TRUE(clientOut_->protectRtcp(buf.data(), len, len + SrtpSession::kMaxRtcpTrailer));
}

TEST_P(SrtpSessionTest, WrongDirectionIsRefused) {
  Buffer buf{};
  size_t len = writeRtp(buf, 11);
  EXPECT_FALSE(serverIn_->protectRtp(buf.data(), len, buf.size()));
  EXPECT_FALSE(clientOut_->unprotectRtp(buf.data(), len));
  len = writeRtcp(buf);
  EXPECT_FALSE(serverIn_->protectRtcp(buf.data(), len, buf.size()));
  EXPECT_FALSE(clientOut_->unprotectRtcp(buf.data(), len));
}

INSTANTIATE_TEST_SUITE_P(SrtpProfiles, SrtpSessionTest,
                         ::testing::Values(SrtpProfile::AesCm128HmacSha1_80, SrtpProfile::AeadAes128Gcm),
                         [](const ::testing::TestParamInfo<SrtpProfile>& info) {
                           return info.param == SrtpProfile::AeadAes128Gcm ? std::string("AeadAes128Gcm")
                                                                           : std::string("AesCm128HmacSha1_80");
                         });

TEST(SrtpSessionKeysTest, WrongKeyLengthThrows) {
  const std::vector<uint8_t> short_(29, 1);
  EXPECT_THROW(
      SrtpSession(SrtpSession::Direction::Inbound, SrtpProfile::AesCm128HmacSha1_80, short_.data(), short_.size()),
      std::invalid_argument);
  const std::vector<uint8_t> cm(30, 1);
  EXPECT_THROW(SrtpSession(SrtpSession::Direction::Inbound, SrtpProfile::AeadAes128Gcm, cm.data(), cm.size()),
               std::invalid_argument);
  EXPECT_NO_THROW(
      SrtpSession(SrtpSession::Direction::Outbound, SrtpProfile::AesCm128HmacSha1_80, cm.data(), cm.size()));
  EXPECT_THROW(SrtpSession(SrtpSession::Direction::Inbound, SrtpProfile::AeadAes128Gcm, nullptr, 28),
               std::invalid_argument);
}

TEST(SrtpSessionKeysTest, ProfileSizesAndNames) {
  EXPECT_EQ(
      srtpMasterKeyLength(SrtpProfile::AesCm128HmacSha1_80) + srtpMasterSaltLength(SrtpProfile::AesCm128HmacSha1_80),
      30u);
  EXPECT_EQ(srtpMasterKeyLength(SrtpProfile::AeadAes128Gcm) + srtpMasterSaltLength(SrtpProfile::AeadAes128Gcm), 28u);
  EXPECT_STREQ(toOpenSslName(SrtpProfile::AesCm128HmacSha1_80), "SRTP_AES128_CM_SHA1_80");
  EXPECT_STREQ(toOpenSslName(SrtpProfile::AeadAes128Gcm), "SRTP_AEAD_AES_128_GCM");
  SrtpKeys keys{{1, 2}, {3}};
  EXPECT_EQ(keys.keyAndSalt(), (std::vector<uint8_t>{1, 2, 3}));
}

}  // namespace
}  // namespace liveroom::media

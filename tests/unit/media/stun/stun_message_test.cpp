// STUN parsing and building against the RFC 5769 test vectors, plus robustness sweeps.
#include "media/stun/stun_message.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace liveroom::media::stun {
namespace {

// RFC 5769 §2: the short-term password used by all three samples.
constexpr std::string_view kPassword = "VOkJxbRl1RmTxUk/WvJxBt";
constexpr TransactionId kSampleId = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

// RFC 5769 §2.1 Sample Request.
const std::vector<uint8_t> kSampleRequest = {
    0x00, 0x01, 0x00, 0x58,                                                  // Binding request, length 88
    0x21, 0x12, 0xa4, 0x42,                                                  // magic cookie
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,  // transaction id
    0x80, 0x22, 0x00, 0x10,                                                  // SOFTWARE, 16
    0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
    0x69, 0x65, 0x6e, 0x74,                                                  // "STUN test client"
    0x00, 0x24, 0x00, 0x04,                                                  // PRIORITY, 4
    0x6e, 0x00, 0x01, 0xff,                                                  // 0x6e0001ff
    0x80, 0x29, 0x00, 0x08,                                                  // ICE-CONTROLLED, 8
    0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,                          // tie breaker
    0x00, 0x06, 0x00, 0x09,                                                  // USERNAME, 9
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20,  // "evtj:h6vY" + padding
    0x00, 0x08, 0x00, 0x14,                                                  // MESSAGE-INTEGRITY, 20
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e,              //
    0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2,              //
    0x80, 0x28, 0x00, 0x04,                                                  // FINGERPRINT, 4
    0xe5, 0x7a, 0x3b, 0xcf,
};

// RFC 5769 §2.2 Sample IPv4 Response (192.0.2.1:32853).
const std::vector<uint8_t> kSampleIpv4Response = {
    0x01, 0x01, 0x00, 0x3c,                                                  // Binding success, length 60
    0x21, 0x12, 0xa4, 0x42,                                                  // magic cookie
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,  // transaction id
    0x80, 0x22, 0x00, 0x0b,                                                  // SOFTWARE, 11
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,  // "test vector" + padding
    0x00, 0x20, 0x00, 0x08,                                                  // XOR-MAPPED-ADDRESS, 8
    0x00, 0x01, 0xa1, 0x47,                                                  // IPv4, xor'd port
    0xe1, 0x12, 0xa6, 0x43,                                                  // xor'd address
    0x00, 0x08, 0x00, 0x14,                                                  // MESSAGE-INTEGRITY, 20
    0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74,              //
    0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,              //
    0x80, 0x28, 0x00, 0x04,                                                  // FINGERPRINT, 4
    0xc0, 0x7d, 0x4c, 0x96,
};

// RFC 5769 §2.3 Sample IPv6 Response ([2001:db8:1234:5678:11:2233:4455:6677]:32853).
const std::vector<uint8_t> kSampleIpv6Response = {
    0x01, 0x01, 0x00, 0x48,                                                  // Binding success, length 72
    0x21, 0x12, 0xa4, 0x42,                                                  // magic cookie
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,  // transaction id
    0x80, 0x22, 0x00, 0x0b,                                                  // SOFTWARE, 11
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,  // "test vector" + padding
    0x00, 0x20, 0x00, 0x14,                                                  // XOR-MAPPED-ADDRESS, 20
    0x00, 0x02, 0xa1, 0x47,                                                  // IPv6, xor'd port
    0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79,                          // xor'd address
    0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,                          //
    0x00, 0x08, 0x00, 0x14,                                                  // MESSAGE-INTEGRITY, 20
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84,              //
    0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,              //
    0x80, 0x28, 0x00, 0x04,                                                  // FINGERPRINT, 4
    0xc8, 0xfb, 0x0b, 0x4c,
};

std::optional<StunMessage> parse(const std::vector<uint8_t>& bytes) {
  return StunMessage::parse(bytes.data(), bytes.size());
}

TEST(StunMessageTest, Crc32MatchesTheStandardCheckValue) {
  const std::string_view check = "123456789";
  EXPECT_EQ(crc32(reinterpret_cast<const uint8_t*>(check.data()), check.size()), 0xCBF43926u);
}

TEST(StunMessageTest, ParsesRfc5769SampleRequest) {
  const auto msg = parse(kSampleRequest);
  ASSERT_TRUE(msg);
  EXPECT_TRUE(msg->isBindingRequest());
  EXPECT_EQ(msg->transactionId(), kSampleId);
  EXPECT_EQ(msg->username(), "evtj:h6vY");
  EXPECT_EQ(msg->priority(), 0x6e0001ffu);
  EXPECT_EQ(msg->iceControlled(), 0x932ff9b151263b36ull);
  EXPECT_FALSE(msg->iceControlling());
  EXPECT_FALSE(msg->useCandidate());
  EXPECT_EQ(msg->messageIntegrityOffset(),
            20u + 20u + 8u + 12u + 16u);  // header, SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME
  EXPECT_EQ(msg->fingerprint(), 0xe57a3bcfu);
  EXPECT_TRUE(msg->verifyFingerprint());
  EXPECT_TRUE(msg->verifyIntegrity(kPassword));
  EXPECT_FALSE(msg->verifyIntegrity("VOkJxbRl1RmTxUk/WvJxBT"));
  EXPECT_FALSE(msg->verifyIntegrity(""));
}

TEST(StunMessageTest, ParsesRfc5769Ipv4Response) {
  const auto msg = parse(kSampleIpv4Response);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->messageClass(), StunClass::SuccessResponse);
  EXPECT_EQ(msg->method(), kMethodBinding);
  EXPECT_EQ(msg->xorMappedAddress(), TransportAddress::v4({192, 0, 2, 1}, 32853));
  EXPECT_TRUE(msg->verifyFingerprint());
  EXPECT_TRUE(msg->verifyIntegrity(kPassword));
  EXPECT_FALSE(msg->verifyIntegrity("wrong"));
}

TEST(StunMessageTest, ParsesRfc5769Ipv6Response) {
  const auto msg = parse(kSampleIpv6Response);
  ASSERT_TRUE(msg);
  const std::array<uint8_t, 16> ip = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
                                      0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
  EXPECT_EQ(msg->xorMappedAddress(), TransportAddress::v6(ip, 32853));
  EXPECT_TRUE(msg->verifyFingerprint());
  EXPECT_TRUE(msg->verifyIntegrity(kPassword));
}

TEST(StunMessageTest, FlippedBytesFailFingerprintAndIntegrity) {
  for (const auto* sample : {&kSampleRequest, &kSampleIpv4Response, &kSampleIpv6Response}) {
    // Flip one bit of every byte after the header's length field; whatever still parses must
    // fail the fingerprint (bytes before it) or the integrity check (bytes before that).
    for (size_t i = 4; i < sample->size(); ++i) {
      auto bytes = *sample;
      bytes[i] ^= 0x01;
      const auto msg = parse(bytes);
      if (!msg) continue;
      EXPECT_FALSE(msg->verifyFingerprint() && msg->verifyIntegrity(kPassword)) << "byte " << i;
      if (msg->fingerprint() && msg->messageIntegrityOffset() && i < *msg->messageIntegrityOffset() + 24) {
        EXPECT_FALSE(msg->verifyFingerprint()) << "byte " << i;
      }
    }
  }
}

TEST(StunMessageTest, EveryTruncationIsRejectedOrFailsVerification) {
  for (const auto* sample : {&kSampleRequest, &kSampleIpv4Response, &kSampleIpv6Response}) {
    for (size_t n = 0; n < sample->size(); ++n) {
      std::vector<uint8_t> prefix(sample->begin(), sample->begin() + static_cast<std::ptrdiff_t>(n));
      const auto msg = StunMessage::parse(prefix.data(), prefix.size());
      if (msg) {
        EXPECT_FALSE(msg->verifyFingerprint() && msg->verifyIntegrity(kPassword)) << n;
      }
      // Also with the length field patched to match the prefix: the attribute walk must hold.
      if (n >= kHeaderSize) {
        prefix[2] = static_cast<uint8_t>((n - kHeaderSize) >> 8);
        prefix[3] = static_cast<uint8_t>(n - kHeaderSize);
        const auto patched = StunMessage::parse(prefix.data(), prefix.size());
        if (patched) {
          EXPECT_FALSE(patched->verifyFingerprint()) << n;
          patched->verifyIntegrity(kPassword);  // must not crash; may pass when MI is intact
        }
      }
    }
  }
}

TEST(StunMessageTest, RejectsMalformedHeaders) {
  auto bytes = kSampleRequest;
  bytes[4] = 0x22;  // magic cookie
  EXPECT_FALSE(parse(bytes));
  bytes = kSampleRequest;
  bytes[0] |= 0x80;  // top bits must be zero
  EXPECT_FALSE(parse(bytes));
  bytes = kSampleRequest;
  bytes[3] = 0x57;  // length not a multiple of 4
  EXPECT_FALSE(parse(bytes));
  bytes = kSampleRequest;
  bytes.push_back(0);  // datagram longer than the message
  EXPECT_FALSE(parse(bytes));
  bytes = kSampleRequest;
  bytes[23] = 0x40;  // SOFTWARE length overruns the message
  EXPECT_FALSE(parse(bytes));
  bytes = kSampleRequest;
  bytes[43] = 0x08;  // PRIORITY with the wrong size
  EXPECT_FALSE(parse(bytes));
  EXPECT_FALSE(StunMessage::parse(nullptr, 0));
}

TEST(StunMessageTest, RejectsAttributesAfterFingerprint) {
  auto bytes = kSampleIpv4Response;
  for (uint8_t b : {0x00, 0x25, 0x00, 0x00}) bytes.push_back(b);  // USE-CANDIDATE after FINGERPRINT
  bytes[3] = static_cast<uint8_t>(bytes[3] + 4);
  EXPECT_FALSE(parse(bytes));
}

TEST(StunMessageTest, ReadsUseCandidateAndIceControlling) {
  std::vector<uint8_t> out;
  StunMessageWriter writer(out);
  writer.begin(StunClass::Request, kMethodBinding, kSampleId);
  writer.addAttribute(attr::kUseCandidate, nullptr, 0);
  const uint8_t tie[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  writer.addAttribute(attr::kIceControlling, tie, sizeof(tie));
  const std::string_view user = "abcd:efgh";
  writer.addAttribute(attr::kUsername, reinterpret_cast<const uint8_t*>(user.data()), user.size());
  writer.addMessageIntegrity("pwd");
  writer.addFingerprint();
  const auto msg = parse(out);
  ASSERT_TRUE(msg);
  EXPECT_TRUE(msg->useCandidate());
  EXPECT_EQ(msg->iceControlling(), 0x0102030405060708ull);
  EXPECT_EQ(msg->username(), "abcd:efgh");
  EXPECT_TRUE(msg->verifyIntegrity("pwd"));
  EXPECT_TRUE(msg->verifyFingerprint());
}

TEST(StunMessageTest, BuildsBindingSuccessIpv4MatchingTheRfcAddressEncoding) {
  std::vector<uint8_t> out;
  const size_t size = buildBindingSuccess(kSampleId, TransportAddress::v4({192, 0, 2, 1}, 32853), kPassword, out);
  ASSERT_EQ(size, out.size());
  ASSERT_EQ(size, 20u + 12u + 24u + 8u);
  // XOR-MAPPED-ADDRESS is byte-identical to the one in RFC 5769 §2.2.
  EXPECT_TRUE(std::equal(out.begin() + 20, out.begin() + 32, kSampleIpv4Response.begin() + 36));
  const auto msg = parse(out);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->messageClass(), StunClass::SuccessResponse);
  EXPECT_EQ(msg->transactionId(), kSampleId);
  EXPECT_EQ(msg->xorMappedAddress(), TransportAddress::v4({192, 0, 2, 1}, 32853));
  EXPECT_TRUE(msg->verifyIntegrity(kPassword));
  EXPECT_FALSE(msg->verifyIntegrity("other"));
  EXPECT_TRUE(msg->verifyFingerprint());
}

TEST(StunMessageTest, BuildsBindingSuccessIpv6MatchingTheRfcAddressEncoding) {
  const std::array<uint8_t, 16> ip = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
                                      0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
  std::vector<uint8_t> out;
  buildBindingSuccess(kSampleId, TransportAddress::v6(ip, 32853), kPassword, out);
  ASSERT_EQ(out.size(), 20u + 24u + 24u + 8u);
  EXPECT_TRUE(std::equal(out.begin() + 20, out.begin() + 44, kSampleIpv6Response.begin() + 36));
  const auto msg = parse(out);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->xorMappedAddress(), TransportAddress::v6(ip, 32853));
  EXPECT_TRUE(msg->verifyIntegrity(kPassword));
  EXPECT_TRUE(msg->verifyFingerprint());
}

TEST(StunMessageTest, RebuildsRfcIpv4ResponseIntegrityWithTheWriter) {
  // The RFC pads SOFTWARE with a space; writing the same bytes unpadded-by-zero would change
  // the HMAC, so write the padded value (12 bytes) with the RFC's declared length afterwards.
  std::vector<uint8_t> out;
  StunMessageWriter writer(out);
  writer.begin(StunClass::SuccessResponse, kMethodBinding, kSampleId);
  const std::string_view software = "test vector ";
  writer.addAttribute(attr::kSoftware, reinterpret_cast<const uint8_t*>(software.data()), software.size());
  out[23] = 0x0b;  // declared length 11, the space stays as padding
  writer.addXorMappedAddress(TransportAddress::v4({192, 0, 2, 1}, 32853));
  writer.addMessageIntegrity(kPassword);
  writer.addFingerprint();
  EXPECT_EQ(out, kSampleIpv4Response);
}

TEST(StunMessageTest, BuildsBindingErrors) {
  std::vector<uint8_t> out;
  buildBindingError(kSampleId, 401, "Unauthorized", out);
  auto msg = parse(out);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->messageClass(), StunClass::ErrorResponse);
  EXPECT_EQ(msg->method(), kMethodBinding);
  EXPECT_EQ(msg->errorCode(), 401);
  EXPECT_EQ(msg->transactionId(), kSampleId);
  EXPECT_TRUE(msg->verifyFingerprint());
  EXPECT_FALSE(msg->messageIntegrityOffset());
  EXPECT_EQ(out[1], 0x11);  // type 0x0111: Binding error response

  const uint8_t* before = out.data();
  buildBindingError(kSampleId, 400, "Bad Request", out);  // reuses the buffer
  EXPECT_EQ(out.data(), before);
  msg = parse(out);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->errorCode(), 400);
  EXPECT_TRUE(msg->verifyFingerprint());
}

TEST(StunMessageTest, RandomCorruptionsNeverCrash) {
  std::mt19937 rng(5769);
  for (const auto* sample : {&kSampleRequest, &kSampleIpv4Response, &kSampleIpv6Response}) {
    for (int round = 0; round < 3000; ++round) {
      auto bytes = *sample;
      const size_t at = rng() % bytes.size();
      bytes[at] = static_cast<uint8_t>(rng());
      const auto msg = parse(bytes);
      if (!msg) continue;
      if (msg->username()) {
        EXPECT_GE(reinterpret_cast<const uint8_t*>(msg->username()->data()), bytes.data());
        EXPECT_LE(reinterpret_cast<const uint8_t*>(msg->username()->data() + msg->username()->size()),
                  bytes.data() + bytes.size());
      }
      if (msg->messageIntegrityOffset()) {
        EXPECT_LE(*msg->messageIntegrityOffset() + 24, bytes.size());
      }
      msg->verifyFingerprint();
      msg->verifyIntegrity(kPassword);
    }
  }
}

}  // namespace
}  // namespace liveroom::media::stun

// EvpSrtp: the RFC 3711 (B.2 keystream, B.3 key derivation) and RFC 7714 (§16 SRTP, §17 SRTCP)
// vectors, then byte-for-byte cross-checks against libsrtp2 (Debian's, on NSS) as the independent
// reference in both directions: random packets over many SSRCs, sequence wraps (ROC increments),
// reordering, retransmissions, RTCP encrypted and authenticated-only; tampering, replays, short
// and garbage input.
#include "media/srtp/evp_srtp.hpp"

#include <srtp2/srtp.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace liveroom::media {
namespace {

using Bytes = std::vector<uint8_t>;
using Direction = EvpSrtp::Direction;

Bytes hex(const std::string& text) {
  Bytes out;
  int high = -1;
  for (char ch : text) {
    int value;
    if (ch >= '0' && ch <= '9') {
      value = ch - '0';
    } else if (ch >= 'a' && ch <= 'f') {
      value = ch - 'a' + 10;
    } else if (ch >= 'A' && ch <= 'F') {
      value = ch - 'A' + 10;
    } else {
      continue;  // Spaces between groups.
    }
    if (high < 0) {
      high = value;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | value));
      high = -1;
    }
  }
  if (high >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

template <size_t N>
std::array<uint8_t, N> array(const std::string& text) {
  const Bytes bytes = hex(text);
  std::array<uint8_t, N> out{};
  std::copy_n(bytes.begin(), std::min(N, bytes.size()), out.begin());
  return out;
}

std::string profileName(const ::testing::TestParamInfo<SrtpProfile>& info) {
  return info.param == SrtpProfile::AeadAes128Gcm ? "AeadAes128Gcm" : "AesCm128HmacSha1_80";
}

// ---------------------------------------------------------------------------------------------
// RFC vectors
// ---------------------------------------------------------------------------------------------

// RFC 3711 appendix B.3: key derivation from master key and salt.
TEST(EvpSrtpVectorsTest, Rfc3711KeyDerivation) {
  const Bytes masterKey = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
  const Bytes masterSalt = hex("0EC675AD498AFEEBB6960B3AABE6");
  Bytes out(16);
  ASSERT_TRUE(EvpSrtp::deriveKey(masterKey.data(), 16, masterSalt.data(), 14, 0x00, out.data(), 16));
  EXPECT_EQ(out, hex("C61E7A93744F39EE10734AFE3FF7A087"));  // cipher key
  out.resize(14);
  ASSERT_TRUE(EvpSrtp::deriveKey(masterKey.data(), 16, masterSalt.data(), 14, 0x02, out.data(), 14));
  EXPECT_EQ(out, hex("30CBBC08863D8C85D49DB34A9AE1"));  // cipher salt
  out.resize(94);                                       // The RFC derives a 94-byte auth key: several blocks.
  ASSERT_TRUE(EvpSrtp::deriveKey(masterKey.data(), 16, masterSalt.data(), 14, 0x01, out.data(), 94));
  EXPECT_EQ(out, hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4 8F0A0ACF3C34E2359E6CDBCE"
                     "E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25"
                     "6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2"));

  // The same through deriveSessionKeys, which SRTP sessions use.
  Bytes keyAndSalt = masterKey;
  keyAndSalt.insert(keyAndSalt.end(), masterSalt.begin(), masterSalt.end());
  const EvpSrtp::SessionKeys keys =
      EvpSrtp::deriveSessionKeys(SrtpProfile::AesCm128HmacSha1_80, keyAndSalt.data(), keyAndSalt.size());
  EXPECT_EQ(Bytes(keys.rtpKey.begin(), keys.rtpKey.end()), hex("C61E7A93744F39EE10734AFE3FF7A087"));
  EXPECT_EQ(Bytes(keys.rtpSalt.begin(), keys.rtpSalt.end()), hex("30CBBC08863D8C85D49DB34A9AE1"));
  EXPECT_EQ(Bytes(keys.rtpAuthKey.begin(), keys.rtpAuthKey.end()), hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));

  // Bad arguments.
  EXPECT_FALSE(EvpSrtp::deriveKey(masterKey.data(), 15, masterSalt.data(), 14, 0, out.data(), 16));
  EXPECT_FALSE(EvpSrtp::deriveKey(masterKey.data(), 16, masterSalt.data(), 13, 0, out.data(), 16));
  EXPECT_FALSE(EvpSrtp::deriveKey(nullptr, 16, masterSalt.data(), 14, 0, out.data(), 16));
  EXPECT_THROW(EvpSrtp::deriveSessionKeys(SrtpProfile::AeadAes128Gcm, keyAndSalt.data(), keyAndSalt.size()),
               std::invalid_argument);
}

// RFC 3711 appendix B.2: the AES-CM keystream for session key 2B7E..., salt F0F1...FD. With SSRC 0
// and packet index 0 the IV is the salt shifted by 16 bits, so protecting a packet of zeros
// exposes the keystream: blocks 0-2 and 0xFEFF-0xFF01 as the RFC lists them.
TEST(EvpSrtpVectorsTest, Rfc3711AesCmKeystream) {
  EvpSrtp::SessionKeys keys;
  keys.rtpKey = array<16>("2B7E151628AED2A6ABF7158809CF4F3C");
  keys.rtpSalt = array<14>("F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
  EvpSrtp out(Direction::Outbound, SrtpProfile::AesCm128HmacSha1_80, keys, {});
  const size_t payload = 0xFF02 * 16;
  Bytes packet(12 + payload + out.rtpOverhead(), 0);
  packet[0] = 0x80;  // Version 2; sequence number, timestamp, SSRC all 0.
  size_t len = 12 + payload;
  ASSERT_TRUE(out.protectRtp(packet.data(), len, packet.size()));
  ASSERT_EQ(len, packet.size());
  auto block = [&](size_t counter) {
    return Bytes(packet.begin() + 12 + 16 * counter, packet.begin() + 28 + 16 * counter);
  };
  EXPECT_EQ(block(0x0000), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
  EXPECT_EQ(block(0x0001), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
  EXPECT_EQ(block(0x0002), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
  EXPECT_EQ(block(0xFEFF), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
  EXPECT_EQ(block(0xFF00), hex("362B7C3C6773516318A077D7FC5073AE"));
  EXPECT_EQ(block(0xFF01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
}

// RFC 7714 §16/§17: session key 000102...0f and salt "Quid pro quo" given directly.
EvpSrtp::SessionKeys rfc7714Keys() {
  EvpSrtp::SessionKeys keys;
  keys.rtpKey = keys.rtcpKey = array<16>("000102030405060708090a0b0c0d0e0f");
  keys.rtpSalt = keys.rtcpSalt = array<14>("517569642070726f2071756f");
  return keys;
}

const char* const kRfc7714Rtp =
    "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573";
const char* const kRfc7714Rtcp =
    "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61"
    "deadbeef deadbeef deadbeef deadbeef deadbeef";

// §16.1.1 and §16.1.2: AEAD_AES_128_GCM SRTP, ROC 0, sequence 0xf17b.
TEST(EvpSrtpVectorsTest, Rfc7714SrtpAes128Gcm) {
  const Bytes plain = hex(kRfc7714Rtp);
  const Bytes expected =
      hex("8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b"
          "36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce");
  EvpSrtp out(Direction::Outbound, SrtpProfile::AeadAes128Gcm, rfc7714Keys(), {});
  Bytes buf = plain;
  buf.resize(plain.size() + out.rtpOverhead());
  size_t len = plain.size();
  ASSERT_TRUE(out.protectRtp(buf.data(), len, buf.size()));
  EXPECT_EQ(Bytes(buf.begin(), buf.begin() + len), expected);

  EvpSrtp in(Direction::Inbound, SrtpProfile::AeadAes128Gcm, rfc7714Keys(), {});
  buf = expected;
  len = buf.size();
  ASSERT_TRUE(in.unprotectRtp(buf.data(), len));
  EXPECT_EQ(Bytes(buf.begin(), buf.begin() + len), plain);
  buf = expected;
  len = buf.size();
  EXPECT_FALSE(in.unprotectRtp(buf.data(), len));  // Replay.
}

// §17.1 (encrypted, SRTCP index 0x5d4) and §17.3 (authenticated only: E flag clear).
TEST(EvpSrtpVectorsTest, Rfc7714SrtcpAes128Gcm) {
  const Bytes plain = hex(kRfc7714Rtcp);
  const Bytes encrypted =
      hex("81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda 4ce09b46"
          "86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4");
  const Bytes authenticated =
      hex("81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef"
          "deadbeef deadbeef 841dd968 3dd78ec9 2ae58790 125f62b3 000005d4");
  for (bool encrypt : {true, false}) {
    SCOPED_TRACE(encrypt ? "encrypted" : "authenticated only");
    const Bytes& expected = encrypt ? encrypted : authenticated;
    EvpSrtp::Options options;
    options.encryptRtcp = encrypt;
    EvpSrtp out(Direction::Outbound, SrtpProfile::AeadAes128Gcm, rfc7714Keys(), options);
    ASSERT_TRUE(out.setNextRtcpIndex(0x4d617273, 0x5d4));
    Bytes buf = plain;
    buf.resize(plain.size() + out.rtcpOverhead());
    size_t len = plain.size();
    ASSERT_TRUE(out.protectRtcp(buf.data(), len, buf.size()));
    EXPECT_EQ(Bytes(buf.begin(), buf.begin() + len), expected);

    EvpSrtp in(Direction::Inbound, SrtpProfile::AeadAes128Gcm, rfc7714Keys(), {});
    buf = expected;
    len = buf.size();
    ASSERT_TRUE(in.unprotectRtcp(buf.data(), len));
    EXPECT_EQ(Bytes(buf.begin(), buf.begin() + len), plain);
    buf = expected;
    len = buf.size();
    EXPECT_FALSE(in.unprotectRtcp(buf.data(), len));  // Replay.
  }
}

// ---------------------------------------------------------------------------------------------
// libsrtp2 as the reference
// ---------------------------------------------------------------------------------------------

// One libsrtp2 session set up as SrtpSession's libsrtp policy was: any SSRC, a 1024-packet
// replay window, retransmissions allowed.
class LibSrtp {
 public:
  LibSrtp(Direction direction, SrtpProfile profile, Bytes keyAndSalt, bool encryptRtcp = true) {
    static std::once_flag once;
    std::call_once(once, [] {
      if (srtp_init() != srtp_err_status_ok) throw std::runtime_error("srtp_init");
    });
    srtp_policy_t policy{};
    if (profile == SrtpProfile::AeadAes128Gcm) {
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    } else {
      srtp_crypto_policy_set_rtp_default(&policy.rtp);
      srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
    }
    if (!encryptRtcp) policy.rtcp.sec_serv = sec_serv_auth;
    policy.ssrc.type = direction == Direction::Inbound ? ssrc_any_inbound : ssrc_any_outbound;
    policy.key = keyAndSalt.data();
    policy.window_size = 1024;
    policy.allow_repeat_tx = 1;
    if (srtp_create(&session_, &policy) != srtp_err_status_ok) throw std::runtime_error("srtp_create");
  }
  ~LibSrtp() { srtp_dealloc(session_); }
  LibSrtp(const LibSrtp&) = delete;
  LibSrtp& operator=(const LibSrtp&) = delete;

  bool protectRtp(Bytes& packet) { return run(srtp_protect, packet, SRTP_MAX_TRAILER_LEN); }
  bool unprotectRtp(Bytes& packet) { return run(srtp_unprotect, packet, 0); }
  bool protectRtcp(Bytes& packet) { return run(srtp_protect_rtcp, packet, SRTP_MAX_TRAILER_LEN + 4); }
  bool unprotectRtcp(Bytes& packet) { return run(srtp_unprotect_rtcp, packet, 0); }

 private:
  template <typename F>
  bool run(F f, Bytes& packet, size_t room) {
    int len = static_cast<int>(packet.size());
    packet.resize(packet.size() + room);
    const bool ok = f(session_, packet.data(), &len) == srtp_err_status_ok;
    packet.resize(ok ? static_cast<size_t>(len) : packet.size() - room);
    return ok;
  }

  srtp_t session_ = nullptr;
};

// Vector-based calls into EvpSrtp, the same shape as LibSrtp's.
bool protectRtp(EvpSrtp& s, Bytes& packet) {
  size_t len = packet.size();
  packet.resize(len + s.rtpOverhead());
  const bool ok = s.protectRtp(packet.data(), len, packet.size());
  packet.resize(ok ? len : packet.size() - s.rtpOverhead());
  return ok;
}
bool unprotectRtp(EvpSrtp& s, Bytes& packet) {
  size_t len = packet.size();
  const bool ok = s.unprotectRtp(packet.data(), len);
  packet.resize(len);
  return ok;
}
bool protectRtcp(EvpSrtp& s, Bytes& packet) {
  size_t len = packet.size();
  packet.resize(len + s.rtcpOverhead());
  const bool ok = s.protectRtcp(packet.data(), len, packet.size());
  packet.resize(ok ? len : packet.size() - s.rtcpOverhead());
  return ok;
}
bool unprotectRtcp(EvpSrtp& s, Bytes& packet) {
  size_t len = packet.size();
  const bool ok = s.unprotectRtcp(packet.data(), len);
  packet.resize(len);
  return ok;
}

Bytes randomKey(std::mt19937& random, SrtpProfile profile) {
  Bytes key(srtpMasterKeyLength(profile) + srtpMasterSaltLength(profile));
  for (uint8_t& b : key) b = static_cast<uint8_t>(random());
  return key;
}

// A random RTP packet: CSRCs, a one-byte-header extension, padding bit, marker, payload 0..1200.
Bytes randomRtp(std::mt19937& random, uint32_t ssrc, uint16_t sequence) {
  const unsigned csrcs = random() % 4;
  const bool extension = random() % 2 == 0;
  Bytes p;
  p.push_back(static_cast<uint8_t>(0x80 | (random() % 2 ? 0x20 : 0) | (extension ? 0x10 : 0) | csrcs));
  p.push_back(static_cast<uint8_t>(random() % 256));
  p.push_back(static_cast<uint8_t>(sequence >> 8));
  p.push_back(static_cast<uint8_t>(sequence));
  for (int i = 0; i < 4; ++i) p.push_back(static_cast<uint8_t>(random()));
  for (int i = 3; i >= 0; --i) p.push_back(static_cast<uint8_t>(ssrc >> (8 * i)));
  for (unsigned i = 0; i < 4 * csrcs; ++i) p.push_back(static_cast<uint8_t>(random()));
  if (extension) {
    const unsigned words = random() % 4;
    p.insert(p.end(), {0xBE, 0xDE, 0x00, static_cast<uint8_t>(words)});
    for (unsigned i = 0; i < 4 * words; ++i) p.push_back(static_cast<uint8_t>(random()));
  }
  const size_t payload = random() % 8 == 0 ? random() % 4 : random() % 1201;
  for (size_t i = 0; i < payload; ++i) p.push_back(static_cast<uint8_t>(random()));
  return p;
}

// A random RTCP compound's worth of bytes after a valid first header: 8..400 bytes.
Bytes randomRtcp(std::mt19937& random, uint32_t ssrc) {
  const size_t length = 8 + random() % 393;
  Bytes p = {static_cast<uint8_t>(0x80 | random() % 32), static_cast<uint8_t>(200 + random() % 7),
             static_cast<uint8_t>((length / 4 - 1) >> 8), static_cast<uint8_t>(length / 4 - 1)};
  for (int i = 3; i >= 0; --i) p.push_back(static_cast<uint8_t>(ssrc >> (8 * i)));
  while (p.size() < length) p.push_back(static_cast<uint8_t>(random()));
  return p;
}

class EvpSrtpCrossCheckTest : public ::testing::TestWithParam<SrtpProfile> {};

// The same packets protected by both implementations under the same keys must come out byte for
// byte the same; each side's receiver must then accept or refuse exactly what the other's does.
// Sequence numbers advance by random steps (one in twenty near half the sequence space), so every
// stream wraps many times; one packet in ten is a retransmission of a recent one (same bytes,
// refused by both receivers as a replay), one in ten is delivered after its successor.
TEST_P(EvpSrtpCrossCheckTest, RtpBothWaysAcrossSequenceWraps) {
  const SrtpProfile profile = GetParam();
  std::mt19937 random(20261205);
  const Bytes key = randomKey(random, profile);
  EvpSrtp evpOut(Direction::Outbound, profile, key.data(), key.size());
  EvpSrtp evpIn(Direction::Inbound, profile, key.data(), key.size());
  LibSrtp libOut(Direction::Outbound, profile, key);
  LibSrtp libIn(Direction::Inbound, profile, key);

  struct Sent {
    uint64_t index;  // ROC << 16 | sequence, as this test counts it.
    Bytes plain;
  };
  struct Stream {
    uint64_t index = 0;
    bool started = false;
    std::deque<Sent> recent;
  };
  const uint32_t ssrcs[] = {0x11223344, 0xCAFEBABE, 0x00000001};
  std::map<uint32_t, Stream> streams;
  streams[0x11223344].index = 65000;  // Wraps at once.
  streams[0xCAFEBABE].index = 1;
  streams[0x00000001].index = 40000;
  int wraps = 0, accepted = 0, refused = 0, retransmissions = 0;
  std::vector<std::pair<Bytes, Bytes>> held;  // (protected, plain) delivered after the next new packet.

  // Both receivers get the same bytes; they must agree, and on success give back the plaintext.
  auto deliver = [&](const Bytes& packet, const Bytes& plain) {
    Bytes a = packet, b = packet;
    const bool libOk = libIn.unprotectRtp(a);
    const bool evpOk = unprotectRtp(evpIn, b);
    EXPECT_EQ(libOk, evpOk);
    if (libOk && evpOk) {
      EXPECT_EQ(a, plain);
      EXPECT_EQ(b, plain);
    }
    (libOk ? accepted : refused)++;
    return libOk;
  };

  for (int i = 0; i < 6000 && !HasFailure(); ++i) {
    const uint32_t ssrc = ssrcs[random() % 3];
    Stream& stream = streams[ssrc];
    Bytes plain;
    bool retransmission = false;
    if (random() % 10 == 0 && !stream.recent.empty()) {
      // libsrtp will not protect an index older than its window (1024) again; stay inside it.
      const Sent& old = stream.recent[random() % stream.recent.size()];
      if (stream.index - old.index < 1000) {
        plain = old.plain;
        retransmission = true;
      }
    }
    if (!retransmission) {
      if (stream.started) {
        const uint64_t step = random() % 20 == 0 ? 20000 + random() % 12000 : 1 + random() % 600;
        if ((stream.index & 0xFFFF) + step > 0xFFFF) ++wraps;
        stream.index += step;
      }
      stream.started = true;
      plain = randomRtp(random, ssrc, static_cast<uint16_t>(stream.index));
      stream.recent.push_back({stream.index, plain});
      if (stream.recent.size() > 4) stream.recent.pop_front();
    }
    Bytes viaEvp = plain, viaLib = plain;
    ASSERT_TRUE(protectRtp(evpOut, viaEvp)) << i;
    ASSERT_TRUE(libOut.protectRtp(viaLib)) << i;
    ASSERT_EQ(viaEvp, viaLib) << "packet " << i << (retransmission ? " (retransmission)" : "");
    ASSERT_EQ(Bytes(viaEvp.begin(), viaEvp.begin() + 12), Bytes(plain.begin(), plain.begin() + 12));

    if (retransmission) {
      ++retransmissions;
      // The original was delivered (or is held, then this one goes nowhere): a replay.
      if (held.empty()) {
        EXPECT_FALSE(deliver(viaEvp, plain)) << i;
      }
      continue;
    }
    if (held.empty() && random() % 10 == 0) {
      held.emplace_back(viaEvp, plain);
      continue;
    }
    EXPECT_TRUE(deliver(viaEvp, plain)) << i;  // New: ahead of everything its receiver has seen.
    // Late by one packet: accepted if that packet was of another SSRC or a small step ahead,
    // refused (too old) after a big step. Either way both receivers agree.
    for (auto& [packet, original] : held) deliver(packet, original);
    held.clear();
  }
  EXPECT_GT(wraps, 30);
  EXPECT_GT(accepted, 4500);
  EXPECT_GT(retransmissions, 300);
}

// The receivers' view when a stream starts right before a wrap, goes back across it (reordering)
// and when packets arrive older than the 1024-packet window: both refuse the same ones.
TEST_P(EvpSrtpCrossCheckTest, RtpReplayWindowAgreesWithLibSrtp) {
  const SrtpProfile profile = GetParam();
  std::mt19937 random(7);
  const Bytes key = randomKey(random, profile);
  EvpSrtp evpOut(Direction::Outbound, profile, key.data(), key.size());
  EvpSrtp evpIn(Direction::Inbound, profile, key.data(), key.size());
  LibSrtp libIn(Direction::Inbound, profile, key);

  std::vector<Bytes> packets;  // Sequence 65000 + i, wrapping after 536 packets.
  for (int i = 0; i < 3000; ++i) {
    Bytes p = randomRtp(random, 0x5EED, static_cast<uint16_t>(65000 + i));
    ASSERT_TRUE(protectRtp(evpOut, p));
    packets.push_back(p);
  }
  // Deliver in an order with gaps filled late: most in order, every 7th held back by a random
  // distance of up to 1,500 packets (some then older than the window), some twice.
  std::vector<size_t> order;
  std::vector<std::pair<size_t, size_t>> late;  // (deliver after, packet)
  for (size_t i = 0; i < packets.size(); ++i) {
    if (i % 7 == 3) {
      late.emplace_back(i + 1 + random() % 1500, i);
    } else {
      order.push_back(i);
      if (i % 50 == 0) order.push_back(i);  // Duplicate.
    }
    for (auto it = late.begin(); it != late.end();) {
      if (it->first == i) {
        order.push_back(it->second);
        it = late.erase(it);
      } else {
        ++it;
      }
    }
  }
  int agreedAccepts = 0, agreedRefusals = 0;
  for (size_t at : order) {
    Bytes a = packets[at], b = packets[at];
    const bool libOk = libIn.unprotectRtp(a);
    const bool evpOk = unprotectRtp(evpIn, b);
    ASSERT_EQ(libOk, evpOk) << "packet " << at;
    if (libOk) {
      ASSERT_EQ(a, b);
      ++agreedAccepts;
    } else {
      ++agreedRefusals;
    }
  }
  EXPECT_GT(agreedAccepts, 2500);
  EXPECT_GT(agreedRefusals, 80);  // Duplicates and the packets held back too long.
}

// SRTCP both ways, encrypted and authenticated-only (E flag clear), several SSRCs. libsrtp's first
// SRTCP index is 1 (RFC 3711 says 0), so ours is set to 1 to compare bytes.
TEST_P(EvpSrtpCrossCheckTest, RtcpBothWays) {
  const SrtpProfile profile = GetParam();
  for (bool encrypt : {true, false}) {
    SCOPED_TRACE(encrypt ? "encrypted" : "authenticated only");
    std::mt19937 random(encrypt ? 31 : 32);
    const Bytes key = randomKey(random, profile);
    EvpSrtp::Options options;
    options.encryptRtcp = encrypt;
    EvpSrtp evpOut(Direction::Outbound, profile, key.data(), key.size(), options);
    EvpSrtp evpIn(Direction::Inbound, profile, key.data(), key.size());
    LibSrtp libOut(Direction::Outbound, profile, key, encrypt);
    LibSrtp libIn(Direction::Inbound, profile, key, encrypt);
    const uint32_t ssrcs[] = {1, 0xDEADBEEF, 0x7F7F7F7F, 0x80000000};
    for (uint32_t ssrc : ssrcs) ASSERT_TRUE(evpOut.setNextRtcpIndex(ssrc, 1));
    for (int i = 0; i < 2000; ++i) {
      const Bytes plain = randomRtcp(random, ssrcs[random() % 4]);
      Bytes viaEvp = plain, viaLib = plain;
      ASSERT_TRUE(protectRtcp(evpOut, viaEvp));
      ASSERT_TRUE(libOut.protectRtcp(viaLib));
      ASSERT_EQ(viaEvp, viaLib) << "packet " << i;
      ASSERT_EQ(Bytes(viaEvp.begin(), viaEvp.begin() + 8), Bytes(plain.begin(), plain.begin() + 8));
      if (!encrypt) {
        ASSERT_EQ(Bytes(viaEvp.begin(), viaEvp.begin() + plain.size()), plain);
      }
      // Each receiver gets the other's packet (they are the same bytes), then a replay of it.
      Bytes a = viaEvp, b = viaLib;
      ASSERT_TRUE(libIn.unprotectRtcp(a));
      ASSERT_TRUE(unprotectRtcp(evpIn, b));
      ASSERT_EQ(a, plain);
      ASSERT_EQ(b, plain);
      if (i % 10 == 0) {
        a = viaEvp;
        b = viaLib;
        ASSERT_FALSE(libIn.unprotectRtcp(a));
        ASSERT_FALSE(unprotectRtcp(evpIn, b));
      }
    }
  }
}

// Different keys per direction and a receiver that only sees part of the stream: what libsrtp
// protected with one key is refused by an EvpSrtp keyed with another, and vice versa.
TEST_P(EvpSrtpCrossCheckTest, WrongKeyIsRefusedBothWays) {
  const SrtpProfile profile = GetParam();
  std::mt19937 random(3);
  const Bytes key = randomKey(random, profile);
  Bytes other = key;
  other[random() % other.size()] ^= 0x01;  // Any bit of key or salt.
  LibSrtp libOut(Direction::Outbound, profile, key);
  EvpSrtp evpOut(Direction::Outbound, profile, key.data(), key.size());
  EvpSrtp evpWrong(Direction::Inbound, profile, other.data(), other.size());
  LibSrtp libWrong(Direction::Inbound, profile, other);
  for (int i = 0; i < 50; ++i) {
    Bytes p = randomRtp(random, 42, static_cast<uint16_t>(i));
    Bytes q = p;
    ASSERT_TRUE(libOut.protectRtp(p));
    ASSERT_TRUE(protectRtp(evpOut, q));
    EXPECT_FALSE(unprotectRtp(evpWrong, p));
    EXPECT_FALSE(libWrong.unprotectRtp(q));
  }
}

INSTANTIATE_TEST_SUITE_P(SrtpProfiles, EvpSrtpCrossCheckTest,
                         ::testing::Values(SrtpProfile::AesCm128HmacSha1_80, SrtpProfile::AeadAes128Gcm), profileName);

// ---------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------

class EvpSrtpFailureTest : public ::testing::TestWithParam<SrtpProfile> {
 protected:
  EvpSrtpFailureTest()
      : key_(makeKey()),
        out_(Direction::Outbound, GetParam(), key_.data(), key_.size()),
        in_(Direction::Inbound, GetParam(), key_.data(), key_.size()) {}

  Bytes makeKey() {
    std::mt19937 random(11);
    return randomKey(random, GetParam());
  }

  Bytes key_;
  EvpSrtp out_;
  EvpSrtp in_;
};

// Every single-bit change anywhere in a protected packet (header, CSRCs, extension, payload, tag;
// SRTCP's E flag and index too) is refused, len is left alone, and the intact packet still passes.
TEST_P(EvpSrtpFailureTest, AnyFlippedBitIsRefused) {
  std::mt19937 random(5);
  Bytes plain;
  do {
    plain = randomRtp(random, 0xABCDEF01, 777);
  } while ((plain[0] & 0x1F) != 0x12 || plain.size() < 60);  // Extension and two CSRCs.
  Bytes packet = plain;
  ASSERT_TRUE(protectRtp(out_, packet));
  for (size_t at = 0; at < packet.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes copy = packet;
      copy[at] ^= static_cast<uint8_t>(1 << bit);
      size_t len = copy.size();
      ASSERT_FALSE(in_.unprotectRtp(copy.data(), len)) << "byte " << at << " bit " << bit;
      ASSERT_EQ(len, packet.size());
    }
  }
  ASSERT_TRUE(unprotectRtp(in_, packet));
  EXPECT_EQ(packet, plain);

  const Bytes rtcp = randomRtcp(random, 0x01020304);
  packet = rtcp;
  ASSERT_TRUE(protectRtcp(out_, packet));
  for (size_t at = 0; at < packet.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes copy = packet;
      copy[at] ^= static_cast<uint8_t>(1 << bit);
      size_t len = copy.size();
      ASSERT_FALSE(in_.unprotectRtcp(copy.data(), len)) << "byte " << at << " bit " << bit;
      ASSERT_EQ(len, packet.size());
    }
  }
  ASSERT_TRUE(unprotectRtcp(in_, packet));
  EXPECT_EQ(packet, rtcp);
}

TEST_P(EvpSrtpFailureTest, ReplaysAreRefused) {
  std::mt19937 random(6);
  std::vector<Bytes> packets;
  for (uint16_t seq = 100; seq < 1300; ++seq) {
    packets.push_back(randomRtp(random, 9, seq));
    ASSERT_TRUE(protectRtp(out_, packets.back()));
  }
  // In order but skipping packets 0 and 150: each is accepted once, then refused.
  for (size_t i = 1; i < packets.size(); ++i) {
    if (i == 150) continue;
    Bytes a = packets[i], b = packets[i];
    ASSERT_TRUE(unprotectRtp(in_, a)) << i;
    ASSERT_FALSE(unprotectRtp(in_, b)) << i;
  }
  Bytes late = packets[150];  // 1,049 behind the newest: outside the 1024-packet window.
  EXPECT_FALSE(unprotectRtp(in_, late));
  late = packets[0];
  EXPECT_FALSE(unprotectRtp(in_, late));
  Bytes recent = packets[packets.size() - 1];
  EXPECT_FALSE(unprotectRtp(in_, recent));

  // SRTCP: the same packet twice.
  const Bytes rtcp = randomRtcp(random, 77);
  Bytes a = rtcp;
  ASSERT_TRUE(protectRtcp(out_, a));
  Bytes b = a;
  ASSERT_TRUE(unprotectRtcp(in_, a));
  EXPECT_FALSE(unprotectRtcp(in_, b));
}

// A packet late by less than the window is accepted once, even from before a sequence wrap;
// later than the window, it is refused.
TEST_P(EvpSrtpFailureTest, LatePacketsInsideTheWindowAreAccepted) {
  std::mt19937 random(8);
  std::vector<Bytes> packets;  // Sequence 65500 + i: the wrap is between 35 and 36.
  for (int i = 0; i < 1100; ++i) {
    packets.push_back(randomRtp(random, 10, static_cast<uint16_t>(65500 + i)));
    ASSERT_TRUE(protectRtp(out_, packets.back()));
  }
  auto deliver = [&](size_t i) {
    Bytes p = packets[i];
    return unprotectRtp(in_, p);
  };
  for (size_t i = 0; i <= 1000; ++i) {
    if (i != 20 && i != 30 && i != 200) {
      ASSERT_TRUE(deliver(i)) << i;
    }
  }
  EXPECT_TRUE(deliver(30));  // 970 behind, before the wrap: the receiver takes ROC - 1.
  EXPECT_FALSE(deliver(30));
  for (size_t i = 1001; i < packets.size(); ++i) ASSERT_TRUE(deliver(i)) << i;
  EXPECT_TRUE(deliver(200));  // 899 behind.
  EXPECT_FALSE(deliver(200));
  EXPECT_FALSE(deliver(20));  // 1,079 behind: outside the 1024-packet window.
  EXPECT_FALSE(deliver(30));
}

// Short, truncated and random input: false, no crash, no change to len, the session still works.
TEST_P(EvpSrtpFailureTest, ShortAndGarbageInputIsRefused) {
  std::mt19937 random(12);
  Bytes valid = randomRtp(random, 5, 5);
  const Bytes plain = valid;
  ASSERT_TRUE(protectRtp(out_, valid));
  for (size_t len = 0; len < valid.size(); ++len) {  // Every truncation.
    Bytes copy(valid.begin(), valid.begin() + len);
    copy.resize(std::max<size_t>(len, 1));
    size_t n = len;
    EXPECT_FALSE(in_.unprotectRtp(copy.data(), n)) << len;
    EXPECT_EQ(n, len);
    n = len;
    EXPECT_FALSE(in_.unprotectRtcp(copy.data(), n)) << len;
  }
  for (int i = 0; i < 20000; ++i) {
    Bytes buf(1 + random() % 400);
    for (uint8_t& b : buf) b = static_cast<uint8_t>(random());
    if (i % 2 == 0) buf[0] = static_cast<uint8_t>(0x80 | (buf[0] & 0x3F));
    const size_t len = buf.size() - random() % 2;  // Sometimes a byte of slack.
    size_t n = len;
    EXPECT_FALSE(in_.unprotectRtp(buf.data(), n));
    EXPECT_EQ(n, len);
    n = len;
    EXPECT_FALSE(in_.unprotectRtcp(buf.data(), n));
    EXPECT_EQ(n, len);
  }
  size_t zero = 0;
  EXPECT_FALSE(in_.unprotectRtp(nullptr, zero));
  EXPECT_FALSE(in_.unprotectRtcp(nullptr, zero));
  EXPECT_FALSE(out_.protectRtp(nullptr, zero, 100));
  EXPECT_FALSE(out_.protectRtcp(nullptr, zero, 100));

  // Headers that do not fit their own length: CSRC count, extension length, version.
  Bytes bad(200, 0);
  bad[0] = 0x8F;  // 15 CSRCs: 72 bytes of header.
  size_t n = 70;
  EXPECT_FALSE(out_.protectRtp(bad.data(), n, bad.size()));
  bad[0] = 0x90;  // Extension of 0xFFFF words.
  bad[14] = bad[15] = 0xFF;
  n = 100;
  EXPECT_FALSE(out_.protectRtp(bad.data(), n, bad.size()));
  bad[0] = 0x40;  // Version 1.
  n = 100;
  EXPECT_FALSE(out_.protectRtp(bad.data(), n, bad.size()));
  EXPECT_FALSE(out_.protectRtcp(bad.data(), n, bad.size()));
  n = 7;
  bad[0] = 0x80;
  EXPECT_FALSE(out_.protectRtcp(bad.data(), n, bad.size()));

  ASSERT_TRUE(unprotectRtp(in_, valid));  // Garbage left the session usable.
  EXPECT_EQ(valid, plain);
}

TEST_P(EvpSrtpFailureTest, CapacityAndDirection) {
  std::mt19937 random(13);
  Bytes p = randomRtp(random, 6, 6);
  size_t len = p.size();
  p.resize(len + out_.rtpOverhead());
  size_t n = len;
  EXPECT_FALSE(out_.protectRtp(p.data(), n, p.size() - 1));
  EXPECT_EQ(n, len);
  EXPECT_FALSE(out_.protectRtp(p.data(), n, len - 1));
  EXPECT_FALSE(in_.protectRtp(p.data(), n, p.size()));
  EXPECT_TRUE(out_.protectRtp(p.data(), n, p.size()));
  EXPECT_EQ(n, p.size());
  EXPECT_FALSE(out_.unprotectRtp(p.data(), n));

  Bytes r = randomRtcp(random, 6);
  len = r.size();
  r.resize(len + out_.rtcpOverhead());
  n = len;
  EXPECT_FALSE(out_.protectRtcp(r.data(), n, r.size() - 1));
  EXPECT_FALSE(in_.protectRtcp(r.data(), n, r.size()));
  EXPECT_TRUE(out_.protectRtcp(r.data(), n, r.size()));
  EXPECT_FALSE(out_.unprotectRtcp(r.data(), n));
  EXPECT_FALSE(in_.setNextRtcpIndex(1, 1));
  EXPECT_FALSE(out_.setNextRtcpIndex(1, 0x80000000));
}

// The SRTCP index is 31 bits: after 2^31 - 1 the sender must stop (a new DTLS handshake rekeys).
TEST_P(EvpSrtpFailureTest, SrtcpIndexExhaustionStopsTheSender) {
  std::mt19937 random(14);
  ASSERT_TRUE(out_.setNextRtcpIndex(8, 0x7FFFFFFF));
  Bytes r = randomRtcp(random, 8);
  const Bytes plain = r;
  ASSERT_TRUE(protectRtcp(out_, r));
  ASSERT_TRUE(unprotectRtcp(in_, r));
  EXPECT_EQ(r, plain);
  r = plain;
  EXPECT_FALSE(protectRtcp(out_, r));
}

TEST_P(EvpSrtpFailureTest, BadKeysAndOptionsThrow) {
  const Bytes shortKey(key_.size() - 1, 1);
  EXPECT_THROW(EvpSrtp(Direction::Inbound, GetParam(), shortKey.data(), shortKey.size()), std::invalid_argument);
  EXPECT_THROW(EvpSrtp(Direction::Inbound, GetParam(), nullptr, key_.size()), std::invalid_argument);
  EvpSrtp::Options options;
  options.rtpReplayWindow = 1000;
  EXPECT_THROW(EvpSrtp(Direction::Inbound, GetParam(), key_.data(), key_.size(), options), std::invalid_argument);
  options.rtpReplayWindow = 32;
  EXPECT_THROW(EvpSrtp(Direction::Inbound, GetParam(), key_.data(), key_.size(), options), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(SrtpProfiles, EvpSrtpFailureTest,
                         ::testing::Values(SrtpProfile::AesCm128HmacSha1_80, SrtpProfile::AeadAes128Gcm), profileName);

}  // namespace
}  // namespace liveroom::media

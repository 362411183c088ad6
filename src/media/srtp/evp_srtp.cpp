// EvpSrtp: SRTP/SRTCP packet transforms on OpenSSL. AES-CTR and AES-GCM through EVP cipher
// contexts keyed once per session (a packet only sets the IV); HMAC-SHA1 from inner and outer
// SHA-1 states precomputed once per session and copied per packet.
//
// Why not EVP_MAC or HMAC_CTX for the HMAC: on OpenSSL 3.0 both re-initialise by duplicating the
// provider's digest context, two mallocs per packet (counted with CRYPTO_set_mem_functions), and
// take 830 and 785 ns for 1,216 bytes where the SHA_CTX midstates take 702 (EPYC, 3.0.19).
// SHA_CTX is a plain struct, so restoring a midstate is a memcpy.
// SHA1_Init/Update/Final are deprecated since 3.0 but still built (the same SHA-NI code as the
// provider's); if a future OpenSSL drops them, EVP_MAC_init(ctx, nullptr, 0, nullptr) per packet
// is the replacement.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "media/srtp/evp_srtp.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>

namespace liveroom::media {
namespace {

constexpr size_t kRtpHeaderSize = 12;
constexpr size_t kRtcpHeaderSize = 8;  // Header and sender SSRC: never encrypted.
constexpr size_t kCmTagLength = 10;    // HMAC-SHA1 truncated to 80 bits.
constexpr size_t kGcmTagLength = 16;
constexpr size_t kIndexWordLength = 4;  // SRTCP E flag || 31-bit index.
constexpr size_t kMaxLength = INT_MAX / 2;
constexpr uint64_t kMaxRtpIndex = (uint64_t{1} << 48) - 1;
constexpr uint32_t kMaxRtcpIndex = 0x7FFFFFFF;
constexpr uint32_t kEncryptedFlag = 0x80000000;
constexpr size_t kMaxStreams = 512;  // SSRCs per session; more is not a WebRTC peer.

enum Label : uint8_t {
  kRtpEncryption = 0,
  kRtpAuth = 1,
  kRtpSalt = 2,
  kRtcpEncryption = 3,
  kRtcpAuth = 4,
  kRtcpSalt = 5
};

uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t read32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
void write32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
// XORs the low `bytes` bytes of v, big-endian, into p[0..bytes).
void xorBigEndian(uint8_t* p, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) p[bytes - 1 - i] ^= static_cast<uint8_t>(v >> (8 * i));
}

// The RTP header length (fixed part, CSRCs, extension) if it fits in len bytes of a version-2 packet.
bool rtpHeaderLength(const uint8_t* buf, size_t len, size_t& headerLength) {
  if (len < kRtpHeaderSize || (buf[0] >> 6) != 2) return false;
  size_t h = kRtpHeaderSize + 4 * size_t{buf[0] & 0x0Fu};
  if ((buf[0] & 0x10) != 0) {
    if (h + 4 > len) return false;
    h += 4 + 4 * size_t{read16(buf + h + 2)};
  }
  if (h > len) return false;
  headerLength = h;
  return true;
}

// RFC 3711 §3.3.1: the packet index of seq given the highest index seen so far (appendix A).
// The first packet of a stream has ROC 0, as in libsrtp. Can return more than kMaxRtpIndex.
uint64_t estimateIndex(bool started, uint64_t highest, uint16_t seq) {
  if (!started) return seq;
  uint64_t roc = highest >> 16;
  const uint16_t sl = static_cast<uint16_t>(highest);
  if (sl < 0x8000) {
    if (seq > sl && seq - sl > 0x8000 && roc > 0) --roc;
  } else if (seq < sl - 0x8000) {
    ++roc;
  }
  return roc << 16 | seq;
}

// AES-CM IV (RFC 3711 §4.1.1): (salt << 16) XOR (SSRC << 64) XOR (index << 16).
void cmIv(uint8_t iv[16], const uint8_t salt[14], uint32_t ssrc, uint64_t index) {
  std::memcpy(iv, salt, 14);
  iv[14] = iv[15] = 0;
  xorBigEndian(iv + 4, ssrc, 4);
  xorBigEndian(iv + 8, index, 6);
}

// GCM IVs (RFC 7714 §8.1, §9.1): salt XOR (00 00 || SSRC || ROC || SEQ) for RTP and
// salt XOR (00 00 || SSRC || 00 00 || 0 || index) for RTCP; both are SSRC || 48-bit value.
void gcmIv(uint8_t iv[12], const uint8_t salt[14], uint32_t ssrc, uint64_t index) {
  std::memcpy(iv, salt, 12);
  xorBigEndian(iv + 2, ssrc, 4);
  xorBigEndian(iv + 6, index, 6);
}

}  // namespace

struct EvpSrtp::Crypto {
  EVP_CIPHER_CTX* rtp = nullptr;
  EVP_CIPHER_CTX* rtcp = nullptr;
  SHA_CTX rtpInner{}, rtpOuter{}, rtcpInner{}, rtcpOuter{};
  uint8_t rtpSalt[14]{};
  uint8_t rtcpSalt[14]{};

  ~Crypto() {
    EVP_CIPHER_CTX_free(rtp);
    EVP_CIPHER_CTX_free(rtcp);
    OPENSSL_cleanse(&rtpInner, sizeof rtpInner);
    OPENSSL_cleanse(&rtpOuter, sizeof rtpOuter);
    OPENSSL_cleanse(&rtcpInner, sizeof rtcpInner);
    OPENSSL_cleanse(&rtcpOuter, sizeof rtcpOuter);
    OPENSSL_cleanse(rtpSalt, sizeof rtpSalt);
    OPENSSL_cleanse(rtcpSalt, sizeof rtcpSalt);
  }

  // HMAC (RFC 2104) with the key's padded blocks hashed once: per packet only the message and
  // the outer hash of the inner digest remain.
  static void hmacKey(SHA_CTX& inner, SHA_CTX& outer, const uint8_t* key, size_t keyLength) {
    uint8_t pad[SHA_CBLOCK];
    for (uint8_t padByte : {uint8_t{0x36}, uint8_t{0x5c}}) {
      std::memset(pad, padByte, sizeof pad);
      for (size_t i = 0; i < keyLength; ++i) pad[i] ^= key[i];
      SHA_CTX& ctx = padByte == 0x36 ? inner : outer;
      SHA1_Init(&ctx);
      SHA1_Update(&ctx, pad, sizeof pad);
    }
    OPENSSL_cleanse(pad, sizeof pad);
  }

  // The 80-bit tag of data || trailer (trailer may be empty): the ROC for SRTP, nothing for SRTCP
  // (its E||index word is part of data).
  static void hmacTag(const SHA_CTX& inner, const SHA_CTX& outer, const uint8_t* data, size_t length,
                      const uint8_t* trailer, size_t trailerLength, uint8_t tag[kCmTagLength]) {
    SHA_CTX ctx = inner;
    SHA1_Update(&ctx, data, length);
    if (trailerLength > 0) SHA1_Update(&ctx, trailer, trailerLength);
    uint8_t digest[SHA_DIGEST_LENGTH];
    SHA1_Final(digest, &ctx);
    ctx = outer;
    SHA1_Update(&ctx, digest, sizeof digest);
    SHA1_Final(digest, &ctx);
    std::memcpy(tag, digest, kCmTagLength);
  }

  // Counter mode in place (encrypt and decrypt are the same).
  static bool ctr(EVP_CIPHER_CTX* ctx, const uint8_t iv[16], uint8_t* data, size_t length) {
    int outLength = 0;
    if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) != 1) return false;
    return length == 0 || EVP_EncryptUpdate(ctx, data, &outLength, data, static_cast<int>(length)) == 1;
  }

  // GCM encryption in place of data, authenticating aad1 || aad2 || data; writes the 16-byte tag.
  static bool gcmSeal(EVP_CIPHER_CTX* ctx, const uint8_t iv[12], const uint8_t* aad1, size_t aad1Length,
                      const uint8_t* aad2, size_t aad2Length, uint8_t* data, size_t length, uint8_t* tag) {
    int outLength = 0;
    uint8_t none[16];
    return EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) == 1 &&
           (aad1Length == 0 || EVP_EncryptUpdate(ctx, nullptr, &outLength, aad1, static_cast<int>(aad1Length)) == 1) &&
           (aad2Length == 0 || EVP_EncryptUpdate(ctx, nullptr, &outLength, aad2, static_cast<int>(aad2Length)) == 1) &&
           (length == 0 || EVP_EncryptUpdate(ctx, data, &outLength, data, static_cast<int>(length)) == 1) &&
           EVP_EncryptFinal_ex(ctx, none, &outLength) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kGcmTagLength, tag) == 1;
  }

  // GCM decryption in place; true only if the tag matches.
  static bool gcmOpen(EVP_CIPHER_CTX* ctx, const uint8_t iv[12], const uint8_t* aad1, size_t aad1Length,
                      const uint8_t* aad2, size_t aad2Length, uint8_t* data, size_t length, const uint8_t* tag) {
    int outLength = 0;
    uint8_t none[16];
    uint8_t expected[kGcmTagLength];
    std::memcpy(expected, tag, sizeof expected);  // ctrl wants a non-const pointer.
    return EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) == 1 &&
           (aad1Length == 0 || EVP_DecryptUpdate(ctx, nullptr, &outLength, aad1, static_cast<int>(aad1Length)) == 1) &&
           (aad2Length == 0 || EVP_DecryptUpdate(ctx, nullptr, &outLength, aad2, static_cast<int>(aad2Length)) == 1) &&
           (length == 0 || EVP_DecryptUpdate(ctx, data, &outLength, data, static_cast<int>(length)) == 1) &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kGcmTagLength, expected) == 1 &&
           EVP_DecryptFinal_ex(ctx, none, &outLength) > 0;
  }
};

EvpSrtp::SessionKeys::~SessionKeys() {
  OPENSSL_cleanse(rtpKey.data(), rtpKey.size());
  OPENSSL_cleanse(rtpAuthKey.data(), rtpAuthKey.size());
  OPENSSL_cleanse(rtpSalt.data(), rtpSalt.size());
  OPENSSL_cleanse(rtcpKey.data(), rtcpKey.size());
  OPENSSL_cleanse(rtcpAuthKey.data(), rtcpAuthKey.size());
  OPENSSL_cleanse(rtcpSalt.data(), rtcpSalt.size());
}

bool EvpSrtp::ReplayWindow::check(uint64_t index) const noexcept {
  if (!started_ || index > highest_) return true;
  if (bits_.empty() || highest_ - index > mask_) return false;  // Older than the window.
  return !bit(index);
}

void EvpSrtp::ReplayWindow::accept(uint64_t index) noexcept {
  if (!started_ || index > highest_) {
    if (!bits_.empty()) {
      if (!started_ || index - highest_ > mask_) {
        std::fill(bits_.begin(), bits_.end(), uint64_t{0});
      } else {
        // The ring positions the window slides over held indices a window-length older.
        for (uint64_t i = highest_ + 1; i < index; ++i) clearBit(i);
      }
    }
    started_ = true;
    highest_ = index;
  }
  if (!bits_.empty()) setBit(index);
}

bool EvpSrtp::deriveKey(const uint8_t* masterKey, size_t masterKeyLength, const uint8_t* masterSalt,
                        size_t masterSaltLength, uint8_t label, uint8_t* out, size_t outLength) {
  if (masterKey == nullptr || masterKeyLength != 16 || masterSalt == nullptr ||
      (masterSaltLength != 14 && masterSaltLength != 12) || (out == nullptr && outLength > 0) ||
      outLength > kMaxLength) {
    return false;
  }
  // x = key_id XOR master_salt, key_id = label || r (r = 0 at rate 0) in the salt's low 56 bits.
  uint8_t iv[16] = {};
  std::memcpy(iv, masterSalt, masterSaltLength);
  iv[7] ^= label;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  bool ok = ctx != nullptr && EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, masterKey, iv) == 1;
  if (ok) {
    std::memset(out, 0, outLength);
    ok = Crypto::ctr(ctx, iv, out, outLength);
  }
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

EvpSrtp::SessionKeys EvpSrtp::deriveSessionKeys(SrtpProfile profile, const uint8_t* keyAndSalt,
                                                size_t keyAndSaltLength) {
  const size_t keyLength = srtpMasterKeyLength(profile);
  const size_t saltLength = srtpMasterSaltLength(profile);
  if (keyAndSalt == nullptr || keyLength == 0 || keyAndSaltLength != keyLength + saltLength) {
    throw std::invalid_argument(std::string("SRTP key||salt for ") + toString(profile) + " must be " +
                                std::to_string(keyLength + saltLength) + " bytes");
  }
  const uint8_t* key = keyAndSalt;
  const uint8_t* salt = keyAndSalt + keyLength;
  SessionKeys keys;
  const bool cm = profile == SrtpProfile::AesCm128HmacSha1_80;
  bool ok = deriveKey(key, keyLength, salt, saltLength, kRtpEncryption, keys.rtpKey.data(), keys.rtpKey.size()) &&
            deriveKey(key, keyLength, salt, saltLength, kRtpSalt, keys.rtpSalt.data(), keys.rtpSalt.size()) &&
            deriveKey(key, keyLength, salt, saltLength, kRtcpEncryption, keys.rtcpKey.data(), keys.rtcpKey.size()) &&
            deriveKey(key, keyLength, salt, saltLength, kRtcpSalt, keys.rtcpSalt.data(), keys.rtcpSalt.size());
  if (ok && cm) {
    ok = deriveKey(key, keyLength, salt, saltLength, kRtpAuth, keys.rtpAuthKey.data(), keys.rtpAuthKey.size()) &&
         deriveKey(key, keyLength, salt, saltLength, kRtcpAuth, keys.rtcpAuthKey.data(), keys.rtcpAuthKey.size());
  }
  if (!ok) throw std::runtime_error("SRTP key derivation failed");
  return keys;
}

EvpSrtp::EvpSrtp(Direction direction, SrtpProfile profile, const uint8_t* keyAndSalt, size_t keyAndSaltLength)
    : EvpSrtp(direction, profile, keyAndSalt, keyAndSaltLength, Options{}) {}

EvpSrtp::EvpSrtp(Direction direction, SrtpProfile profile, const uint8_t* keyAndSalt, size_t keyAndSaltLength,
                 const Options& options)
    : EvpSrtp(direction, profile, deriveSessionKeys(profile, keyAndSalt, keyAndSaltLength), options) {}

EvpSrtp::EvpSrtp(Direction direction, SrtpProfile profile, const SessionKeys& keys, const Options& options)
    : direction_(direction),
      profile_(profile),
      options_(options),
      tagLength_(profile == SrtpProfile::AeadAes128Gcm ? kGcmTagLength : kCmTagLength),
      crypto_(std::make_unique<Crypto>()) {
  auto powerOfTwo = [](size_t n) { return n >= 64 && (n & (n - 1)) == 0; };
  if (!powerOfTwo(options_.rtpReplayWindow) || !powerOfTwo(options_.rtcpReplayWindow)) {
    throw std::invalid_argument("SRTP replay windows must be powers of two, at least 64");
  }
  if (profile != SrtpProfile::AesCm128HmacSha1_80 && profile != SrtpProfile::AeadAes128Gcm) {
    throw std::invalid_argument("unsupported SRTP profile");
  }
  Crypto& c = *crypto_;
  c.rtp = EVP_CIPHER_CTX_new();
  c.rtcp = EVP_CIPHER_CTX_new();
  bool ok = c.rtp != nullptr && c.rtcp != nullptr;
  if (profile == SrtpProfile::AesCm128HmacSha1_80) {
    const uint8_t zeroIv[16] = {};
    ok = ok && EVP_EncryptInit_ex(c.rtp, EVP_aes_128_ctr(), nullptr, keys.rtpKey.data(), zeroIv) == 1 &&
         EVP_EncryptInit_ex(c.rtcp, EVP_aes_128_ctr(), nullptr, keys.rtcpKey.data(), zeroIv) == 1;
    Crypto::hmacKey(c.rtpInner, c.rtpOuter, keys.rtpAuthKey.data(), keys.rtpAuthKey.size());
    Crypto::hmacKey(c.rtcpInner, c.rtcpOuter, keys.rtcpAuthKey.data(), keys.rtcpAuthKey.size());
  } else {
    // One direction only: encrypt contexts seal, decrypt contexts open (the IV is set per packet).
    const int encrypt = direction == Direction::Outbound ? 1 : 0;
    ok = ok && EVP_CipherInit_ex(c.rtp, EVP_aes_128_gcm(), nullptr, keys.rtpKey.data(), nullptr, encrypt) == 1 &&
         EVP_CipherInit_ex(c.rtcp, EVP_aes_128_gcm(), nullptr, keys.rtcpKey.data(), nullptr, encrypt) == 1;
  }
  std::memcpy(c.rtpSalt, keys.rtpSalt.data(), sizeof c.rtpSalt);
  std::memcpy(c.rtcpSalt, keys.rtcpSalt.data(), sizeof c.rtcpSalt);
  if (!ok) {
    throw std::runtime_error("SRTP: OpenSSL cipher set-up failed");
  }
}

EvpSrtp::~EvpSrtp() = default;

EvpSrtp::RtpStream* EvpSrtp::findRtp(uint32_t ssrc) noexcept {
  if (lastRtp_ < rtpStreams_.size() && rtpStreams_[lastRtp_].ssrc == ssrc) return &rtpStreams_[lastRtp_];
  for (size_t i = 0; i < rtpStreams_.size(); ++i) {
    if (rtpStreams_[i].ssrc == ssrc) {
      lastRtp_ = i;
      return &rtpStreams_[i];
    }
  }
  return nullptr;
}

EvpSrtp::RtcpStream* EvpSrtp::findRtcp(uint32_t ssrc) noexcept {
  for (RtcpStream& stream : rtcpStreams_) {
    if (stream.ssrc == ssrc) return &stream;
  }
  return nullptr;
}

EvpSrtp::RtpStream& EvpSrtp::addRtp(uint32_t ssrc) {
  rtpStreams_.push_back(RtpStream{ssrc, ReplayWindow(direction_ == Direction::Inbound ? options_.rtpReplayWindow : 0)});
  lastRtp_ = rtpStreams_.size() - 1;
  return rtpStreams_.back();
}

EvpSrtp::RtcpStream& EvpSrtp::addRtcp(uint32_t ssrc) {
  rtcpStreams_.push_back(
      RtcpStream{ssrc, 0, ReplayWindow(direction_ == Direction::Inbound ? options_.rtcpReplayWindow : 0)});
  return rtcpStreams_.back();
}

bool EvpSrtp::setNextRtcpIndex(uint32_t ssrc, uint32_t index) {
  if (direction_ != Direction::Outbound || index > kMaxRtcpIndex) return false;
  RtcpStream* stream = findRtcp(ssrc);
  if (stream == nullptr) {
    if (rtcpStreams_.size() >= kMaxStreams) return false;
    stream = &addRtcp(ssrc);
  }
  stream->nextIndex = index;
  return true;
}

bool EvpSrtp::protectRtp(uint8_t* buf, size_t& len, size_t capacity) {
  size_t headerLength = 0;
  if (direction_ != Direction::Outbound || buf == nullptr || len > kMaxLength || capacity < len ||
      capacity - len < tagLength_ || !rtpHeaderLength(buf, len, headerLength)) {
    return false;
  }
  const uint32_t ssrc = read32(buf + 8);
  RtpStream* stream = findRtp(ssrc);
  if (stream == nullptr) {
    if (rtpStreams_.size() >= kMaxStreams) return false;
    stream = &addRtp(ssrc);
  }
  // Retransmissions (NACK) re-send an older sequence number: its index is estimated the same way
  // and encrypted under the same keystream as the first time, so no replay check on the way out.
  const uint64_t index = estimateIndex(stream->window.started(), stream->window.highest(), read16(buf + 2));
  if (index > kMaxRtpIndex) return false;  // ROC exhausted: the keys must be renegotiated.
  Crypto& c = *crypto_;
  uint8_t* payload = buf + headerLength;
  const size_t payloadLength = len - headerLength;
  if (profile_ == SrtpProfile::AeadAes128Gcm) {
    uint8_t iv[12];
    gcmIv(iv, c.rtpSalt, ssrc, index);
    if (!Crypto::gcmSeal(c.rtp, iv, buf, headerLength, nullptr, 0, payload, payloadLength, buf + len)) return false;
  } else {
    uint8_t iv[16];
    cmIv(iv, c.rtpSalt, ssrc, index);
    if (!Crypto::ctr(c.rtp, iv, payload, payloadLength)) return false;
    uint8_t roc[4];
    write32(roc, static_cast<uint32_t>(index >> 16));
    Crypto::hmacTag(c.rtpInner, c.rtpOuter, buf, len, roc, sizeof roc, buf + len);
  }
  stream->window.accept(index);
  len += tagLength_;
  return true;
}

bool EvpSrtp::unprotectRtp(uint8_t* buf, size_t& len) {
  size_t headerLength = 0;
  if (direction_ != Direction::Inbound || buf == nullptr || len > kMaxLength || len < kRtpHeaderSize + tagLength_ ||
      !rtpHeaderLength(buf, len - tagLength_, headerLength)) {
    return false;
  }
  const uint32_t ssrc = read32(buf + 8);
  RtpStream* stream = findRtp(ssrc);
  const bool started = stream != nullptr && stream->window.started();
  const uint64_t index = estimateIndex(started, started ? stream->window.highest() : 0, read16(buf + 2));
  if (index > kMaxRtpIndex || (started && !stream->window.check(index))) return false;
  Crypto& c = *crypto_;
  const size_t protectedLength = len - tagLength_;  // Header and encrypted payload.
  uint8_t* payload = buf + headerLength;
  const size_t payloadLength = protectedLength - headerLength;
  if (profile_ == SrtpProfile::AeadAes128Gcm) {
    uint8_t iv[12];
    gcmIv(iv, c.rtpSalt, ssrc, index);
    if (!Crypto::gcmOpen(c.rtp, iv, buf, headerLength, nullptr, 0, payload, payloadLength, buf + protectedLength)) {
      return false;
    }
  } else {
    uint8_t roc[4];
    write32(roc, static_cast<uint32_t>(index >> 16));
    uint8_t tag[kCmTagLength];
    Crypto::hmacTag(c.rtpInner, c.rtpOuter, buf, protectedLength, roc, sizeof roc, tag);
    if (CRYPTO_memcmp(tag, buf + protectedLength, kCmTagLength) != 0) return false;
    uint8_t iv[16];
    cmIv(iv, c.rtpSalt, ssrc, index);
    if (!Crypto::ctr(c.rtp, iv, payload, payloadLength)) return false;
  }
  if (stream == nullptr) {
    // A new SSRC is only remembered once it authenticated.
    if (rtpStreams_.size() >= kMaxStreams) return false;
    stream = &addRtp(ssrc);
  }
  stream->window.accept(index);
  len = protectedLength;
  return true;
}

bool EvpSrtp::protectRtcp(uint8_t* buf, size_t& len, size_t capacity) {
  if (direction_ != Direction::Outbound || buf == nullptr || len < kRtcpHeaderSize || len > kMaxLength ||
      capacity < len || capacity - len < rtcpOverhead() || (buf[0] >> 6) != 2) {
    return false;
  }
  const uint32_t ssrc = read32(buf + 4);
  RtcpStream* stream = findRtcp(ssrc);
  if (stream == nullptr) {
    if (rtcpStreams_.size() >= kMaxStreams) return false;
    stream = &addRtcp(ssrc);
  }
  const uint32_t index = stream->nextIndex;
  if (index > kMaxRtcpIndex) return false;  // 2^31 packets sent: the keys must be renegotiated.
  const bool encrypt = options_.encryptRtcp;
  uint8_t word[kIndexWordLength];
  write32(word, (encrypt ? kEncryptedFlag : 0) | index);
  Crypto& c = *crypto_;
  if (profile_ == SrtpProfile::AeadAes128Gcm) {
    // header || ciphertext || tag || E+index; AAD = header || E+index (RFC 7714 §9, §17).
    uint8_t iv[12];
    gcmIv(iv, c.rtcpSalt, ssrc, index);
    const bool ok = encrypt ? Crypto::gcmSeal(c.rtcp, iv, buf, kRtcpHeaderSize, word, sizeof word,
                                              buf + kRtcpHeaderSize, len - kRtcpHeaderSize, buf + len)
                            : Crypto::gcmSeal(c.rtcp, iv, buf, len, word, sizeof word, nullptr, 0, buf + len);
    if (!ok) return false;
    std::memcpy(buf + len + kGcmTagLength, word, sizeof word);
  } else {
    // header || ciphertext || E+index || tag, the tag over everything before it (RFC 3711 §3.4).
    if (encrypt) {
      uint8_t iv[16];
      cmIv(iv, c.rtcpSalt, ssrc, index);
      if (!Crypto::ctr(c.rtcp, iv, buf + kRtcpHeaderSize, len - kRtcpHeaderSize)) return false;
    }
    std::memcpy(buf + len, word, sizeof word);
    Crypto::hmacTag(c.rtcpInner, c.rtcpOuter, buf, len + sizeof word, nullptr, 0, buf + len + sizeof word);
  }
  stream->nextIndex = index + 1;
  len += rtcpOverhead();
  return true;
}

bool EvpSrtp::unprotectRtcp(uint8_t* buf, size_t& len) {
  if (direction_ != Direction::Inbound || buf == nullptr || len > kMaxLength ||
      len < kRtcpHeaderSize + rtcpOverhead() || (buf[0] >> 6) != 2) {
    return false;
  }
  const bool gcm = profile_ == SrtpProfile::AeadAes128Gcm;
  // Where the E+index word is: last for GCM, before the tag for AES-CM.
  const size_t wordAt = gcm ? len - kIndexWordLength : len - kCmTagLength - kIndexWordLength;
  const uint32_t word = read32(buf + wordAt);
  const bool encrypted = (word & kEncryptedFlag) != 0;
  const uint32_t index = word & kMaxRtcpIndex;
  const uint32_t ssrc = read32(buf + 4);
  RtcpStream* stream = findRtcp(ssrc);
  if (stream != nullptr && !stream->window.check(index)) return false;
  const size_t plainLength = len - rtcpOverhead();
  Crypto& c = *crypto_;
  if (gcm) {
    uint8_t iv[12];
    gcmIv(iv, c.rtcpSalt, ssrc, index);
    const uint8_t* tag = buf + plainLength;
    const bool ok =
        encrypted ? Crypto::gcmOpen(c.rtcp, iv, buf, kRtcpHeaderSize, buf + wordAt, kIndexWordLength,
                                    buf + kRtcpHeaderSize, plainLength - kRtcpHeaderSize, tag)
                  : Crypto::gcmOpen(c.rtcp, iv, buf, plainLength, buf + wordAt, kIndexWordLength, nullptr, 0, tag);
    if (!ok) return false;
  } else {
    uint8_t tag[kCmTagLength];
    Crypto::hmacTag(c.rtcpInner, c.rtcpOuter, buf, len - kCmTagLength, nullptr, 0, tag);
    if (CRYPTO_memcmp(tag, buf + len - kCmTagLength, kCmTagLength) != 0) return false;
    if (encrypted) {
      uint8_t iv[16];
      cmIv(iv, c.rtcpSalt, ssrc, index);
      if (!Crypto::ctr(c.rtcp, iv, buf + kRtcpHeaderSize, plainLength - kRtcpHeaderSize)) return false;
    }
  }
  if (stream == nullptr) {
    if (rtcpStreams_.size() >= kMaxStreams) return false;
    stream = &addRtcp(ssrc);
  }
  stream->window.accept(index);
  len = plainLength;
  return true;
}

}  // namespace liveroom::media

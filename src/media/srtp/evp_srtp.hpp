// SRTP and SRTCP (RFC 3711, RFC 7714) on OpenSSL's EVP ciphers: one direction of one DTLS-SRTP
// association, every SSRC of it, in place and without allocating per packet (only the first
// packet of a new SSRC allocates its stream state). Written because Debian's libsrtp2 is built
// on NSS, where every protect is a locked PK11 call; see bench/srtp/srtp_bench.cpp for the figures.
//
// Profiles: AES_CM_128_HMAC_SHA1_80 (AES-128 counter mode, HMAC-SHA1 tag truncated to 80 bits,
// 10 bytes after RTP, E||index word then 10 bytes after RTCP) and AEAD_AES_128_GCM (AES-128-GCM,
// the RTP header as AAD, 16-byte tag; SRTCP puts the E||index word after the tag).
// Session keys come from the master key and salt through the AES-CM PRF of RFC 3711 §4.3.3
// (key derivation rate 0), labels 0..5.
#pragma once

#include "media/srtp/srtp_profile.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace liveroom::media {

class EvpSrtp {
 public:
  enum class Direction { Inbound, Outbound };

  // The session keys of one direction, as the PRF derives them (RFC 3711 §4.3). A GCM profile
  // uses the first 12 bytes of each salt and no auth keys. Wiped when destroyed.
  struct SessionKeys {
    ~SessionKeys();
    std::array<uint8_t, 16> rtpKey{};
    std::array<uint8_t, 20> rtpAuthKey{};
    std::array<uint8_t, 14> rtpSalt{};
    std::array<uint8_t, 16> rtcpKey{};
    std::array<uint8_t, 20> rtcpAuthKey{};
    std::array<uint8_t, 14> rtcpSalt{};
  };

  struct Options {
    // Inbound RTP replay window in packets (a power of two, at least 64). 1024 like the libsrtp
    // policy SrtpSession used: room for reordering and NACK retransmissions from a browser.
    size_t rtpReplayWindow = 1024;
    // Inbound SRTCP replay window (libsrtp's is 128).
    size_t rtcpReplayWindow = 128;
    // Outbound SRTCP: encrypt (E flag set). False sends authenticated-only SRTCP; inbound accepts
    // both whatever this says.
    bool encryptRtcp = true;
  };

  // The PRF of RFC 3711 §4.3.1/§4.3.3 with a key derivation rate of 0: AES-128 in counter mode
  // under the master key, IV = (master salt XOR label << 48) << 16; writes outLength keystream
  // bytes. masterSalt is 14 bytes (AES-CM) or 12 (GCM, zero-padded to 14 as RFC 7714 §11 does).
  // False on bad lengths or an OpenSSL failure.
  static bool deriveKey(const uint8_t* masterKey, size_t masterKeyLength, const uint8_t* masterSalt,
                        size_t masterSaltLength, uint8_t label, uint8_t* out, size_t outLength);
  // All six session keys for a profile from master key || master salt. Throws
  // std::invalid_argument on a wrong length, std::runtime_error if OpenSSL fails.
  static SessionKeys deriveSessionKeys(SrtpProfile profile, const uint8_t* keyAndSalt, size_t keyAndSaltLength);

  // keyAndSalt is master key || master salt for the profile (see SrtpKeys::keyAndSalt). Throws
  // std::invalid_argument on a wrong key length or bad options, std::runtime_error if OpenSSL fails.
  EvpSrtp(Direction direction, SrtpProfile profile, const uint8_t* keyAndSalt, size_t keyAndSaltLength);
  EvpSrtp(Direction direction, SrtpProfile profile, const uint8_t* keyAndSalt, size_t keyAndSaltLength,
          const Options& options);
  // From session keys directly (the RFC 7714 test vectors give those).
  EvpSrtp(Direction direction, SrtpProfile profile, const SessionKeys& keys, const Options& options);
  ~EvpSrtp();

  EvpSrtp(const EvpSrtp&) = delete;
  EvpSrtp& operator=(const EvpSrtp&) = delete;

  // In place: len is the packet length in, the protected/unprotected length out (unchanged on
  // failure). protect needs capacity - len >= rtpOverhead()/rtcpOverhead(). False on a malformed
  // packet, an authentication or replay failure, too little room, an exhausted index, or a call
  // in the wrong direction. A failed unprotect leaves len alone but, for GCM, may have decrypted
  // the payload bytes in place already (the tag is checked at the end): drop the packet.
  bool protectRtp(uint8_t* buf, size_t& len, size_t capacity);
  bool unprotectRtp(uint8_t* buf, size_t& len);
  bool protectRtcp(uint8_t* buf, size_t& len, size_t capacity);
  bool unprotectRtcp(uint8_t* buf, size_t& len);

  // Bytes protect adds: the tag for RTP; E||index word and tag for RTCP.
  size_t rtpOverhead() const noexcept { return tagLength_; }
  size_t rtcpOverhead() const noexcept { return tagLength_ + 4; }

  // Outbound only: the SRTCP index the next RTCP packet from ssrc will carry (RFC 3711 says they
  // start at 0). For test vectors that start mid-session. False if index >= 2^31.
  bool setNextRtcpIndex(uint32_t ssrc, uint32_t index);

  Direction direction() const noexcept { return direction_; }
  SrtpProfile profile() const noexcept { return profile_; }

 private:
  // Which indices of one SSRC were seen: the highest, and a ring of bits behind it (RFC 3711 §3.3.2).
  class ReplayWindow {
   public:
    explicit ReplayWindow(size_t size = 0) : bits_(size / 64, 0), mask_(size == 0 ? 0 : size - 1) {}
    bool started() const noexcept { return started_; }
    uint64_t highest() const noexcept { return highest_; }
    // Whether index may be accepted: new, or inside the window and not seen.
    bool check(uint64_t index) const noexcept;
    // Records index (after it authenticated). Windowless (size 0) just tracks the highest.
    void accept(uint64_t index) noexcept;

   private:
    bool bit(uint64_t index) const noexcept { return (bits_[(index & mask_) >> 6] >> (index & 63)) & 1; }
    void setBit(uint64_t index) noexcept { bits_[(index & mask_) >> 6] |= uint64_t{1} << (index & 63); }
    void clearBit(uint64_t index) noexcept { bits_[(index & mask_) >> 6] &= ~(uint64_t{1} << (index & 63)); }

    bool started_ = false;
    uint64_t highest_ = 0;
    std::vector<uint64_t> bits_;
    uint64_t mask_;
  };

  struct RtpStream {
    uint32_t ssrc;
    ReplayWindow window;  // highest() is the 48-bit index ROC << 16 | s_l.
  };
  struct RtcpStream {
    uint32_t ssrc;
    uint32_t nextIndex = 0;  // Outbound.
    ReplayWindow window;     // Inbound.
  };

  // The OpenSSL state: cipher contexts and HMAC midstates (opaque here).
  struct Crypto;

  RtpStream* findRtp(uint32_t ssrc) noexcept;
  RtcpStream* findRtcp(uint32_t ssrc) noexcept;
  RtpStream& addRtp(uint32_t ssrc);
  RtcpStream& addRtcp(uint32_t ssrc);

  Direction direction_;
  SrtpProfile profile_;
  Options options_;
  size_t tagLength_;
  std::unique_ptr<Crypto> crypto_;
  std::vector<RtpStream> rtpStreams_;
  std::vector<RtcpStream> rtcpStreams_;
  size_t lastRtp_ = 0;  // Index into rtpStreams_ of the last SSRC seen: most packets repeat it.
};

}  // namespace liveroom::media

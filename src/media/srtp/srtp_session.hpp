// One direction of one DTLS-SRTP association: protects what we send or unprotects what we
// receive, in place, without allocating per packet. Runs on EvpSrtp (OpenSSL); libsrtp2 stays in
// the tests as the reference it is checked against (tests/unit/media/srtp/evp_srtp_test.cpp).
#pragma once

#include "media/srtp/evp_srtp.hpp"
#include "media/srtp/srtp_profile.hpp"

#include <cstddef>
#include <cstdint>

namespace liveroom::media {

class SrtpSession {
 public:
  enum class Direction { Inbound, Outbound };

  // Room a caller must leave after an RTP/RTCP packet for protectRtp/protectRtcp to succeed.
  // (libsrtp2's SRTP_MAX_TRAILER_LEN, 16-byte tag + 128-byte MKI, from when this ran on libsrtp;
  // SRTCP adds the E flag and index word, RFC 3711 §3.4.) More than EvpSrtp needs (a 10- or
  // 16-byte tag, no MKI), kept so callers' buffers and the capacity contract stay as they were.
  static constexpr size_t kMaxRtpTrailer = 144;
  static constexpr size_t kMaxRtcpTrailer = kMaxRtpTrailer + 4;

  // keyAndSalt is master key || master salt for the profile (see SrtpKeys::keyAndSalt).
  // Throws std::invalid_argument on a wrong key length, std::runtime_error if OpenSSL fails.
  SrtpSession(Direction direction, SrtpProfile profile, const uint8_t* keyAndSalt, size_t keyAndSaltLength);
  SrtpSession(Direction direction, SrtpProfile profile, const SrtpKeys& keys);
  ~SrtpSession();

  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // In place: len is the packet length in, the protected/unprotected length out (unchanged on
  // failure). capacity is the size of the buffer behind buf. False on a malformed packet, an
  // authentication or replay failure, too little capacity, or a call in the wrong direction.
  // Inbound: a 1024-packet replay window per SSRC. Outbound: a retransmission (NACK) may be
  // protected again with its original sequence number.
  bool protectRtp(uint8_t* buf, size_t& len, size_t capacity);
  bool unprotectRtp(uint8_t* buf, size_t& len);
  bool protectRtcp(uint8_t* buf, size_t& len, size_t capacity);
  bool unprotectRtcp(uint8_t* buf, size_t& len);

  Direction direction() const noexcept { return direction_; }
  SrtpProfile profile() const noexcept { return profile_; }

 private:
  Direction direction_;
  SrtpProfile profile_;
  EvpSrtp srtp_;
};

}  // namespace liveroom::media

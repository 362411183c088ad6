// SrtpSession over libsrtp2: policy set-up from a negotiated profile, bounds checks in front of
// libsrtp (which trusts its caller with lengths and trailer room).
#include "media/srtp/srtp_session.hpp"

#include <srtp2/srtp.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace liveroom::media {
namespace {

constexpr size_t kRtpHeaderSize = 12;
constexpr size_t kRtcpHeaderSize = 8;  // Header plus sender SSRC: what SRTCP authenticates at least.
// Large enough for reordering and NACK-driven retransmissions from a browser, per RFC 3711 §3.3.2
// the minimum is 64.
constexpr unsigned long kReplayWindow = 1024;

void initLibSrtpOnce() {
  static std::once_flag once;
  static srtp_err_status_t status = srtp_err_status_ok;
  std::call_once(once, [] { status = srtp_init(); });
  if (status != srtp_err_status_ok) {
    throw std::runtime_error("srtp_init failed: " + std::to_string(status));
  }
}

// A packet libsrtp may look into: version 2 and at least a fixed header. libsrtp validates the
// CSRC/extension lengths itself, but rejecting the obvious garbage here keeps the error cheap.
bool looksLikeRtp(const uint8_t* buf, size_t len) {
  return len >= kRtpHeaderSize && len <= static_cast<size_t>(INT_MAX) / 2 && (buf[0] >> 6) == 2;
}

bool looksLikeRtcp(const uint8_t* buf, size_t len) {
  return len >= kRtcpHeaderSize && len <= static_cast<size_t>(INT_MAX) / 2 && (buf[0] >> 6) == 2;
}

}  // namespace

static_assert(SrtpSession::kMaxRtpTrailer == SRTP_MAX_TRAILER_LEN);

SrtpSession::SrtpSession(Direction direction, SrtpProfile profile, const SrtpKeys& keys)
    : SrtpSession(direction, profile, keys.keyAndSalt().data(), keys.key.size() + keys.salt.size()) {}

SrtpSession::SrtpSession(Direction direction, SrtpProfile profile, const uint8_t* keyAndSalt, size_t keyAndSaltLength)
    : direction_(direction), profile_(profile) {
  const size_t expected = srtpMasterKeyLength(profile) + srtpMasterSaltLength(profile);
  if (keyAndSalt == nullptr || keyAndSaltLength != expected) {
    throw std::invalid_argument(std::string("SRTP key||salt for ") + toString(profile) + " must be " +
                                std::to_string(expected) + " bytes");
  }
  initLibSrtpOnce();

  srtp_policy_t policy{};
  switch (profile) {
    case SrtpProfile::AesCm128HmacSha1_80:
      srtp_crypto_policy_set_rtp_default(&policy.rtp);
      srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
      break;
    case SrtpProfile::AeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
  }
  // One context serves every SSRC of the association: streams are created from this template
  // the first time an SSRC is seen (after it authenticates, for inbound).
  policy.ssrc.type = direction == Direction::Inbound ? ssrc_any_inbound : ssrc_any_outbound;
  policy.ssrc.value = 0;
  // libsrtp only reads the key while srtp_create expands it, so a copy on the stack suffices;
  // it wants a non-const pointer.
  std::vector<uint8_t> key(keyAndSalt, keyAndSalt + keyAndSaltLength);
  policy.key = key.data();
  policy.window_size = kReplayWindow;
  // NACK retransmissions re-send an RTP packet with the same sequence number.
  policy.allow_repeat_tx = 1;
  policy.next = nullptr;

  srtp_t session = nullptr;
  const srtp_err_status_t status = srtp_create(&session, &policy);
  std::fill(key.begin(), key.end(), uint8_t{0});
  if (status != srtp_err_status_ok) {
    throw std::runtime_error("srtp_create failed: " + std::to_string(status));
  }
  session_ = session;
}

SrtpSession::~SrtpSession() {
  if (session_ != nullptr) {
    srtp_dealloc(session_);
  }
}

bool SrtpSession::protectRtp(uint8_t* buf, size_t& len, size_t capacity) {
  if (direction_ != Direction::Outbound || buf == nullptr || !looksLikeRtp(buf, len) || capacity < len ||
      capacity - len < kMaxRtpTrailer) {
    return false;
  }
  int length = static_cast<int>(len);
  if (srtp_protect(session_, buf, &length) != srtp_err_status_ok) {
    return false;
  }
  len = static_cast<size_t>(length);
  return true;
}

bool SrtpSession::unprotectRtp(uint8_t* buf, size_t& len) {
  if (direction_ != Direction::Inbound || buf == nullptr || !looksLikeRtp(buf, len)) {
    return false;
  }
  int length = static_cast<int>(len);
  if (srtp_unprotect(session_, buf, &length) != srtp_err_status_ok) {
    return false;
  }
  len = static_cast<size_t>(length);
  return true;
}

bool SrtpSession::protectRtcp(uint8_t* buf, size_t& len, size_t capacity) {
  if (direction_ != Direction::Outbound || buf == nullptr || !looksLikeRtcp(buf, len) || capacity < len ||
      capacity - len < kMaxRtcpTrailer) {
    return false;
  }
  int length = static_cast<int>(len);
  if (srtp_protect_rtcp(session_, buf, &length) != srtp_err_status_ok) {
    return false;
  }
  len = static_cast<size_t>(length);
  return true;
}

bool SrtpSession::unprotectRtcp(uint8_t* buf, size_t& len) {
  if (direction_ != Direction::Inbound || buf == nullptr || !looksLikeRtcp(buf, len)) {
    return false;
  }
  int length = static_cast<int>(len);
  if (srtp_unprotect_rtcp(session_, buf, &length) != srtp_err_status_ok) {
    return false;
  }
  len = static_cast<size_t>(length);
  return true;
}

}  // namespace liveroom::media

// SrtpSession over EvpSrtp: the direction and the bounds (trailer room, lengths) checked in front
// of it, as they were in front of libsrtp.
#include "media/srtp/srtp_session.hpp"

#include <openssl/crypto.h>

#include <climits>
#include <stdexcept>
#include <string>
#include <vector>

namespace liveroom::media {
namespace {

constexpr size_t kRtpHeaderSize = 12;
constexpr size_t kRtcpHeaderSize = 8;  // Header plus sender SSRC: what SRTCP authenticates at least.

EvpSrtp::Direction evpDirection(SrtpSession::Direction direction) {
  return direction == SrtpSession::Direction::Inbound ? EvpSrtp::Direction::Inbound : EvpSrtp::Direction::Outbound;
}

// Version 2 and at least a fixed header; EvpSrtp checks CSRC/extension lengths itself.
bool looksLikeRtp(const uint8_t* buf, size_t len) {
  return len >= kRtpHeaderSize && len <= static_cast<size_t>(INT_MAX) / 2 && (buf[0] >> 6) == 2;
}

bool looksLikeRtcp(const uint8_t* buf, size_t len) {
  return len >= kRtcpHeaderSize && len <= static_cast<size_t>(INT_MAX) / 2 && (buf[0] >> 6) == 2;
}

}  // namespace

namespace {
// The master key || salt, on the heap for as long as the session's keys are derived from it,
// and wiped when done (it is a secret).
struct KeyMaterial {
  explicit KeyMaterial(const SrtpKeys& keys) : bytes(keys.keyAndSalt()) {}
  ~KeyMaterial() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
  KeyMaterial(const KeyMaterial&) = delete;
  KeyMaterial& operator=(const KeyMaterial&) = delete;
  std::vector<uint8_t> bytes;
};
}  // namespace

SrtpSession::SrtpSession(Direction direction, SrtpProfile profile, const SrtpKeys& keys)
    : SrtpSession(direction, profile, KeyMaterial(keys).bytes.data(), keys.key.size() + keys.salt.size()) {}

// EvpSrtp throws std::invalid_argument for a wrong key||salt length (naming the profile and the
// length it needs) and std::runtime_error if OpenSSL fails. Its default options are the policy
// SrtpSession had on libsrtp: a 1024-packet RTP replay window, SRTCP encrypted.
SrtpSession::SrtpSession(Direction direction, SrtpProfile profile, const uint8_t* keyAndSalt, size_t keyAndSaltLength)
    : direction_(direction), profile_(profile), srtp_(evpDirection(direction), profile, keyAndSalt, keyAndSaltLength) {}

SrtpSession::~SrtpSession() = default;

bool SrtpSession::protectRtp(uint8_t* buf, size_t& len, size_t capacity) {
  if (direction_ != Direction::Outbound || buf == nullptr || !looksLikeRtp(buf, len) || capacity < len ||
      capacity - len < kMaxRtpTrailer) {
    return false;
  }
  return srtp_.protectRtp(buf, len, capacity);
}

bool SrtpSession::unprotectRtp(uint8_t* buf, size_t& len) {
  if (direction_ != Direction::Inbound || buf == nullptr || !looksLikeRtp(buf, len)) {
    return false;
  }
  return srtp_.unprotectRtp(buf, len);
}

bool SrtpSession::protectRtcp(uint8_t* buf, size_t& len, size_t capacity) {
  if (direction_ != Direction::Outbound || buf == nullptr || !looksLikeRtcp(buf, len) || capacity < len ||
      capacity - len < kMaxRtcpTrailer) {
    return false;
  }
  return srtp_.protectRtcp(buf, len, capacity);
}

bool SrtpSession::unprotectRtcp(uint8_t* buf, size_t& len) {
  if (direction_ != Direction::Inbound || buf == nullptr || !looksLikeRtcp(buf, len)) {
    return false;
  }
  return srtp_.unprotectRtcp(buf, len);
}

}  // namespace liveroom::media

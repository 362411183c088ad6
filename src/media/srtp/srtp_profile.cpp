// Key/salt sizes and names of the SRTP protection profiles.
#include "media/srtp/srtp_profile.hpp"

namespace liveroom::media {

std::vector<uint8_t> SrtpKeys::keyAndSalt() const {
  std::vector<uint8_t> out;
  out.reserve(key.size() + salt.size());
  out.insert(out.end(), key.begin(), key.end());
  out.insert(out.end(), salt.begin(), salt.end());
  return out;
}

size_t srtpMasterKeyLength(SrtpProfile profile) noexcept {
  switch (profile) {
    case SrtpProfile::AesCm128HmacSha1_80:
    case SrtpProfile::AeadAes128Gcm:
      return 16;
  }
  return 0;
}

size_t srtpMasterSaltLength(SrtpProfile profile) noexcept {
  switch (profile) {
    case SrtpProfile::AesCm128HmacSha1_80:
      return 14;  // RFC 3711 §8.2: 112-bit salt.
    case SrtpProfile::AeadAes128Gcm:
      return 12;  // RFC 7714 §12: 96-bit salt.
  }
  return 0;
}

const char* toOpenSslName(SrtpProfile profile) noexcept {
  switch (profile) {
    case SrtpProfile::AesCm128HmacSha1_80:
      return "SRTP_AES128_CM_SHA1_80";
    case SrtpProfile::AeadAes128Gcm:
      return "SRTP_AEAD_AES_128_GCM";
  }
  return "";
}

const char* toString(SrtpProfile profile) noexcept {
  switch (profile) {
    case SrtpProfile::AesCm128HmacSha1_80:
      return "AES_CM_128_HMAC_SHA1_80";
    case SrtpProfile::AeadAes128Gcm:
      return "AEAD_AES_128_GCM";
  }
  return "unknown";
}

}  // namespace liveroom::media

// SRTP protection profiles negotiated by DTLS-SRTP (RFC 5764, RFC 7714) and the keying
// material each one needs; shared by DtlsTransport (which negotiates) and SrtpSession (which uses).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace liveroom::media {

enum class SrtpProfile {
  AesCm128HmacSha1_80,  // SRTP_AES128_CM_SHA1_80: every WebRTC endpoint supports it.
  AeadAes128Gcm,        // SRTP_AEAD_AES_128_GCM: cheaper per packet, offered by browsers.
};

// One direction's master key and master salt, as split out of the DTLS exporter output.
struct SrtpKeys {
  std::vector<uint8_t> key;
  std::vector<uint8_t> salt;

  // key || salt: the layout libsrtp expects in srtp_policy_t::key.
  std::vector<uint8_t> keyAndSalt() const;

  bool operator==(const SrtpKeys&) const = default;
};

size_t srtpMasterKeyLength(SrtpProfile profile) noexcept;
size_t srtpMasterSaltLength(SrtpProfile profile) noexcept;

// The name OpenSSL's SSL_CTX_set_tlsext_use_srtp understands (and RFC 5764 registers).
const char* toOpenSslName(SrtpProfile profile) noexcept;
const char* toString(SrtpProfile profile) noexcept;

}  // namespace liveroom::media

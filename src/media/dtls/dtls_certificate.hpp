// The media server's DTLS identity: an ECDSA P-256 key and a self-signed certificate generated
// at start, and the SHA-256 fingerprint the SDP answer advertises (a=fingerprint).
#pragma once

#include "media/dtls/openssl_ptr.hpp"

#include <string>

namespace liveroom::media {

class DtlsCertificate {
 public:
  // Fresh key pair, random serial, CN "liveroom", valid from a day ago (clock skew) for 30 days.
  // Throws std::runtime_error if OpenSSL fails.
  static DtlsCertificate generate();

  DtlsCertificate(DtlsCertificate&&) noexcept = default;
  DtlsCertificate& operator=(DtlsCertificate&&) noexcept = default;

  EVP_PKEY* privateKey() const noexcept { return key_.get(); }
  X509* certificate() const noexcept { return certificate_.get(); }

  // "AB:CD:...": uppercase hex pairs joined by colons, the a=fingerprint:sha-256 value.
  const std::string& fingerprint() const noexcept { return fingerprint_; }
  static constexpr const char* kFingerprintAlgorithm = "sha-256";

 private:
  DtlsCertificate(openssl::EvpPkeyPtr key, openssl::X509Ptr certificate, std::string fingerprint);

  openssl::EvpPkeyPtr key_;
  openssl::X509Ptr certificate_;
  std::string fingerprint_;
};

// The SDP form of a certificate's digest with the given algorithm (EVP_sha256() for SDP).
// Throws std::runtime_error if OpenSSL fails.
std::string certificateFingerprint(X509* certificate, const EVP_MD* digest);

}  // namespace liveroom::media

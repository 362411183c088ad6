// Key and self-signed certificate generation with OpenSSL 3 EVP APIs.
#include "media/dtls/dtls_certificate.hpp"

#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include <cstdint>
#include <stdexcept>
#include <utility>

#include "common/hex.hpp"
#include "common/random.hpp"

namespace liveroom::media {
namespace {

constexpr long kSecondsPerDay = 24 * 60 * 60;

[[noreturn]] void fail(const char* what) {
  const unsigned long code = ERR_get_error();
  char detail[256] = "no OpenSSL error";
  if (code != 0) {
    ERR_error_string_n(code, detail, sizeof detail);
  }
  ERR_clear_error();
  throw std::runtime_error(std::string("DTLS certificate: ") + what + ": " + detail);
}

}  // namespace

std::string certificateFingerprint(X509* certificate, const EVP_MD* digest) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdLength = 0;
  if (X509_digest(certificate, digest, md, &mdLength) != 1) {
    fail("X509_digest");
  }
  return hexEncode(std::span<const uint8_t>(md, mdLength), /*upper=*/true, ':');
}

DtlsCertificate::DtlsCertificate(openssl::EvpPkeyPtr key, openssl::X509Ptr certificate, std::string fingerprint)
    : key_(std::move(key)), certificate_(std::move(certificate)), fingerprint_(std::move(fingerprint)) {}

DtlsCertificate DtlsCertificate::generate() {
  // P-256: what every browser accepts and the cheapest ECDSA curve to sign handshakes with.
  openssl::EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    fail("EVP_EC_gen");
  }

  openssl::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    fail("X509_new");
  }

  // Random serial: two certificates from the same issuer name must not share one.
  uint64_t serial = randomValue<uint64_t>();
  serial &= 0x7FFFFFFFFFFFFFFFull;  // positive and at most 8 octets once DER-encoded
  if (ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) != 1) {
    fail("ASN1_INTEGER_set_uint64");
  }

  // Back-dated a day so a peer whose clock runs behind ours does not reject it as not yet valid.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kSecondsPerDay) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30 * kSecondsPerDay) == nullptr) {
    fail("X509_gmtime_adj");
  }

  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("liveroom"), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    fail("X509 name");
  }
  if (X509_set_pubkey(cert.get(), key.get()) != 1) {
    fail("X509_set_pubkey");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    fail("X509_sign");
  }

  std::string fingerprint = certificateFingerprint(cert.get(), EVP_sha256());
  return DtlsCertificate(std::move(key), std::move(cert), std::move(fingerprint));
}

}  // namespace liveroom::media

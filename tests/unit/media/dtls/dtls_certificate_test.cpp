// DtlsCertificate: fingerprint format (SDP a=fingerprint), key type, self-signature, uniqueness.
#include "media/dtls/dtls_certificate.hpp"

#include <gtest/gtest.h>

#include <openssl/ec.h>
#include <openssl/x509.h>

#include <regex>

namespace liveroom::media {
namespace {

TEST(DtlsCertificateTest, FingerprintIsUppercaseSha256WithColons) {
  const DtlsCertificate certificate = DtlsCertificate::generate();
  const std::string& fingerprint = certificate.fingerprint();
  EXPECT_EQ(fingerprint.size(), 95u);  // 32 hex pairs + 31 colons
  EXPECT_TRUE(std::regex_match(fingerprint, std::regex("([0-9A-F]{2}:){31}[0-9A-F]{2}"))) << fingerprint;
  EXPECT_EQ(fingerprint, certificateFingerprint(certificate.certificate(), EVP_sha256()));
  EXPECT_STREQ(DtlsCertificate::kFingerprintAlgorithm, "sha-256");
}

TEST(DtlsCertificateTest, IsSelfSignedP256WithLiveroomName) {
  const DtlsCertificate certificate = DtlsCertificate::generate();
  ASSERT_NE(certificate.certificate(), nullptr);
  ASSERT_NE(certificate.privateKey(), nullptr);
  EXPECT_EQ(X509_verify(certificate.certificate(), certificate.privateKey()), 1);
  EXPECT_EQ(EVP_PKEY_get_bits(certificate.privateKey()), 256);
  EXPECT_TRUE(EVP_PKEY_is_a(certificate.privateKey(), "EC"));

  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate.certificate()), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "liveroom");
  // Valid now: notBefore in the past, notAfter in the future.
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(certificate.certificate())), 0);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(certificate.certificate())), 0);
}

TEST(DtlsCertificateTest, TwoCertificatesDiffer) {
  const DtlsCertificate a = DtlsCertificate::generate();
  const DtlsCertificate b = DtlsCertificate::generate();
  EXPECT_NE(a.fingerprint(), b.fingerprint());
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.certificate()), X509_get0_serialNumber(b.certificate())), 0);
}

TEST(DtlsCertificateTest, SurvivesMove) {
  DtlsCertificate a = DtlsCertificate::generate();
  const std::string fingerprint = a.fingerprint();
  DtlsCertificate b = std::move(a);
  EXPECT_EQ(b.fingerprint(), fingerprint);
  EXPECT_EQ(certificateFingerprint(b.certificate(), EVP_sha256()), fingerprint);
}

}  // namespace
}  // namespace liveroom::media

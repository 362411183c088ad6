// HTTPS for the built-in server: the OpenSSL context from PEM files (--tls-cert, --tls-key), or
// a self-signed certificate for trying liveroom on a LAN (--tls-self-signed), kept in the data
// dir so a browser's exception for it survives restarts.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

namespace liveroom::http {

// A TLS setting that cannot be used; what() names the file and the reason (no key material).
class TlsConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// TLS 1.2+ server context with the certificate chain and private key of two PEM files; throws
// TlsConfigError when a file is missing, unreadable, not PEM, or the key does not match.
std::shared_ptr<boost::asio::ssl::context> tlsContextFromFiles(const std::string& cert_file,
                                                               const std::string& key_file);

// The names (DNS names or IP addresses) a self-signed certificate must cover.
struct SelfSignedFiles {
  std::filesystem::path cert;
  std::filesystem::path key;
};
// Makes (or reuses, when it exists and covers every name) a self-signed certificate for `names`
// in `dir` (tls-self-signed.crt / .key, the key 0600): ECDSA P-256, 1 year, subjectAltName of the
// names. Throws TlsConfigError.
SelfSignedFiles selfSignedCertificate(const std::filesystem::path& dir, const std::vector<std::string>& names);

}  // namespace liveroom::http

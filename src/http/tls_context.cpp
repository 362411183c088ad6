// HTTPS contexts and self-signed certificates (see tls_context.hpp).
#include "http/tls_context.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "common/random.hpp"

namespace liveroom::http {

namespace fs = std::filesystem;

namespace {

std::string opensslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

bool isIpAddress(const std::string& name) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  return !ec;
}

struct FileCloser {
  void operator()(FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

X509Ptr readCertificate(const fs::path& file) {
  FilePtr f(std::fopen(file.c_str(), "r"));
  if (!f) return X509Ptr(nullptr, &X509_free);
  return X509Ptr(PEM_read_X509(f.get(), nullptr, nullptr, nullptr), &X509_free);
}

// True when `cert` is valid for at least 30 more days and covers every name.
bool covers(X509* cert, const std::vector<std::string>& names) {
  if (X509_cmp_time(X509_get0_notAfter(cert), nullptr) <= 0) return false;
  const time_t soon = time(nullptr) + 30 * 24 * 3600;
  if (X509_cmp_time(X509_get0_notAfter(cert), const_cast<time_t*>(&soon)) <= 0) return false;
  for (const std::string& name : names) {
    const int ok = isIpAddress(name) ? X509_check_ip_asc(cert, name.c_str(), 0)
                                     : X509_check_host(cert, name.c_str(), name.size(), 0, nullptr);
    if (ok != 1) return false;
  }
  return true;
}

// Writes `write(FILE*)` to `file` through a private temporary file renamed into place.
template <typename Write>
void writePrivately(const fs::path& file, Write&& write) {
  const fs::path tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) throw TlsConfigError("--tls-self-signed: cannot write " + tmp.string());
  FilePtr f(::fdopen(fd, "w"));
  if (!f) {
    ::close(fd);
    throw TlsConfigError("--tls-self-signed: cannot write " + tmp.string());
  }
  const bool ok = write(f.get()) == 1 && std::fflush(f.get()) == 0;
  f.reset();
  std::error_code ec;
  if (ok) fs::rename(tmp, file, ec);
  if (!ok || ec) {
    fs::remove(tmp, ec);
    throw TlsConfigError("--tls-self-signed: cannot write " + file.string());
  }
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> tlsContextFromFiles(const std::string& cert_file,
                                                               const std::string& key_file) {
  for (const auto& [flag, file] : {std::pair{"--tls-cert", &cert_file}, std::pair{"--tls-key", &key_file}}) {
    std::error_code ec;
    if (file->empty()) throw TlsConfigError(std::string(flag) + ": no file given");
    if (!fs::is_regular_file(*file, ec)) throw TlsConfigError(std::string(flag) + ": no such file " + *file);
    if (::access(file->c_str(), R_OK) != 0) throw TlsConfigError(std::string(flag) + ": cannot read " + *file);
  }
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1) {
    throw TlsConfigError("--tls-cert: " + cert_file + " is not a PEM certificate (chain): " + opensslError());
  }
  PkeyPtr key(nullptr, &EVP_PKEY_free);
  {
    FilePtr f(std::fopen(key_file.c_str(), "r"));
    // An empty passphrase callback: an encrypted key fails instead of prompting on the terminal.
    if (f)
      key.reset(PEM_read_PrivateKey(
          f.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  }
  ERR_clear_error();  // OpenSSL's text is never echoed: it could quote the file
  if (!key) throw TlsConfigError("--tls-key: " + key_file + " is not a PEM private key (or it is encrypted)");
  if (SSL_CTX_use_PrivateKey(native, key.get()) != 1 || SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    throw TlsConfigError("--tls-key: " + key_file + " does not match the certificate in --tls-cert " + cert_file);
  }
  return ctx;
}

SelfSignedFiles selfSignedCertificate(const fs::path& dir, const std::vector<std::string>& names) {
  SelfSignedFiles files{dir / "tls-self-signed.crt", dir / "tls-self-signed.key"};
  if (names.empty()) throw TlsConfigError("--tls-self-signed: no name to make a certificate for");
  {
    X509Ptr existing = readCertificate(files.cert);
    std::error_code ec;
    if (existing && fs::exists(files.key, ec) && covers(existing.get(), names)) return files;
  }
  PkeyPtr key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  X509Ptr cert(X509_new(), &X509_free);
  if (!key || !cert) throw TlsConfigError("--tls-self-signed: cannot make a key: " + opensslError());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  randomBytes(serial, sizeof serial);
  serial[0] &= 0x7F;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const std::string cn = names.front().substr(0, 64);
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("liveroom"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), subject);
  std::string san;
  for (const std::string& name : names) {
    if (!san.empty()) san += ",";
    san += (isIpAddress(name) ? "IP:" : "DNS:") + name;
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] :
       {std::pair{NID_subject_alt_name, san}, std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
        std::pair{NID_ext_key_usage, std::string("serverAuth")}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    if (ext == nullptr) throw TlsConfigError("--tls-self-signed: a name cannot go in a certificate: " + san);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    throw TlsConfigError("--tls-self-signed: cannot sign: " + opensslError());
  }
  writePrivately(files.key,
                 [&](FILE* f) { return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  writePrivately(files.cert, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
  spdlog::info("--tls-self-signed: made {} for {} (browsers will warn: it is signed by nobody they know)",
               files.cert.string(), san);
  return files;
}

}  // namespace liveroom::http

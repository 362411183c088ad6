// DtlsTransport over OpenSSL 3: a memory BIO carries the datagram being fed, a custom write BIO
// hands each datagram OpenSSL produces straight to the listener (a memory BIO would glue a whole
// flight into one buffer and lose the datagram boundaries the MTU setting relies on).
#include "media/dtls/dtls_transport.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/srtp.h>

#include <sys/time.h>

#include <algorithm>
#include <array>
#include <climits>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace liveroom::media {
namespace {

// The exporter label of RFC 5764 §4.2.
constexpr char kSrtpExporterLabel[] = "EXTRACTOR-dtls_srtp";
// Forward secrecy and AEAD only; ECDSA because that is the key we generate.
constexpr char kCipherList[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305";
constexpr char kGroups[] = "X25519:P-256:P-384";
constexpr unsigned int kMaxRetransmitTimeoutUs = 60'000'000;
// Smallest datagram that can hold a DTLS record header (RFC 6347 §4.1).
constexpr size_t kDtlsRecordHeaderSize = 13;

std::string takeOpenSslError(const char* fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return fallback;
  }
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "AB:cd:..." → bytes; empty on anything malformed or of a length no SDP hash produces.
std::vector<uint8_t> parseFingerprint(const std::string& text) {
  std::vector<uint8_t> out;
  if ((text.size() + 1) % 3 != 0) {
    return {};
  }
  for (size_t i = 0; i < text.size(); i += 3) {
    const int hi = hexValue(text[i]);
    const int lo = hexValue(text[i + 1]);
    if (hi < 0 || lo < 0 || (i + 2 < text.size() && text[i + 2] != ':')) {
      return {};
    }
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  switch (out.size()) {
    case 20:
    case 32:
    case 48:
    case 64:
      return out;
    default:
      return {};
  }
}

const EVP_MD* digestForLength(size_t length) {
  switch (length) {
    case 20:
      return EVP_sha1();
    case 32:
      return EVP_sha256();
    case 48:
      return EVP_sha384();
    case 64:
      return EVP_sha512();
    default:
      return nullptr;
  }
}

std::optional<SrtpProfile> profileFromOpenSslId(unsigned long id) {
  switch (id) {
    case SRTP_AES128_CM_SHA1_80:
      return SrtpProfile::AesCm128HmacSha1_80;
    case SRTP_AEAD_AES_128_GCM:
      return SrtpProfile::AeadAes128Gcm;
    default:
      return std::nullopt;
  }
}

}  // namespace

// The C callbacks OpenSSL calls; a friend so they can reach the transport's private handlers.
struct DtlsTransportCallbacks {
  static int bioWrite(BIO* bio, const char* data, int size) {
    auto* transport = static_cast<DtlsTransport*>(BIO_get_data(bio));
    if (transport == nullptr || size < 0) {
      return -1;
    }
    transport->send(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(size));
    return size;
  }

  static long bioCtrl(BIO*, int cmd, long, void*) {
    // Flush must succeed or OpenSSL reports a write error after each flight; everything else
    // (MTU queries, peer addresses, socket timeouts) has no meaning without a socket.
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
  }

  static const BIO_METHOD* bioMethod() {
    static std::once_flag once;
    static BIO_METHOD* method = nullptr;  // process lifetime, shared by every transport
    std::call_once(once, [] {
      method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "liveroom dtls datagram out");
      if (method != nullptr) {
        BIO_meth_set_write(method, bioWrite);
        BIO_meth_set_ctrl(method, bioCtrl);
      }
    });
    return method;
  }

  static int verifyCertificate(X509_STORE_CTX* store, void* /*arg*/) {
    // One context serves every association: find this one through its SSL object.
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* transport = ssl != nullptr ? static_cast<DtlsTransport*>(SSL_get_app_data(ssl)) : nullptr;
    if (transport == nullptr) return 0;
    // Self-signed by design: no chain to build; the SDP fingerprint is the trust anchor.
    if (transport->verifyPeerCertificate(X509_STORE_CTX_get0_cert(store))) {
      return 1;
    }
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);  // the peer gets bad_certificate
    return 0;
  }

  static unsigned int retransmitTimeout(SSL* ssl, unsigned int previousUs) {
    auto* transport = static_cast<DtlsTransport*>(SSL_get_app_data(ssl));
    return transport->retransmitTimeoutUs(previousUs);
  }
};

DtlsContext::DtlsContext(DtlsCertificate certificate) : certificate_(std::move(certificate)) {
  ERR_clear_error();
  auto check = [](bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("DtlsContext: ") + what + ": " + takeOpenSslError("failed"));
  };
  ctx_.reset(SSL_CTX_new(DTLS_method()));
  check(ctx_ != nullptr, "SSL_CTX_new");
  SSL_CTX* ctx = ctx_.get();
  // DTLS 1.2 only: OpenSSL 3.0 has no 1.3, and 1.0 lacks the AEAD suites.
  check(SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1, "min version");
  check(SSL_CTX_use_certificate(ctx, certificate_.certificate()) == 1, "certificate");
  check(SSL_CTX_use_PrivateKey(ctx, certificate_.privateKey()) == 1, "private key");
  check(SSL_CTX_check_private_key(ctx) == 1, "key/certificate mismatch");
  check(SSL_CTX_set_cipher_list(ctx, kCipherList) == 1, "cipher list");
  check(SSL_CTX_set1_groups_list(ctx, kGroups) == 1, "groups");
  // The MTU is ours to set (no socket to query); tickets and a session cache are useless for
  // one-shot associations with a fresh certificate every run.
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // Both sides present certificates (RFC 5763 §5); the server must ask for the client's.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, DtlsTransportCallbacks::verifyCertificate, nullptr);
}

DtlsTransport::DtlsTransport(const DtlsContext& context, Options options, Listener& listener)
    : options_(std::move(options)), listener_(listener) {
  if (options_.srtpProfiles.empty()) {
    throw std::invalid_argument("DtlsTransport needs at least one SRTP profile");
  }
  if (!options_.remoteFingerprint.empty() && !setRemoteFingerprint(options_.remoteFingerprint)) {
    throw std::invalid_argument("malformed remote DTLS fingerprint");
  }
  ERR_clear_error();
  auto check = [](bool ok, const char* what) {
    if (!ok) {
      throw std::runtime_error(std::string("DtlsTransport: ") + what + ": " + takeOpenSslError("failed"));
    }
  };
  SSL_CTX* ctx = context.get();
  ssl_.reset(SSL_new(ctx));
  check(ssl_ != nullptr, "SSL_new");
  SSL* ssl = ssl_.get();
  SSL_set_app_data(ssl, this);
  std::string profiles;
  for (SrtpProfile profile : options_.srtpProfiles) {
    if (!profiles.empty()) profiles += ':';
    profiles += toOpenSslName(profile);
  }
  // Unlike most of OpenSSL, this one returns 0 on success.
  check(SSL_set_tlsext_use_srtp(ssl, profiles.c_str()) == 0, "use_srtp");

  BIO* readBio = BIO_new(BIO_s_mem());
  const BIO_METHOD* method = DtlsTransportCallbacks::bioMethod();
  BIO* writeBio = method != nullptr ? BIO_new(method) : nullptr;
  if (readBio == nullptr || writeBio == nullptr) {
    BIO_free(readBio);
    BIO_free(writeBio);
    check(false, "BIO_new");
  }
  // An empty read BIO means "wait for the next datagram", not end of stream.
  BIO_set_mem_eof_return(readBio, -1);
  BIO_set_data(writeBio, this);
  BIO_set_init(writeBio, 1);
  SSL_set_bio(ssl, readBio, writeBio);  // ssl owns both from here
  readBio_ = readBio;

  check(DTLS_set_link_mtu(ssl, static_cast<long>(options_.mtu)) == 1, "MTU");
  DTLS_set_timer_cb(ssl, DtlsTransportCallbacks::retransmitTimeout);
  if (options_.role == Role::Client) {
    SSL_set_connect_state(ssl);
  } else {
    SSL_set_accept_state(ssl);
  }
}

DtlsTransport::~DtlsTransport() = default;

bool DtlsTransport::setRemoteFingerprint(const std::string& fingerprint) {
  std::vector<uint8_t> parsed = parseFingerprint(fingerprint);
  if (parsed.empty()) {
    return false;
  }
  remoteFingerprint_ = std::move(parsed);
  return true;
}

void DtlsTransport::start() {
  if (state_ != State::New) {
    return;
  }
  state_ = State::Connecting;
  if (options_.role == Role::Client) {
    runHandshake();  // writes the ClientHello
  }
}

void DtlsTransport::feed(const uint8_t* data, size_t size) {
  // RFC 7983 content types 20..63; anything shorter than a record header cannot be DTLS.
  if (data == nullptr || size < kDtlsRecordHeaderSize || size > static_cast<size_t>(INT_MAX) || data[0] < 20 ||
      data[0] > 63) {
    return;
  }
  if (state_ == State::New) {
    if (options_.role != Role::Server) {
      return;
    }
    start();
  }
  if (state_ != State::Connecting && state_ != State::Connected) {
    return;
  }
  ERR_clear_error();
  if (BIO_write(readBio_, data, static_cast<int>(size)) != static_cast<int>(size)) {
    return;
  }
  if (state_ == State::Connecting) {
    runHandshake();
  } else {
    wakeBuffers();
    readApplicationData();
  }
  // Whatever OpenSSL left unread belongs to this datagram only; never glue it to the next one.
  (void)BIO_reset(readBio_);
  idleBuffers();
}

void DtlsTransport::wakeBuffers() {
  if (buffersReleased_ && SSL_alloc_buffers(ssl_.get()) == 1) buffersReleased_ = false;
}

void DtlsTransport::idleBuffers() {
  // Once connected, DTLS carries nothing but the odd alert or retransmitted flight: the record
  // buffers (~34 KiB per session: a read and a write buffer for a whole record each) go back to
  // the allocator between datagrams instead of staying with every viewer for its whole life.
  // SSL_MODE_RELEASE_BUFFERS does not apply to DTLS; SSL_free_buffers refuses while anything is
  // pending, and wakeBuffers() brings them back before OpenSSL touches the records again.
  if (state_ == State::Connected && !buffersReleased_ && SSL_free_buffers(ssl_.get()) == 1) buffersReleased_ = true;
}

std::optional<std::chrono::milliseconds> DtlsTransport::nextTimeout() const {
  if (state_ != State::Connecting && state_ != State::Connected) {
    return std::nullopt;
  }
  timeval remaining{};
  if (DTLSv1_get_timeout(ssl_.get(), &remaining) != 1) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<long long>(remaining.tv_sec) * 1000 + (remaining.tv_usec + 999) / 1000);
}

void DtlsTransport::handleTimeout() {
  if (state_ != State::Connecting && state_ != State::Connected) {
    return;
  }
  ERR_clear_error();
  wakeBuffers();
  // < 0 once OpenSSL gives up after its maximum number of retransmissions.
  if (DTLSv1_handle_timeout(ssl_.get()) < 0) {
    fail("DTLS handshake timed out: " + takeOpenSslError("too many retransmissions"));
  }
  idleBuffers();
}

void DtlsTransport::close() {
  if (state_ == State::Connected) {
    ERR_clear_error();
    wakeBuffers();
    SSL_shutdown(ssl_.get());  // one-way: we do not wait for the peer's close_notify
    ERR_clear_error();
  }
  if (state_ != State::Failed) {
    state_ = State::Closed;
  }
}

void DtlsTransport::runHandshake() {
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_.get());
  if (result == 1) {
    onHandshakeDone();
    return;
  }
  const int error = SSL_get_error(ssl_.get(), result);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    return;
  }
  std::string reason = verifyFailure_.empty() ? takeOpenSslError("handshake failed") : verifyFailure_;
  fail("DTLS handshake failed: " + reason);
}

void DtlsTransport::readApplicationData() {
  // WebRTC media needs no DTLS application data (no data channels here); reading still matters:
  // it processes alerts and answers a peer that retransmits its last flight.
  std::array<uint8_t, 2048> discard{};
  for (;;) {
    ERR_clear_error();
    const int result = SSL_read(ssl_.get(), discard.data(), static_cast<int>(discard.size()));
    if (result > 0) {
      continue;
    }
    const int error = SSL_get_error(ssl_.get(), result);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      return;
    }
    if (error == SSL_ERROR_ZERO_RETURN) {
      state_ = State::Closed;
      listener_.onDtlsClosed();
      return;
    }
    if (state_ == State::Connected) {
      // RFC 6347 §4.1.2.7: an invalid record is discarded, not fatal. The SRTP keys are
      // already derived, so one forged or corrupt datagram must not end a live session.
      ERR_clear_error();
      return;
    }
    fail("DTLS error: " + takeOpenSslError("read failed"));
    return;
  }
}

void DtlsTransport::onHandshakeDone() {
  // The verify callback runs only if a certificate arrived; FAIL_IF_NO_PEER_CERT covers the
  // server side, this covers everything else.
  if (!peerVerified_) {
    fail("DTLS peer certificate was not verified");
    return;
  }
  const SRTP_PROTECTION_PROFILE* selected = SSL_get_selected_srtp_profile(ssl_.get());
  const std::optional<SrtpProfile> profile = selected != nullptr ? profileFromOpenSslId(selected->id) : std::nullopt;
  if (!profile) {
    fail("DTLS handshake negotiated no supported SRTP profile");
    return;
  }

  const size_t keyLength = srtpMasterKeyLength(*profile);
  const size_t saltLength = srtpMasterSaltLength(*profile);
  std::array<uint8_t, 2 * (16 + 14)> material{};  // largest profile we support
  const size_t materialLength = 2 * (keyLength + saltLength);
  if (SSL_export_keying_material(ssl_.get(), material.data(), materialLength, kSrtpExporterLabel,
                                 sizeof kSrtpExporterLabel - 1, nullptr, 0, 0) != 1) {
    fail("DTLS-SRTP key export failed: " + takeOpenSslError("exporter"));
    return;
  }
  // RFC 5764 §4.2: client key | server key | client salt | server salt.
  const uint8_t* p = material.data();
  SrtpKeys client{{p, p + keyLength}, {p + 2 * keyLength, p + 2 * keyLength + saltLength}};
  SrtpKeys server{{p + keyLength, p + 2 * keyLength},
                  {p + 2 * keyLength + saltLength, p + 2 * keyLength + 2 * saltLength}};
  OPENSSL_cleanse(material.data(), material.size());

  state_ = State::Connected;
  if (options_.role == Role::Client) {
    listener_.onDtlsConnected(*profile, client, server);
  } else {
    listener_.onDtlsConnected(*profile, server, client);
  }
}

void DtlsTransport::fail(std::string reason) {
  if (state_ == State::Failed || state_ == State::Closed) {
    return;
  }
  state_ = State::Failed;
  listener_.onDtlsFailed(reason);
}

bool DtlsTransport::verifyPeerCertificate(X509* certificate) {
  if (certificate == nullptr) {
    verifyFailure_ = "peer sent no certificate";
    return false;
  }
  if (remoteFingerprint_.empty()) {
    verifyFailure_ = "no remote fingerprint to check the peer certificate against";
    return false;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digestLength = 0;
  if (X509_digest(certificate, digestForLength(remoteFingerprint_.size()), digest, &digestLength) != 1 ||
      digestLength != remoteFingerprint_.size() ||
      CRYPTO_memcmp(digest, remoteFingerprint_.data(), digestLength) != 0) {
    verifyFailure_ = "peer certificate does not match the remote fingerprint";
    return false;
  }
  peerVerified_ = true;
  return true;
}

unsigned int DtlsTransport::retransmitTimeoutUs(unsigned int previousUs) const {
  if (previousUs == 0) {
    const auto initial = std::chrono::duration_cast<std::chrono::microseconds>(options_.initialRetransmitTimeout);
    return static_cast<unsigned int>(std::clamp<long long>(initial.count(), 1000, kMaxRetransmitTimeoutUs));
  }
  return previousUs >= kMaxRetransmitTimeoutUs / 2 ? kMaxRetransmitTimeoutUs : previousUs * 2;
}

void DtlsTransport::send(const uint8_t* data, size_t size) { listener_.onDtlsSend(data, size); }

const char* toString(DtlsTransport::State state) noexcept {
  switch (state) {
    case DtlsTransport::State::New:
      return "new";
    case DtlsTransport::State::Connecting:
      return "connecting";
    case DtlsTransport::State::Connected:
      return "connected";
    case DtlsTransport::State::Failed:
      return "failed";
    case DtlsTransport::State::Closed:
      return "closed";
  }
  return "unknown";
}

}  // namespace liveroom::media

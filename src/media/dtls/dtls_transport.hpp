// One DTLS-SRTP association (RFC 5764) driven by datagrams: bytes in through feed(), bytes out
// through the Listener, keys out when the handshake completes. No sockets and no timers of its
// own: the caller owns the UDP port and runs the retransmission timer (nextTimeout/handleTimeout).
#pragma once

#include "media/dtls/dtls_certificate.hpp"
#include "media/dtls/openssl_ptr.hpp"
#include "media/srtp/srtp_profile.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace liveroom::media {

// One OpenSSL context for every DTLS association of a media worker (like mediasoup's one per
// worker): the certificate and key, DTLS 1.2, the cipher suites and groups, peer certificates
// required and checked against each association's own SDP fingerprint (the callback finds the
// association through the SSL object). Making one costs ~0.5 ms; an association then costs one
// SSL_new. An association holds a reference to the context, so either may go first.
class DtlsContext {
 public:
  // Throws std::runtime_error if OpenSSL cannot be set up.
  explicit DtlsContext(DtlsCertificate certificate);
  const DtlsCertificate& certificate() const noexcept { return certificate_; }
  SSL_CTX* get() const noexcept { return ctx_.get(); }

 private:
  DtlsCertificate certificate_;
  openssl::SslCtxPtr ctx_;
};

class DtlsTransport {
 public:
  // Server answers a=setup:active peers (our SDP says a=setup:passive); client sends ClientHello.
  enum class Role { Client, Server };
  enum class State { New, Connecting, Connected, Failed, Closed };

  // Callbacks run synchronously from start/feed/handleTimeout/close. A listener must not call
  // back into the transport or destroy it from inside a callback; queue the work instead.
  class Listener {
   public:
    virtual ~Listener() = default;
    // One whole DTLS datagram to send to the peer (at most Options::mtu bytes during the handshake).
    virtual void onDtlsSend(const uint8_t* data, size_t size) = 0;
    // Handshake done and the peer's certificate matched the remote fingerprint. local protects
    // what we send, remote unprotects what we receive.
    virtual void onDtlsConnected(SrtpProfile profile, const SrtpKeys& local, const SrtpKeys& remote) = 0;
    // Handshake failure, fatal alert, fingerprint mismatch, or too many retransmissions.
    virtual void onDtlsFailed(const std::string& reason) = 0;
    // The peer sent close_notify.
    virtual void onDtlsClosed() = 0;
  };

  struct Options {
    Role role = Role::Server;
    // The peer's a=fingerprint value ("AB:CD:..."; case-insensitive). The hash is inferred from its
    // length: sha-1, sha-256, sha-384 or sha-512. May also be set later with setRemoteFingerprint,
    // as long as it is before the peer's certificate arrives.
    std::string remoteFingerprint;
    // In preference order; a server picks the first of these the client offered.
    std::vector<SrtpProfile> srtpProfiles = {SrtpProfile::AeadAes128Gcm, SrtpProfile::AesCm128HmacSha1_80};
    // Fits handshake flights in one datagram on any path that carries the media (and TURN overhead).
    size_t mtu = 1200;
    // First retransmission timeout, doubled on each retry up to 60 s (RFC 6347 §4.2.4.1).
    std::chrono::milliseconds initialRetransmitTimeout{1000};
  };

  // The context is reference-counted by OpenSSL: it need not outlive us. Throws
  // std::invalid_argument for bad options, std::runtime_error if OpenSSL cannot be set up.
  DtlsTransport(const DtlsContext& context, Options options, Listener& listener);
  ~DtlsTransport();

  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  // Client: sends the ClientHello. Server: waits for one (feed() also starts a server).
  void start();
  // One incoming datagram demultiplexed as DTLS (RFC 7983: first byte 20..63). Garbage is dropped.
  void feed(const uint8_t* data, size_t size);
  // When handleTimeout should run next, measured from now; nullopt when no retransmission is pending.
  std::optional<std::chrono::milliseconds> nextTimeout() const;
  // Retransmits the last flight if its timer expired (a no-op otherwise).
  void handleTimeout();
  // Sends close_notify if the association is up; no listener callback follows.
  void close();

  // Returns false (and changes nothing) if the value is not a well-formed fingerprint.
  bool setRemoteFingerprint(const std::string& fingerprint);

  State state() const noexcept { return state_; }
  Role role() const noexcept { return options_.role; }

 private:
  friend struct DtlsTransportCallbacks;

  void runHandshake();
  void readApplicationData();
  // Connected: the SSL's record buffers are freed between datagrams and brought back before use.
  void wakeBuffers();
  void idleBuffers();
  void onHandshakeDone();
  void fail(std::string reason);
  bool verifyPeerCertificate(X509* certificate);
  unsigned int retransmitTimeoutUs(unsigned int previousUs) const;
  void send(const uint8_t* data, size_t size);

  Options options_;
  Listener& listener_;
  State state_ = State::New;
  bool buffersReleased_ = false;
  std::vector<uint8_t> remoteFingerprint_;  // raw digest bytes
  bool peerVerified_ = false;
  std::string verifyFailure_;
  openssl::SslPtr ssl_;
  BIO* readBio_ = nullptr;  // owned by ssl_
};

const char* toString(DtlsTransport::State state) noexcept;

}  // namespace liveroom::media

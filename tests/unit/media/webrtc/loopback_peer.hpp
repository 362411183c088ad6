// LoopbackPeer: a minimal WebRTC endpoint (the "browser" side) for end-to-end tests against a
// server on another thread, over loopback UDP. Built from the same primitives as the server: the
// STUN writer for ICE checks, a client-role DtlsTransport (a=setup:active) and SrtpSession. It is
// synchronous and single-threaded: the test thread drives it, and every wait polls its socket
// with a deadline that only stops a hang (nothing here measures time).
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "media/dtls/dtls_certificate.hpp"
#include "media/dtls/dtls_transport.hpp"
#include "media/srtp/srtp_session.hpp"
#include "media/stun/stun_message.hpp"

namespace liveroom::media::test {

using Bytes = std::vector<uint8_t>;

class LoopbackPeer final : private DtlsTransport::Listener {
 public:
  using Clock = std::chrono::steady_clock;
  // Long enough for a loaded machine; a passing test never waits this long.
  static constexpr std::chrono::milliseconds kTimeout{10'000};

  // What the server's answer says about it.
  struct Remote {
    boost::asio::ip::udp::endpoint endpoint;
    std::string ice_ufrag;
    std::string ice_pwd;
    std::string fingerprint;  // "AB:CD:..." (sha-256)
  };

  // One STUN response to a check of ours.
  struct StunResponse {
    stun::StunClass message_class = stun::StunClass::SuccessResponse;
    std::optional<uint16_t> error_code;
    bool integrity_ok = false;  // MESSAGE-INTEGRITY verified with the password the check used
    std::optional<stun::TransportAddress> mapped_address;
  };

  // Binds 127.0.0.1:0 and makes a fresh DTLS certificate.
  LoopbackPeer(std::string ice_ufrag, std::string ice_pwd);
  ~LoopbackPeer() override;

  LoopbackPeer(const LoopbackPeer&) = delete;
  LoopbackPeer& operator=(const LoopbackPeer&) = delete;

  const std::string& iceUfrag() const noexcept { return ice_ufrag_; }
  const std::string& icePwd() const noexcept { return ice_pwd_; }
  const std::string& fingerprint() const noexcept { return dtls_context_.certificate().fingerprint(); }
  boost::asio::ip::udp::endpoint localEndpoint() const { return socket_.local_endpoint(); }

  void setRemote(Remote remote) { remote_ = std::move(remote); }
  // An ICE restart on our side: the checks from now on carry these credentials.
  void setIceCredentials(std::string ufrag, std::string pwd) {
    ice_ufrag_ = std::move(ufrag);
    ice_pwd_ = std::move(pwd);
  }
  const Remote& remote() const noexcept { return remote_; }

  // A binding request signed with `password` (the server's, or a wrong one), USE-CANDIDATE when
  // `nominate`; waits for the response with its transaction id (nullopt: none came).
  std::optional<StunResponse> check(const std::string& password, bool nominate = true);
  // ICE check with the right password, then the DTLS handshake: true once SRTP is keyed both
  // ways. On false, failure() says why.
  bool connect();
  bool connected() const noexcept { return srtp_in_ != nullptr; }
  const std::string& failure() const noexcept { return failure_; }
  bool dtlsClosed() const noexcept { return dtls_closed_; }  // the server sent close_notify
  // Sends DTLS close_notify (the peer hangs up).
  void close();

  // Protect with our outbound SRTP and send to the server; false if not connected or libsrtp refuses.
  bool sendRtp(const Bytes& packet);
  bool sendRtcp(const Bytes& packet);
  // Sends bytes as they are.
  void sendRaw(const Bytes& datagram);

  // Handles datagrams (and DTLS retransmission timers) until `done` or the timeout.
  bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = kTimeout);
  // Handles whatever has already arrived, without waiting.
  void poll();

  // Received and decrypted, oldest first; tests consume them as they like.
  std::deque<Bytes> rtp;
  std::deque<Bytes> rtcp;
  // Simulated loss: sees each incoming SRTP packet (its RTP header is in the clear) before it
  // is unprotected; true drops it unseen, as if the network had lost it.
  std::function<bool(const Bytes& srtp)> drop_rtp;
  size_t dropped_rtp = 0;
  size_t undecryptable = 0;  // SRTP/SRTCP that failed to unprotect

 private:
  // Reads one datagram if one is ready within `wait` (0: only if already there).
  bool receiveOne(std::chrono::milliseconds wait);
  void dispatch(const uint8_t* data, size_t size);

  // DtlsTransport::Listener
  void onDtlsSend(const uint8_t* data, size_t size) override;
  void onDtlsConnected(SrtpProfile profile, const SrtpKeys& local, const SrtpKeys& remote) override;
  void onDtlsFailed(const std::string& reason) override;
  void onDtlsClosed() override;

  std::string ice_ufrag_;
  std::string ice_pwd_;
  DtlsContext dtls_context_;
  boost::asio::io_context ioc_;  // never run: the socket is used synchronously
  boost::asio::ip::udp::socket socket_;
  Remote remote_;
  std::unique_ptr<DtlsTransport> dtls_;
  std::unique_ptr<SrtpSession> srtp_out_;
  std::unique_ptr<SrtpSession> srtp_in_;
  std::string failure_;
  bool dtls_closed_ = false;
  uint8_t next_transaction_ = 1;
  std::deque<Bytes> stun_;  // STUN responses not claimed yet
  std::vector<uint8_t> buffer_;
};

}  // namespace liveroom::media::test

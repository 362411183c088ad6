// One WebRTC peer's transport on the shared UDP port (mediasoup's WebRtcTransport): ICE-lite
// checks, the DTLS-SRTP handshake (we are a=setup:passive) and SRTP/SRTCP in place, composed
// from IceServer, DtlsTransport and SrtpSession. It knows nothing of SDP, tracks or routing:
// the owner builds the answer from localUfrag()/localPwd()/localFingerprint() and gets
// decrypted RTP/RTCP through the Listener. Lives on the media thread; no locks.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "media/dtls/dtls_transport.hpp"
#include "media/ice/ice_server.hpp"
#include "media/rtp/rtp_packet.hpp"
#include "media/srtp/srtp_session.hpp"
#include "media/transport/packet_mux.hpp"

namespace liveroom::media {

class WebRtcTransport final : public PacketMux::Session, private IceServer::Listener, private DtlsTransport::Listener {
 public:
  using Clock = IceServer::Clock;
  using ClockFunction = std::function<Clock::time_point()>;

  // New: waiting for a valid ICE check. Connecting: ICE selected a tuple, DTLS under way.
  // Connected: DTLS done and SRTP keyed. Closed: for good (no restart from here).
  enum class State { New, Connecting, Connected, Closed };

  // Events are delivered last thing in onPacket()/tick(), after every building block has
  // returned, so a listener may call close() or even destroy the transport from
  // onTransportConnected/onTransportClosed. From onRtp/onRtcp it may send, close or destroy too:
  // nothing touches the transport after those return.
  class Listener {
   public:
    virtual ~Listener() = default;
    // DTLS handshake done and both SRTP directions keyed: sendRtp/sendRtcp work from now on.
    virtual void onTransportConnected() = 0;
    // ICE never connected or consent expired, DTLS failed or the peer sent close_notify. Called
    // at most once; not called for a local close().
    virtual void onTransportClosed(const std::string& reason) = 0;
    // Decrypted in place inside the receive buffer: valid only during the call; the listener may
    // rewrite it (forwarding copies it into each viewer's buffer anyway).
    virtual void onRtp(rtp::RtpPacket& packet) = 0;
    // One decrypted (compound) RTCP datagram, valid only during the call.
    virtual void onRtcp(const uint8_t* data, size_t size) = 0;
  };

  // What the offer says about the peer.
  struct RemoteParameters {
    std::string iceUfrag;
    std::string icePwd;  // signs our triggered checks (see IceServer)
    // The a=fingerprint value without its algorithm ("AB:CD:..."); its length picks the hash.
    std::string dtlsFingerprint;
  };

  static constexpr size_t kLocalUfragLength = 8;  // RFC 8839: at least 4 ice-chars
  static constexpr size_t kLocalPwdLength = 32;   // RFC 8839: at least 22 ice-chars (128 bits)
  // A peer that has not completed ICE and DTLS (SRTP keyed) this long after creation is given up
  // on (setConnectTimeout changes it): an offer nobody follows up holds its state this long at most.
  static constexpr std::chrono::seconds kIceConnectTimeout{10};

  // Registers with `mux` under the freshly generated local ufrag. Throws std::invalid_argument
  // on a malformed remote fingerprint, std::runtime_error if OpenSSL cannot set up DTLS or
  // generate the credentials. `mux` and `listener` must outlive the transport; the DTLS context
  // need not (OpenSSL reference-counts it).
  WebRtcTransport(
      PacketMux& mux, const DtlsContext& dtls, RemoteParameters remote, Listener& listener,
      ClockFunction clock = [] { return Clock::now(); });
  ~WebRtcTransport() override;

  WebRtcTransport(const WebRtcTransport&) = delete;
  WebRtcTransport& operator=(const WebRtcTransport&) = delete;

  const std::string& localUfrag() const noexcept { return local_ufrag_; }
  const std::string& localPwd() const noexcept { return local_pwd_; }
  // The a=fingerprint value for the answer, with algorithm DtlsCertificate::kFingerprintAlgorithm.
  const std::string& localFingerprint() const noexcept { return local_fingerprint_; }
  State state() const noexcept { return state_; }
  // The tuple media is sent to, once ICE has selected one.
  const std::optional<TransportAddress>& selectedTuple() const noexcept { return selected_; }

  // PacketMux::Session: one packet routed to us (by ufrag for STUN, by bound tuple otherwise).
  void onPacket(PacketKind kind, uint8_t* data, size_t size, const TransportAddress& from) override;

  // Protect in place and send to the selected tuple. `len` bytes of RTP/RTCP in a buffer of
  // `capacity` bytes, which must leave room for the SRTP trailer (SrtpSession::kMaxRtpTrailer /
  // kMaxRtcpTrailer). The buffer holds ciphertext afterwards. False if not connected or the
  // packet cannot be protected; nothing is sent then.
  bool sendRtp(uint8_t* buf, size_t len, size_t capacity);
  bool sendRtcp(uint8_t* buf, size_t len, size_t capacity);

  // Authenticated RTP/RTCP taken from the peer and handed to the kernel for it, since the start
  // (bytes as on the wire, SRTP included): the media counters of /metrics.
  struct Counters {
    uint64_t rtp_packets_in = 0;
    uint64_t rtp_bytes_in = 0;
    uint64_t rtcp_packets_in = 0;
    uint64_t rtp_packets_out = 0;
    uint64_t rtp_bytes_out = 0;
    uint64_t rtcp_packets_out = 0;
    Counters& operator+=(const Counters& o) noexcept {
      rtp_packets_in += o.rtp_packets_in;
      rtp_bytes_in += o.rtp_bytes_in;
      rtcp_packets_in += o.rtcp_packets_in;
      rtp_packets_out += o.rtp_packets_out;
      rtp_bytes_out += o.rtp_bytes_out;
      rtcp_packets_out += o.rtcp_packets_out;
      return *this;
    }
  };
  const Counters& counters() const noexcept { return counters_; }

  // The owner calls this periodically (every ~250 ms is plenty): ICE connect timeout, consent
  // freshness and DTLS retransmissions. `now` is on the same clock as the ClockFunction.
  void tick(Clock::time_point now);
  void setConnectTimeout(std::chrono::milliseconds timeout) { connect_timeout_ = timeout; }
  // When the DTLS retransmission timer is next due (from now, OpenSSL's own clock), for owners
  // that arm a precise timer instead of relying on tick's period; nullopt when none is pending.
  std::optional<std::chrono::milliseconds> nextDtlsTimeout() const { return dtls_->nextTimeout(); }

  // ICE restart (RFC 8445 §9, RFC 9725 §4.4.1): the peer's new credentials; ours are replaced by
  // fresh ones (read them back with localUfrag()/localPwd()) and checks with the old ones are
  // refused from now on. DTLS, SRTP and the selected tuple carry on, so media continues until
  // the peer's checks on the new credentials select a (possibly new) tuple. False when closed.
  bool restartIce(std::string remote_ufrag, std::string remote_pwd);

  // Sends DTLS close_notify if connected, stops routing and drops everything from now on.
  // The listener is not called (the owner asked for it).
  void close();

 private:
  // IceServer::Listener
  void onIceSend(const uint8_t* data, size_t size, const IceServer::Address& to) override;
  void onIceSelectedTuple(const IceServer::Address& tuple) override;
  void onIceDisconnected() override;
  // DtlsTransport::Listener
  void onDtlsSend(const uint8_t* data, size_t size) override;
  void onDtlsConnected(SrtpProfile profile, const SrtpKeys& local, const SrtpKeys& remote) override;
  void onDtlsFailed(const std::string& reason) override;
  void onDtlsClosed() override;

  void handlePacket(PacketKind kind, uint8_t* data, size_t size, const TransportAddress& from);
  void failInternally(const char* what);
  void handleStun(const uint8_t* data, size_t size, const TransportAddress& from);
  void handleRtp(uint8_t* data, size_t size, const TransportAddress& from);
  void handleRtcp(uint8_t* data, size_t size, const TransportAddress& from);
  bool isValidated(const TransportAddress& from) const;
  // Marks the transport closed and queues the listener call; `send_close_notify` is false when
  // called from inside a DtlsTransport callback (it must not be re-entered).
  void closeWithReason(std::string reason, bool send_close_notify);
  // Delivers the queued connected/closed event; must be the last thing an entry point does.
  void deliverEvents();

  PacketMux& mux_;
  Listener& listener_;
  ClockFunction clock_;
  RemoteParameters remote_;
  std::string local_ufrag_;
  std::string local_pwd_;
  std::string local_fingerprint_;
  State state_ = State::New;
  Clock::time_point created_;
  std::chrono::milliseconds connect_timeout_ = kIceConnectTimeout;
  std::optional<TransportAddress> selected_;
  IceServer ice_;
  std::unique_ptr<DtlsTransport> dtls_;
  std::unique_ptr<SrtpSession> srtp_in_;
  std::unique_ptr<SrtpSession> srtp_out_;
  bool connected_event_pending_ = false;
  std::optional<std::string> closed_event_pending_;
  Counters counters_;
};

const char* toString(WebRtcTransport::State state) noexcept;

}  // namespace liveroom::media

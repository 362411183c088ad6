// WebRtcTransport: ICE-lite + DTLS-SRTP + SRTP for one peer (see webrtc_transport.hpp).
#include "media/webrtc/webrtc_transport.hpp"

#include <array>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "common/random.hpp"
#include "media/stun/stun_message.hpp"

namespace liveroom::media {
namespace {

// RFC 8839 ice-char is ALPHA / DIGIT / "+" / "/".
constexpr char kIceChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static_assert(sizeof kIceChars - 1 == 64);

std::string randomIceString(size_t length) { return randomString(length, std::string_view(kIceChars, 64)); }

DtlsTransport::Options serverOptions(const std::string& remote_fingerprint) {
  DtlsTransport::Options options;
  options.role = DtlsTransport::Role::Server;  // our answer says a=setup:passive
  options.remoteFingerprint = remote_fingerprint;
  return options;
}

}  // namespace

WebRtcTransport::WebRtcTransport(PacketMux& mux, const DtlsContext& dtls, RemoteParameters remote, Listener& listener,
                                 ClockFunction clock)
    : mux_(mux),
      listener_(listener),
      clock_(std::move(clock)),
      remote_(std::move(remote)),
      local_ufrag_(randomIceString(kLocalUfragLength)),
      local_pwd_(randomIceString(kLocalPwdLength)),
      local_fingerprint_(dtls.certificate().fingerprint()),
      created_(clock_()),
      ice_(*this, local_ufrag_, local_pwd_, remote_.iceUfrag, remote_.icePwd),
      dtls_(std::make_unique<DtlsTransport>(dtls, serverOptions(remote_.dtlsFingerprint),
                                            static_cast<DtlsTransport::Listener&>(*this))) {
  // An empty fingerprint would only fail later, at the handshake, with a vaguer reason.
  if (remote_.dtlsFingerprint.empty()) throw std::invalid_argument("WebRtcTransport: no remote DTLS fingerprint");
  mux_.addSession(local_ufrag_, this);
}

WebRtcTransport::~WebRtcTransport() { mux_.removeSession(this); }

void WebRtcTransport::onPacket(PacketKind kind, uint8_t* data, size_t size, const TransportAddress& from) {
  if (state_ == State::Closed) return;
  // One peer's failure (an exception anywhere below, the listener's code included) ends that
  // peer's transport, never the media thread and every other session with it.
  try {
    handlePacket(kind, data, size, from);
  } catch (const std::exception& e) {
    failInternally(e.what());
  } catch (...) {
    failInternally("unknown exception");
  }
}

void WebRtcTransport::failInternally(const char* what) {
  spdlog::error("media: transport {}: internal error: {}", local_ufrag_, what);
  if (state_ == State::Closed) return;
  closeWithReason(std::string("internal error: ") + what, false);
  deliverEvents();
}

void WebRtcTransport::handlePacket(PacketKind kind, uint8_t* data, size_t size, const TransportAddress& from) {
  switch (kind) {
    case PacketKind::Stun:
      handleStun(data, size, from);
      break;
    case PacketKind::Dtls:
      // Only from a tuple ICE validated: an off-path sender must not reach OpenSSL.
      if (!isValidated(from)) break;
      // Once connected, only handshake (a retransmitted last flight), alert (close_notify) and
      // change_cipher_spec records reach OpenSSL: without data channels no application_data is
      // ever wanted, so such records are dropped here without the cost of decrypting them.
      // (DtlsTransport itself discards an invalid record after the handshake, RFC 6347
      // §4.1.2.7, rather than ending the session.)
      if (state_ == State::Connected && (size == 0 || data[0] < 20 || data[0] > 22)) break;
      dtls_->feed(data, size);
      break;
    case PacketKind::Rtp:
      handleRtp(data, size, from);
      return;  // the listener may have destroyed us: touch nothing more
    case PacketKind::Rtcp:
      handleRtcp(data, size, from);
      return;
    case PacketKind::Unknown:
      break;
  }
  deliverEvents();
}

void WebRtcTransport::handleStun(const uint8_t* data, size_t size, const TransportAddress& from) {
  auto message = stun::StunMessage::parse(data, size);
  if (!message) return;
  // A check that passes validates its source: bind it so that DTLS and media from it (a second
  // candidate pair, or the peer-reflexive address Chromium uses) reach us through the mux.
  if (ice_.handleStun(*message, from, clock_()) && ice_.isValidatedTuple(from)) mux_.bindTuple(from, this);
}

void WebRtcTransport::handleRtp(uint8_t* data, size_t size, const TransportAddress& from) {
  // Before SRTP is keyed nothing can be authenticated; after, only validated tuples count.
  if (state_ != State::Connected || !srtp_in_ || !isValidated(from)) return;
  const size_t wire_size = size;
  if (!srtp_in_->unprotectRtp(data, size)) return;
  auto packet = rtp::RtpPacket::parse(data, size);
  if (!packet) return;
  ++counters_.rtp_packets_in;
  counters_.rtp_bytes_in += wire_size;
  listener_.onRtp(*packet);
}

void WebRtcTransport::handleRtcp(uint8_t* data, size_t size, const TransportAddress& from) {
  if (state_ != State::Connected || !srtp_in_ || !isValidated(from)) return;
  if (!srtp_in_->unprotectRtcp(data, size)) return;
  ++counters_.rtcp_packets_in;
  listener_.onRtcp(data, size);
}

bool WebRtcTransport::isValidated(const TransportAddress& from) const { return ice_.isValidatedTuple(from); }

bool WebRtcTransport::sendRtp(uint8_t* buf, size_t len, size_t capacity) {
  if (state_ != State::Connected || !srtp_out_ || !selected_) return false;
  if (!srtp_out_->protectRtp(buf, len, capacity)) return false;
  mux_.send(buf, len, *selected_);
  ++counters_.rtp_packets_out;
  counters_.rtp_bytes_out += len;
  return true;
}

bool WebRtcTransport::sendRtcp(uint8_t* buf, size_t len, size_t capacity) {
  if (state_ != State::Connected || !srtp_out_ || !selected_) return false;
  if (!srtp_out_->protectRtcp(buf, len, capacity)) return false;
  mux_.send(buf, len, *selected_);
  ++counters_.rtcp_packets_out;
  return true;
}

void WebRtcTransport::tick(Clock::time_point now) {
  if (state_ == State::Closed) return;
  // IceServer only watches consent once a check succeeded, and a peer that keeps consent alive
  // with STUN checks but never finishes DTLS would hold its session as long as it likes: both
  // must be done (SRTP keyed) within the connect timeout.
  if (state_ != State::Connected && now - created_ >= connect_timeout_) {
    closeWithReason(std::string(state_ == State::New ? "ICE connectivity checks" : "the DTLS handshake") +
                        " did not complete within " + std::to_string(connect_timeout_.count()) + " ms",
                    true);
  }
  if (state_ != State::Closed) ice_.checkConsent(now);
  // A no-op unless OpenSSL's retransmission timer has expired.
  if (state_ != State::Closed) dtls_->handleTimeout();
  deliverEvents();
}

bool WebRtcTransport::restartIce(std::string remote_ufrag, std::string remote_pwd) {
  if (state_ == State::Closed) return false;
  std::string ufrag = randomIceString(kLocalUfragLength);
  std::string pwd = randomIceString(kLocalPwdLength);
  mux_.removeUfrag(local_ufrag_);
  local_ufrag_ = std::move(ufrag);
  local_pwd_ = std::move(pwd);
  remote_.iceUfrag = std::move(remote_ufrag);
  remote_.icePwd = std::move(remote_pwd);
  ice_.restart(local_ufrag_, local_pwd_, remote_.iceUfrag, remote_.icePwd);
  mux_.addSession(local_ufrag_, this);
  return true;
}

void WebRtcTransport::close() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  dtls_->close();  // close_notify goes out through onDtlsSend while selected_ is still set
  mux_.removeSession(this);
  // A queued "connected" event is moot now, and a local close is not reported.
  connected_event_pending_ = false;
}

void WebRtcTransport::onIceSend(const uint8_t* data, size_t size, const IceServer::Address& to) {
  // Responses go to the request's source, which may not be (or not yet be) the selected tuple.
  mux_.send(data, size, to);
}

void WebRtcTransport::onIceSelectedTuple(const IceServer::Address& tuple) {
  selected_ = tuple;
  mux_.bindTuple(*selected_, this);
  if (state_ == State::New) state_ = State::Connecting;
}

void WebRtcTransport::onIceDisconnected() { closeWithReason("ICE consent expired", true); }

void WebRtcTransport::onDtlsSend(const uint8_t* data, size_t size) {
  // DTLS only ever answers a peer that came through a validated tuple, so one is selected.
  if (selected_) mux_.send(data, size, *selected_);
}

void WebRtcTransport::onDtlsConnected(SrtpProfile profile, const SrtpKeys& local, const SrtpKeys& remote) {
  try {
    srtp_out_ = std::make_unique<SrtpSession>(SrtpSession::Direction::Outbound, profile, local);
    srtp_in_ = std::make_unique<SrtpSession>(SrtpSession::Direction::Inbound, profile, remote);
  } catch (const std::exception& e) {
    srtp_out_.reset();
    srtp_in_.reset();
    closeWithReason(std::string("SRTP setup failed: ") + e.what(), false);
    return;
  }
  spdlog::debug("media: transport {} connected ({})", local_ufrag_, toString(profile));
  state_ = State::Connected;
  connected_event_pending_ = true;
}

void WebRtcTransport::onDtlsFailed(const std::string& reason) { closeWithReason(reason, false); }

void WebRtcTransport::onDtlsClosed() { closeWithReason("DTLS closed by the peer", false); }

void WebRtcTransport::closeWithReason(std::string reason, bool send_close_notify) {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  if (send_close_notify) dtls_->close();
  mux_.removeSession(this);
  spdlog::debug("media: transport {} closed: {}", local_ufrag_, reason);
  connected_event_pending_ = false;
  closed_event_pending_ = std::move(reason);
}

void WebRtcTransport::deliverEvents() {
  // One callback at most, and nothing after it: the listener may destroy us from inside.
  if (closed_event_pending_) {
    std::string reason = std::move(*closed_event_pending_);
    closed_event_pending_.reset();
    listener_.onTransportClosed(reason);
  } else if (connected_event_pending_) {
    connected_event_pending_ = false;
    listener_.onTransportConnected();
  }
}

const char* toString(WebRtcTransport::State state) noexcept {
  switch (state) {
    case WebRtcTransport::State::New:
      return "new";
    case WebRtcTransport::State::Connecting:
      return "connecting";
    case WebRtcTransport::State::Connected:
      return "connected";
    case WebRtcTransport::State::Closed:
      return "closed";
  }
  return "unknown";
}

}  // namespace liveroom::media

// The synchronous loopback WebRTC client of the media end-to-end tests (see loopback_peer.hpp).
#include "unit/media/webrtc/loopback_peer.hpp"

#include <poll.h>

#include <algorithm>

#include "media/demux.hpp"

namespace liveroom::media::test {

namespace net = boost::asio;
using udp = net::ip::udp;

LoopbackPeer::LoopbackPeer(std::string ice_ufrag, std::string ice_pwd)
    : ice_ufrag_(std::move(ice_ufrag)),
      ice_pwd_(std::move(ice_pwd)),
      dtls_context_(DtlsCertificate::generate()),
      socket_(ioc_, udp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
      buffer_(2048) {
  socket_.non_blocking(true);
}

LoopbackPeer::~LoopbackPeer() = default;

std::optional<LoopbackPeer::StunResponse> LoopbackPeer::check(const std::string& password, bool nominate) {
  stun::TransactionId txid{};
  txid.fill(next_transaction_++);
  Bytes request;
  stun::StunMessageWriter w(request);
  w.begin(stun::StunClass::Request, stun::kMethodBinding, txid);
  const std::string username = remote_.ice_ufrag + ":" + ice_ufrag_;
  w.addAttribute(stun::attr::kUsername, reinterpret_cast<const uint8_t*>(username.data()), username.size());
  const uint8_t priority[4] = {0x6e, 0x00, 0x1e, 0xff};
  w.addAttribute(stun::attr::kPriority, priority, sizeof priority);
  const uint8_t tiebreaker[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  w.addAttribute(stun::attr::kIceControlling, tiebreaker, sizeof tiebreaker);
  if (nominate) w.addAttribute(stun::attr::kUseCandidate, nullptr, 0);
  w.addMessageIntegrity(password);
  w.addFingerprint();
  sendRaw(request);

  std::optional<StunResponse> response;
  waitUntil([&] {
    for (auto it = stun_.begin(); it != stun_.end(); ++it) {
      auto message = stun::StunMessage::parse(it->data(), it->size());
      if (!message || message->transactionId() != txid) continue;
      StunResponse r;
      r.message_class = message->messageClass();
      r.error_code = message->errorCode();
      r.integrity_ok = message->verifyIntegrity(password);
      r.mapped_address = message->xorMappedAddress();
      response = r;
      stun_.erase(it);
      return true;
    }
    return false;
  });
  return response;
}

bool LoopbackPeer::connect() {
  const auto response = check(remote_.ice_pwd, true);
  if (!response) {
    failure_ = "no answer to the ICE check";
    return false;
  }
  if (response->message_class != stun::StunClass::SuccessResponse) {
    failure_ = "ICE check failed with " + std::to_string(response->error_code.value_or(0));
    return false;
  }
  DtlsTransport::Options options;
  options.role = DtlsTransport::Role::Client;
  options.remoteFingerprint = remote_.fingerprint;
  dtls_ = std::make_unique<DtlsTransport>(dtls_context_, options, static_cast<DtlsTransport::Listener&>(*this));
  dtls_->start();
  if (!waitUntil([&] { return srtp_in_ != nullptr || !failure_.empty(); })) failure_ = "DTLS handshake timed out";
  return srtp_in_ != nullptr;
}

bool LoopbackPeer::sendRtp(const Bytes& packet) {
  if (!srtp_out_) return false;
  Bytes wire = packet;
  size_t len = wire.size();
  wire.resize(len + SrtpSession::kMaxRtpTrailer);
  if (!srtp_out_->protectRtp(wire.data(), len, wire.size())) return false;
  wire.resize(len);
  sendRaw(wire);
  return true;
}

bool LoopbackPeer::sendRtcp(const Bytes& packet) {
  if (!srtp_out_) return false;
  Bytes wire = packet;
  size_t len = wire.size();
  wire.resize(len + SrtpSession::kMaxRtcpTrailer);
  if (!srtp_out_->protectRtcp(wire.data(), len, wire.size())) return false;
  wire.resize(len);
  sendRaw(wire);
  return true;
}

void LoopbackPeer::sendRaw(const Bytes& datagram) {
  boost::system::error_code ec;
  socket_.send_to(net::buffer(datagram), remote_.endpoint, 0, ec);
}

bool LoopbackPeer::waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    const auto now = Clock::now();
    if (now >= deadline) return false;
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (dtls_) {
      if (auto next = dtls_->nextTimeout()) wait = std::min(wait, std::max(*next, std::chrono::milliseconds(1)));
    }
    wait = std::min(wait, std::chrono::milliseconds(100));
    if (receiveOne(wait)) {
      poll();  // the rest of what is queued, then check again
    }
    if (dtls_) dtls_->handleTimeout();
  }
  return true;
}

void LoopbackPeer::poll() {
  while (receiveOne(std::chrono::milliseconds(0))) {
  }
}

bool LoopbackPeer::receiveOne(std::chrono::milliseconds wait) {
  pollfd fd{socket_.native_handle(), POLLIN, 0};
  if (::poll(&fd, 1, static_cast<int>(wait.count())) <= 0) return false;
  udp::endpoint from;
  boost::system::error_code ec;
  const size_t size = socket_.receive_from(net::buffer(buffer_), from, 0, ec);
  if (ec) return false;
  dispatch(buffer_.data(), size);
  return true;
}

void LoopbackPeer::dispatch(const uint8_t* data, size_t size) {
  switch (classifyPacket(data, size)) {
    case PacketKind::Stun:
      stun_.emplace_back(data, data + size);
      break;
    case PacketKind::Dtls:
      if (dtls_) dtls_->feed(data, size);
      break;
    case PacketKind::Rtp: {
      Bytes packet(data, data + size);
      if (drop_rtp && drop_rtp(packet)) {
        ++dropped_rtp;
        break;
      }
      size_t len = packet.size();
      if (srtp_in_ && srtp_in_->unprotectRtp(packet.data(), len)) {
        packet.resize(len);
        rtp.push_back(std::move(packet));
      } else {
        ++undecryptable;
      }
      break;
    }
    case PacketKind::Rtcp: {
      Bytes packet(data, data + size);
      size_t len = packet.size();
      if (srtp_in_ && srtp_in_->unprotectRtcp(packet.data(), len)) {
        packet.resize(len);
        rtcp.push_back(std::move(packet));
      } else {
        ++undecryptable;
      }
      break;
    }
    case PacketKind::Unknown:
      break;
  }
}

void LoopbackPeer::close() {
  if (dtls_) dtls_->close();
}

void LoopbackPeer::onDtlsSend(const uint8_t* data, size_t size) {
  boost::system::error_code ec;
  socket_.send_to(net::buffer(data, size), remote_.endpoint, 0, ec);
}

void LoopbackPeer::onDtlsConnected(SrtpProfile profile, const SrtpKeys& local, const SrtpKeys& remote) {
  srtp_out_ = std::make_unique<SrtpSession>(SrtpSession::Direction::Outbound, profile, local);
  srtp_in_ = std::make_unique<SrtpSession>(SrtpSession::Direction::Inbound, profile, remote);
}

void LoopbackPeer::onDtlsFailed(const std::string& reason) { failure_ = "DTLS failed: " + reason; }

void LoopbackPeer::onDtlsClosed() { dtls_closed_ = true; }

}  // namespace liveroom::media::test

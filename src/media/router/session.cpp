// Session basics shared by publishers and viewers (see session.hpp).
#include "media/router/session.hpp"

#include <stdexcept>
#include <vector>

namespace liveroom::media {

uint32_t randomSsrc() {
  uint32_t ssrc = 0;
  while (ssrc == 0) ssrc = randomValue<uint32_t>();
  return ssrc;
}

Session::Session(Role role, std::string id, std::string input_uid, SessionEvents& events, PacketMux& mux,
                 const DtlsContext& dtls, WebRtcTransport::RemoteParameters remote, ClockFunction clock)
    : role_(role),
      id_(std::move(id)),
      input_uid_(std::move(input_uid)),
      etag_("\"" + randomHex(8) + "\""),
      remote_ufrag_(remote.iceUfrag),
      remote_pwd_(remote.icePwd),
      events_(events),
      clock_(std::move(clock)),
      last_media_(clock_()),
      transport_(std::make_unique<WebRtcTransport>(mux, dtls, std::move(remote),
                                                   static_cast<WebRtcTransport::Listener&>(*this), clock_)) {}

bool Session::restartIce(const std::string& remote_ufrag, const std::string& remote_pwd) {
  if (closed_ || !transport_->restartIce(remote_ufrag, remote_pwd)) return false;
  remote_ufrag_ = remote_ufrag;
  remote_pwd_ = remote_pwd;
  etag_ = "\"" + randomHex(8) + "\"";
  return true;
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  transport_->close();
}

void Session::fail(std::string reason) {
  if (!failure_) failure_ = std::move(reason);
  close();
}

void Session::onTransportConnected() {
  if (closed_) return;
  ever_connected_ = true;
  events_.onSessionConnected(*this);
}

void Session::onTransportClosed(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  events_.onSessionClosed(*this, reason);
}

MediaCounters& MediaCounters::operator+=(const MediaCounters& o) noexcept {
  transport += o.transport;
  nacks_received += o.nacks_received;
  retransmissions += o.retransmissions;
  retransmissions_refused += o.retransmissions_refused;
  key_frame_requests_received += o.key_frame_requests_received;
  plis_sent += o.plis_sent;
  nacks_sent += o.nacks_sent;
  recovered += o.recovered;
  lost += o.lost;
  return *this;
}

MediaCounters Session::counters() const {
  MediaCounters c;
  c.transport = transport_->counters();
  return c;
}

}  // namespace liveroom::media

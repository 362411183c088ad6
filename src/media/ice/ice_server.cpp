// ICE-lite server (see ice_server.hpp).
#include "media/ice/ice_server.hpp"

#include <algorithm>

namespace liveroom::media {

IceServer::IceServer(Listener& listener, std::string local_ufrag, std::string local_pwd, std::string remote_ufrag)
    : listener_(listener),
      local_ufrag_(std::move(local_ufrag)),
      local_pwd_(std::move(local_pwd)),
      remote_ufrag_(std::move(remote_ufrag)) {}

void IceServer::sendError(const stun::StunMessage& request, uint16_t code, std::string_view reason, const Address& to) {
  size_t size = stun::buildBindingError(request.transactionId(), code, reason, out_);
  listener_.onIceSend(out_.data(), size, to);
}

bool IceServer::handleStun(const stun::StunMessage& message, const Address& from, Clock::time_point now) {
  // Only binding requests need an answer; indications (keepalives) and stray responses
  // are dropped. A fingerprint that is present must match (RFC 7983 demux safety).
  if (!message.isBindingRequest()) return false;
  if (message.fingerprint() && !message.verifyFingerprint()) return false;
  if (state_ == State::Disconnected) return false;

  // USERNAME is "<our ufrag>:<their ufrag>" (RFC 8445 §7.2.2).
  auto username = message.username();
  if (!username || !message.messageIntegrityOffset()) {
    sendError(message, 400, "Bad Request", from);
    return false;
  }
  size_t colon = username->find(':');
  std::string_view ours = username->substr(0, colon);
  std::string_view theirs = colon == std::string_view::npos ? std::string_view{} : username->substr(colon + 1);
  if (ours != local_ufrag_ || (!remote_ufrag_.empty() && theirs != remote_ufrag_) ||
      !message.verifyIntegrity(local_pwd_)) {
    sendError(message, 401, "Unauthorized", from);
    return false;
  }

  size_t size = stun::buildBindingSuccess(message.transactionId(), from, local_pwd_, out_);
  listener_.onIceSend(out_.data(), size, from);

  last_consent_ = now;
  if (std::find(validated_.begin(), validated_.end(), from) == validated_.end()) validated_.push_back(from);
  // A lite agent is always controlled: the peer's nomination (USE-CANDIDATE) picks the
  // tuple. Until one arrives, the first valid tuple carries media so it starts at once.
  if ((message.useCandidate() || !selected_) && selected_ != from) {
    selected_ = from;
    state_ = State::Connected;
    listener_.onIceSelectedTuple(from);
  }
  return true;
}

void IceServer::checkConsent(Clock::time_point now) {
  if (state_ != State::Connected) return;
  if (now - last_consent_ >= kConsentTimeout) {
    state_ = State::Disconnected;
    listener_.onIceDisconnected();
  }
}

void IceServer::restart(std::string local_ufrag, std::string local_pwd, std::string remote_ufrag) {
  local_ufrag_ = std::move(local_ufrag);
  local_pwd_ = std::move(local_pwd);
  remote_ufrag_ = std::move(remote_ufrag);
}

bool IceServer::isValidatedTuple(const Address& from) const {
  return std::find(validated_.begin(), validated_.end(), from) != validated_.end();
}

}  // namespace liveroom::media

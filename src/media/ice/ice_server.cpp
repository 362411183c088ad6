// ICE-lite server (see ice_server.hpp).
#include "media/ice/ice_server.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/random.hpp"

namespace liveroom::media {

namespace {

// Our host candidate's priority as a peer-reflexive one (RFC 8445 §5.1.2.1: type preference
// 110, local preference 65535, component 1), the value a check carries.
constexpr uint32_t kPeerReflexivePriority = (110u << 24) | (65535u << 8) | (256u - 1u);

}  // namespace

IceServer::IceServer(Listener& listener, std::string local_ufrag, std::string local_pwd, std::string remote_ufrag,
                     std::string remote_pwd)
    : listener_(listener),
      local_ufrag_(std::move(local_ufrag)),
      local_pwd_(std::move(local_pwd)),
      remote_ufrag_(std::move(remote_ufrag)),
      remote_pwd_(std::move(remote_pwd)) {
  randomBytes(&tie_breaker_, sizeof tie_breaker_);
}

void IceServer::sendTriggeredCheck(const Address& to) {
  stun::TransactionId id{};
  randomBytes(id.data(), id.size());
  const std::string username = remote_ufrag_ + ":" + local_ufrag_;
  const size_t size = stun::buildBindingRequest(id, username, kPeerReflexivePriority, tie_breaker_, remote_pwd_, out_);
  ++triggered_checks_;
  listener_.onIceSend(out_.data(), size, to);
}

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
  const bool new_tuple = std::find(validated_.begin(), validated_.end(), from) == validated_.end();
  if (new_tuple) validated_.push_back(from);
  // A check on a tuple not yet nominated: check back at once, so the peer can nominate it now.
  if (new_tuple && !message.useCandidate() && !remote_ufrag_.empty() && !remote_pwd_.empty()) {
    sendTriggeredCheck(from);
  }
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

void IceServer::restart(std::string local_ufrag, std::string local_pwd, std::string remote_ufrag,
                        std::string remote_pwd) {
  local_ufrag_ = std::move(local_ufrag);
  local_pwd_ = std::move(local_pwd);
  remote_ufrag_ = std::move(remote_ufrag);
  remote_pwd_ = std::move(remote_pwd);
}

bool IceServer::isValidatedTuple(const Address& from) const {
  return std::find(validated_.begin(), validated_.end(), from) != validated_.end();
}

}  // namespace liveroom::media

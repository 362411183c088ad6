// ICE-lite server for one WebRTC session (RFC 8445 §2.5, RFC 7675): answers the peer's
// STUN binding checks on our single UDP port, learns the addresses they come from
// (peer-reflexive: Chromium's checks arrive from the NIC address, not 127.0.0.1),
// selects the tuple the peer nominates, and tracks consent freshness. Pure logic: the
// caller hands in parsed STUN requests with their source address and a clock reading;
// responses and state changes come out through the Listener.
//
// One thing beyond ICE-lite: when a peer's first valid check arrives from a new address, the
// server sends one binding request back on that tuple (a triggered check, RFC 8445 §7.3.1.4,
// as the controlled side). Agents that nominate on a timer against a lite peer (Pion: every
// 200 ms) nominate as soon as a check arrives on a pair that already succeeded, so the session
// connects one round trip after the answer instead of one timer tick. Its response is dropped:
// the pair is validated by the peer's own check.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "media/stun/stun_message.hpp"

namespace liveroom::media {

class IceServer {
 public:
  using Clock = std::chrono::steady_clock;
  using Address = stun::TransportAddress;

  enum class State { New, Connected, Disconnected };

  class Listener {
   public:
    virtual ~Listener() = default;
    // A STUN response to send back to `to` (the request's source address).
    virtual void onIceSend(const uint8_t* data, size_t size, const Address& to) = 0;
    // The tuple media now flows on (first valid check, then each nomination).
    virtual void onIceSelectedTuple(const Address& tuple) = 0;
    // No valid check within the consent timeout: the session should close.
    virtual void onIceDisconnected() = 0;
  };

  // RFC 7675: consent expires 30 s after the last successful check.
  static constexpr std::chrono::seconds kConsentTimeout{30};

  // `remote_pwd` empty: no triggered checks (the peer's password is needed to sign them).
  IceServer(Listener& listener, std::string local_ufrag, std::string local_pwd, std::string remote_ufrag,
            std::string remote_pwd = {});

  // Handles one parsed STUN message that arrived from `from`. Returns true when it was a
  // valid binding request from our peer (answered with a success response).
  bool handleStun(const stun::StunMessage& message, const Address& from, Clock::time_point now);
  // Call periodically: declares the session disconnected once consent has expired.
  void checkConsent(Clock::time_point now);
  // ICE restart: new credentials on both sides; known tuples stay until re-validated.
  void restart(std::string local_ufrag, std::string local_pwd, std::string remote_ufrag, std::string remote_pwd = {});
  uint64_t triggeredChecks() const { return triggered_checks_; }

  State state() const { return state_; }
  const std::optional<Address>& selectedTuple() const { return selected_; }
  // True when `from` has passed a valid check (media from other addresses is dropped).
  bool isValidatedTuple(const Address& from) const;
  const std::string& localUfrag() const { return local_ufrag_; }
  const std::string& localPwd() const { return local_pwd_; }

 private:
  void sendError(const stun::StunMessage& request, uint16_t code, std::string_view reason, const Address& to);
  void sendTriggeredCheck(const Address& to);

  Listener& listener_;
  std::string local_ufrag_;
  std::string local_pwd_;
  std::string remote_ufrag_;
  std::string remote_pwd_;
  uint64_t tie_breaker_ = 0;
  uint64_t triggered_checks_ = 0;
  State state_ = State::New;
  std::optional<Address> selected_;
  std::vector<Address> validated_;
  Clock::time_point last_consent_{};
  std::vector<uint8_t> out_;  // reused for every response: no allocation per check
};

}  // namespace liveroom::media

// ICE servers handed to WHIP/WHEP clients (RFC 9725 §4.6): the STUN and TURN URLs given with
// --ice-server, each as a `Link: <url>; rel="ice-server"` header on the 201 reply to an offer
// and on a non-preflight OPTIONS. TURN URLs carry credentials: time-limited ones made from
// --turn-secret with coturn's REST API scheme (`use-auth-secret`: username "<expiry>:<user>",
// password base64(HMAC-SHA1(secret, username))), or static ones (--turn-username/--turn-password).
// Pure: the caller passes the clock reading.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace liveroom::api {

// Checks one --ice-server URL (RFC 7064 stun:/stuns:, RFC 7065 turn:/turns: host[:port], turn
// with an optional ?transport=udp|tcp). Throws std::invalid_argument saying what is wrong.
void validateIceServerUrl(std::string_view url);

struct TurnCredential {
  std::string username;
  std::string password;
};

// coturn's use-auth-secret credential for `user`, valid until `expiry_unix` (seconds).
TurnCredential turnRestCredential(std::string_view secret, std::string_view user, int64_t expiry_unix);

struct IceServersOptions {
  std::vector<std::string> urls;  // stun:, stuns:, turn:, turns:
  std::string turn_secret;        // coturn static-auth-secret; empty: none
  std::string turn_username;      // static TURN credentials (when there is no secret)
  std::string turn_password;
  std::chrono::seconds credential_ttl{12 * 3600};
};

class IceServers {
 public:
  // Throws std::invalid_argument naming the bad URL, or a TURN URL without any credentials,
  // or a secret together with static credentials.
  explicit IceServers(IceServersOptions options);

  bool empty() const noexcept { return options_.urls.empty(); }
  // One Link header value per URL, in the order given; TURN ones with credentials valid from
  // `now` for the configured lifetime.
  std::vector<std::string> linkHeaders(std::chrono::system_clock::time_point now) const;

 private:
  IceServersOptions options_;
};

}  // namespace liveroom::api

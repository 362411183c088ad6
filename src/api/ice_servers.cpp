// ICE servers for WHIP/WHEP clients (see ice_servers.hpp).
#include "api/ice_servers.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "common/base64.hpp"

namespace liveroom::api {
namespace {

bool isTurn(std::string_view url) { return url.starts_with("turn:") || url.starts_with("turns:"); }

// A quoted-string (RFC 9110 §5.6.4) for a Link parameter value.
std::string quotedValue(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool isHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' ||
         c == ']';
}

}  // namespace

void validateIceServerUrl(std::string_view url) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("--ice-server " + std::string(url) + ": " + why);
  };
  const size_t colon = url.find(':');
  const std::string_view scheme = url.substr(0, colon);
  if (colon == std::string_view::npos ||
      (scheme != "stun" && scheme != "stuns" && scheme != "turn" && scheme != "turns")) {
    fail("must start with stun:, stuns:, turn: or turns:");
  }
  std::string_view rest = url.substr(colon + 1);
  if (rest.starts_with("//")) fail("write stun:host:port or turn:host:port, without //");
  std::string_view query;
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (!query.empty()) {
    if (scheme.starts_with("stun")) fail("stun URLs take no ?query");
    if (query != "transport=udp" && query != "transport=tcp") fail("the only query allowed is ?transport=udp|tcp");
  }
  if (rest.empty()) fail("no host");
  if (!std::all_of(rest.begin(), rest.end(), isHostChar))
    fail("the host may hold letters, digits, . - _ [ ] and :port");
  // host, host:port, [v6], [v6]:port
  std::string_view port;
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos || close == 1) fail("an IPv6 address goes in [brackets]");
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') fail("expected :port after ]");
      port = after.substr(1);
      if (port.empty()) fail("empty port");
    }
  } else {
    const size_t c = rest.rfind(':');
    if (c != std::string_view::npos) {
      if (rest.find(':') != c) fail("an IPv6 address goes in [brackets]");
      port = rest.substr(c + 1);
      if (c == 0) fail("no host");
      if (port.empty()) fail("empty port");
    }
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      fail("the port must be a number");
    }
    const int n = std::stoi(std::string(port));
    if (n < 1 || n > 65535) fail("the port must be 1-65535");
  }
}

TurnCredential turnRestCredential(std::string_view secret, std::string_view user, int64_t expiry_unix) {
  TurnCredential c;
  c.username = std::to_string(expiry_unix) + ":" + std::string(user);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(c.username.data()), c.username.size(), mac, &mac_len) == nullptr) {
    throw std::runtime_error("HMAC-SHA1 failed");
  }
  c.password = encodeBase64(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
  return c;
}

IceServers::IceServers(IceServersOptions options) : options_(std::move(options)) {
  for (const std::string& url : options_.urls) validateIceServerUrl(url);
  if (!options_.turn_secret.empty() && (!options_.turn_username.empty() || !options_.turn_password.empty())) {
    throw std::invalid_argument("--turn-secret and --turn-username/--turn-password: give one or the other");
  }
  if (options_.turn_username.empty() != options_.turn_password.empty()) {
    throw std::invalid_argument("--turn-username and --turn-password go together");
  }
  const bool credentials = !options_.turn_secret.empty() || !options_.turn_username.empty();
  const bool any_turn = std::any_of(options_.urls.begin(), options_.urls.end(), [](auto& u) { return isTurn(u); });
  if (any_turn && !credentials) {
    throw std::invalid_argument("a turn: --ice-server needs --turn-secret (or --turn-username and --turn-password)");
  }
  if (credentials && !any_turn) {
    throw std::invalid_argument("TURN credentials were given but no turn: or turns: --ice-server");
  }
  if (options_.credential_ttl.count() < 60) throw std::invalid_argument("--turn-ttl must be at least 60 seconds");
}

std::vector<std::string> IceServers::linkHeaders(std::chrono::system_clock::time_point now) const {
  std::vector<std::string> out;
  if (options_.urls.empty()) return out;
  TurnCredential credential{options_.turn_username, options_.turn_password};
  if (!options_.turn_secret.empty()) {
    const int64_t expiry =
        std::chrono::duration_cast<std::chrono::seconds>((now + options_.credential_ttl).time_since_epoch()).count();
    credential = turnRestCredential(options_.turn_secret, "liveroom", expiry);
  }
  for (const std::string& url : options_.urls) {
    std::string link = "<" + url + ">; rel=\"ice-server\"";
    if (isTurn(url)) {
      link += "; username=" + quotedValue(credential.username) + "; credential=" + quotedValue(credential.password) +
              "; credential-type=\"password\"";
    }
    out.push_back(std::move(link));
  }
  return out;
}

}  // namespace liveroom::api

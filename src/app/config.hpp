// Configuration of `liveroom serve`: flags, each with an env twin, plus the Cloudflare
// variables. The only place (with app.cpp and serve.cpp) that reads the environment.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/chain.hpp"
#include "stream/cloudflare/cloudflare_stream.hpp"

namespace liveroom::app {

struct ServeConfig {
  std::string listen = "127.0.0.1:8080";
  std::string public_url;  // empty: http://<listen>
  std::string data_dir = "./data";
  std::string store = "sqlite";  // sqlite | mongodb | contract
  std::string mongodb_uri = "mongodb://127.0.0.1:27017/liveroom";
  std::string stream;  // local | cloudflare (resolved: never empty after parsing)
  std::optional<std::string> api_key;
  std::optional<std::string> cloudflare_webhook_secret;
  std::vector<std::string> cors_origins{"*"};
  int cache_ttl_ms = 2000;
  std::string log_level = "info";
  int http_threads = 0;  // 0: one per core
  int blocking_threads = 16;
  std::string web_dir = LIVEROOM_WEB_DIR;
  int webrtc_port = 8189;               // the first media worker's UDP port; worker i: +i (0: any)
  int media_workers = 0;                // media threads (0: one per core, at most 64)
  std::vector<std::string> webrtc_ips;  // advertised host candidates; empty: every interface address
  int webrtc_tcp_port = 0;              // ICE-TCP of the first worker (+i for worker i); 0: the UDP ports' numbers
  bool no_webrtc_tcp = false;           // ICE-TCP off
  bool no_publisher_nack = false;       // do not ask broadcasters to resend lost packets
  bool no_webrtc_udp_gso = false;       // one datagram per message to the kernel
  std::optional<CloudflareConfig> cloudflare;
  ChainConfig chain;  // --store contract
  // What strangers can make the server hold ("Running it on a network" in the README).
  int max_connections = 0;         // 0: from the file-descriptor limit
  int max_connections_per_ip = 0;  // 0: an eighth of max_connections (at least 16)
  int request_timeout_s = 30;      // to send a whole request; idle keep-alive
  int max_sessions = 4000;         // WHIP + WHEP sessions
  int max_sessions_per_room = 0;   // 0: only max_sessions
  int max_sessions_per_ip = 100;
  double offers_per_second = 5;         // WHIP/WHEP POSTs per client address
  int ice_timeout_ms = 10000;           // sessions that never connect
  int viewer_retransmit_kbps = 2000;    // NACK answers per viewer
  int webrtc_socket_buffer_kib = 8192;  // SO_RCVBUF/SO_SNDBUF of the media UDP sockets
  // HTTPS on --listen: PEM files, or a self-signed certificate made for the listen/public names.
  std::string tls_cert;
  std::string tls_key;
  bool tls_self_signed = false;
  // Rooms end by themselves (seconds; 0: off): never went live, broadcaster left, in any case.
  int room_idle_timeout_s = 3600;
  int room_empty_timeout_s = 900;
  int room_max_duration_s = 12 * 3600;
  double creates_per_minute = 10;            // per client address
  std::vector<std::string> trusted_proxies;  // whose X-Forwarded-For is believed
  // ICE servers handed to browsers and WHIP/WHEP clients (--stream local).
  std::vector<std::string> ice_servers;  // stun:, turn:, turns: URLs
  std::string turn_secret;               // coturn static-auth-secret (use-auth-secret)
  std::string turn_username;             // or static TURN credentials
  std::string turn_password;
  int turn_ttl_s = 12 * 3600;  // lifetime of credentials made from turn_secret
  // Outgoing webhooks (Standard Webhooks): endpoints, and signing secrets (whsec_...; the first
  // signs, all sign during a rotation).
  std::vector<std::string> webhook_urls;
  std::vector<std::string> webhook_secrets;
  int webhook_retry_max_s = 600;  // the longest wait between two attempts
  // GET /metrics on its own HOST:PORT (open there) instead of the API's listener.
  std::string metrics_listen;
  // At SIGTERM/SIGINT: how long requests already read may take to be answered.
  int shutdown_timeout_s = 10;
};

// Connection limits in force: explicit ones, else derived from the descriptor limit (leaving
// room for the store, provider connections and files being served).
struct ConnectionLimits {
  size_t total = 0;
  size_t per_address = 0;
};
ConnectionLimits connectionLimits(int max_connections, int max_connections_per_ip, uint64_t fd_limit);

// Thrown for configuration the server cannot run with; the message names the setting.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads CLOUDFLARE_* variables through `getenv` (injectable for tests) and checks the
// combination: stream "cloudflare" needs an account id and one complete auth scheme.
// Returns the resolved stream ("local" or "cloudflare") and fills config.cloudflare.
void resolveStream(ServeConfig& config, const std::function<const char*(const char*)>& getenv);

}  // namespace liveroom::app

// Composition root (see app.hpp): the only place that picks implementations.
#include "app/app.hpp"

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <malloc.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/errors.hpp"
#include "api/room_views.hpp"
#include "api/rooms_api.hpp"
#include "app/config.hpp"
#include "common/error.hpp"
#include "http/curl_http_client.hpp"
#include "http/server.hpp"
#include "http/tls_context.hpp"
#include "rooms/room_service.hpp"
#include "store/contract/contract_room_store.hpp"
#include "store/mongo/mongo_room_store.hpp"
#include "store/sqlite/sqlite_room_store.hpp"
#include "stream/cloudflare/cloudflare_stream.hpp"
#include "web/static_site.hpp"
#include "api/http_helpers.hpp"
#include "eth/hex.hpp"
#include "api/webrtc_api.hpp"
#include "app/data_dir.hpp"
#include "app/reachability.hpp"
#include "common/periodic_task.hpp"
#include "media/server/media_server.hpp"
#include "stream/local/local_stream.hpp"
#include "stream/local/media_room_events.hpp"
#include "webhooks/dispatcher.hpp"
#include "api/metrics_endpoint.hpp"
#include "api/routes.hpp"
#include "app/metrics_sources.hpp"
#include "metrics/instrumented.hpp"
#include "metrics/metrics.hpp"

namespace liveroom::app {

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 2;

int configError(const std::string& message) {
  std::cerr << "liveroom: " << message << "\n";
  return kExitConfig;
}

api::IceServersOptions iceServersOptions(const ServeConfig& config) {
  api::IceServersOptions o;
  o.urls = config.ice_servers;
  o.turn_secret = config.turn_secret;
  o.turn_username = config.turn_username;
  o.turn_password = config.turn_password;
  o.credential_ttl = std::chrono::seconds(config.turn_ttl_s);
  return o;
}

void setupLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("liveroom");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

void addServeOptions(CLI::App& serve, ServeConfig& c) {
  serve.add_option("--listen", c.listen, "HTTP address, HOST:PORT")->envname("LIVEROOM_LISTEN")->capture_default_str();
  serve
      .add_option("--metrics-listen", c.metrics_listen,
                  "serve GET /metrics (Prometheus) on this HOST:PORT instead of --listen, without the API key; "
                  "bind it to a private address")
      ->envname("LIVEROOM_METRICS_LISTEN");
  serve.add_option("--public-url", c.public_url, "URL clients reach this server at (default http://<listen>)")
      ->envname("LIVEROOM_PUBLIC_URL");
  serve.add_option("--data-dir", c.data_dir, "directory for the SQLite store")
      ->envname("LIVEROOM_DATA_DIR")
      ->capture_default_str();
  serve.add_option("--store", c.store, "room store: sqlite, mongodb or contract (a RoomRegistry on an EVM chain)")
      ->envname("LIVEROOM_STORE")
      ->check(CLI::IsMember({"sqlite", "mongodb", "contract"}))
      ->capture_default_str();
  serve.add_option("--mongodb-uri", c.mongodb_uri, "MongoDB URI for --store mongodb (database from its path)")
      ->envname("LIVEROOM_MONGODB_URI")
      ->capture_default_str();
  serve
      .add_option("--stream", c.stream,
                  "stream provider: local or cloudflare (default: cloudflare when CLOUDFLARE_ACCOUNT_ID is set; "
                  "Cloudflare credentials come from CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN or CLOUDFLARE_EMAIL "
                  "+ CLOUDFLARE_API_KEY, CLOUDFLARE_API_BASE)")
      ->envname("LIVEROOM_STREAM")
      ->check(CLI::IsMember({"local", "cloudflare"}));
  serve.add_option("--api-key", c.api_key, "when set, creating a room requires Authorization: Bearer <api key>")
      ->envname("LIVEROOM_API_KEY");
  serve
      .add_option("--cloudflare-webhook-secret", c.cloudflare_webhook_secret,
                  "secret of a Cloudflare Notifications webhook pointed at /api/livestream/webhooks/cloudflare "
                  "(keeps rooms' live flag current)")
      ->envname("CLOUDFLARE_WEBHOOK_SECRET");
  serve.add_option("--cors-origin", c.cors_origins, "allowed CORS origins (* for any); repeat or comma-separate")
      ->envname("LIVEROOM_CORS_ORIGIN")
      ->delimiter(',')
      ->capture_default_str();
  serve
      .add_option("--cache-ttl-ms", c.cache_ttl_ms,
                  "how long a join may serve a room read by another process (while the store is slow to "
                  "answer its refresh, up to 10 times as long)")
      ->envname("LIVEROOM_CACHE_TTL_MS")
      ->check(CLI::Range(0, 3600 * 1000))
      ->capture_default_str();
  serve.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->envname("LIVEROOM_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  serve.add_option("--http-threads", c.http_threads, "HTTP threads (0: one per core)")
      ->envname("LIVEROOM_HTTP_THREADS")
      ->check(CLI::Range(0, 256));
  serve
      .add_option("--blocking-threads", c.blocking_threads,
                  "threads for store calls, and as many again for stream provider calls")
      ->envname("LIVEROOM_BLOCKING_THREADS")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  serve.add_option("--web-dir", c.web_dir, "directory of the web pages (lobby, studio, watch)")
      ->envname("LIVEROOM_WEB_DIR")
      ->capture_default_str();
  serve
      .add_option("--webrtc-port", c.webrtc_port,
                  "UDP port of the embedded media server (--stream local); with several media workers, worker i "
                  "takes this port + i (0: any free ports)")
      ->envname("LIVEROOM_WEBRTC_PORT")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  serve
      .add_option("--media-workers", c.media_workers,
                  "media threads, each with its own UDP (and ICE-TCP) port; a room's viewers spread over all of "
                  "them (0, the default: one per core)")
      ->envname("LIVEROOM_MEDIA_WORKERS")
      ->check(CLI::Range(0, 64));
  serve
      .add_option("--webrtc-tcp-port", c.webrtc_tcp_port,
                  "TCP port for ICE-TCP, for networks that block UDP; worker i takes this port + i (0, the default: "
                  "each worker's UDP port number)")
      ->envname("LIVEROOM_WEBRTC_TCP_PORT")
      ->check(CLI::Range(0, 65535));
  serve.add_flag("--no-webrtc-tcp", c.no_webrtc_tcp, "no ICE-TCP: media over UDP only")
      ->envname("LIVEROOM_NO_WEBRTC_TCP");
  serve
      .add_flag("--no-publisher-nack", c.no_publisher_nack,
                "do not ask broadcasters to resend packets lost on their way in (to measure what NACK buys)")
      ->envname("LIVEROOM_NO_PUBLISHER_NACK");
  serve
      .add_flag("--no-webrtc-udp-gso", c.no_webrtc_udp_gso,
                "send each media datagram on its own: no UDP GSO (by default a viewer's packets of one video frame "
                "go to the kernel as one message when it has UDP_SEGMENT, and a device that refuses it turns it off)")
      ->envname("LIVEROOM_NO_WEBRTC_UDP_GSO");
  serve
      .add_option("--webrtc-ip", c.webrtc_ips,
                  "IPv4 or IPv6 addresses the media server advertises to browsers (default: every interface "
                  "address); repeat or comma-separate")
      ->envname("LIVEROOM_WEBRTC_IP")
      ->delimiter(',')
      ->check(CLI::Validator(
          [](std::string& value) {
            boost::system::error_code ec;
            const auto address = boost::asio::ip::make_address(value, ec);
            if (ec || address.is_unspecified() || address.is_multicast()) {
              return std::string("not an IPv4 or IPv6 address a browser can reach: ") + value;
            }
            value = address.to_string();
            return std::string();
          },
          "IP"));
  addChainOptions(serve, c.chain, /*with_contract=*/true);

  serve.add_option("--tls-cert", c.tls_cert, "PEM certificate (chain) file: serve HTTPS on --listen (with --tls-key)")
      ->envname("LIVEROOM_TLS_CERT");
  serve.add_option("--tls-key", c.tls_key, "PEM private key file of --tls-cert")->envname("LIVEROOM_TLS_KEY");
  serve
      .add_flag("--tls-self-signed", c.tls_self_signed,
                "serve HTTPS with a self-signed certificate for the listen and public addresses, kept in --data-dir "
                "(browsers warn: for trying liveroom on a LAN)")
      ->envname("LIVEROOM_TLS_SELF_SIGNED");

  serve
      .add_option("--ice-server", c.ice_servers,
                  "STUN/TURN server for browsers and WHIP/WHEP clients (stun:host:port, turn:host:port?transport=udp, "
                  "turns:host:5349), sent as Link headers; repeat or comma-separate")
      ->envname("LIVEROOM_ICE_SERVER")
      ->delimiter(',');
  serve
      .add_option("--turn-secret", c.turn_secret,
                  "coturn's static-auth-secret (use-auth-secret): turn: servers get short-lived credentials made "
                  "from it; never logged")
      ->envname("LIVEROOM_TURN_SECRET");
  serve.add_option("--turn-username", c.turn_username, "static TURN username (instead of --turn-secret)")
      ->envname("LIVEROOM_TURN_USERNAME");
  serve.add_option("--turn-password", c.turn_password, "static TURN password (instead of --turn-secret)")
      ->envname("LIVEROOM_TURN_PASSWORD");

  // Named timers: rooms end by themselves. Durations take s, m, h or d ("90s", "15m", "2h").
  const std::map<std::string, int> units{{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  serve
      .add_option("--room-idle-timeout", c.room_idle_timeout_s,
                  "a room that never went live ends after this long (0: never)")
      ->envname("LIVEROOM_ROOM_IDLE_TIMEOUT")
      ->transform(CLI::AsNumberWithUnit(units, CLI::AsNumberWithUnit::CASE_SENSITIVE))
      ->check(CLI::Range(0, 366 * 86400))
      ->capture_default_str();
  serve
      .add_option("--room-empty-timeout", c.room_empty_timeout_s,
                  "a room whose broadcaster left ends after this long without one (0: never)")
      ->envname("LIVEROOM_ROOM_EMPTY_TIMEOUT")
      ->transform(CLI::AsNumberWithUnit(units, CLI::AsNumberWithUnit::CASE_SENSITIVE))
      ->check(CLI::Range(0, 366 * 86400))
      ->capture_default_str();
  serve
      .add_option("--room-max-duration", c.room_max_duration_s,
                  "any room ends this long after it was created (0: never)")
      ->envname("LIVEROOM_ROOM_MAX_DURATION")
      ->transform(CLI::AsNumberWithUnit(units, CLI::AsNumberWithUnit::CASE_SENSITIVE))
      ->check(CLI::Range(0, 366 * 86400))
      ->capture_default_str();
  serve
      .add_option("--webhook-url", c.webhook_urls,
                  "send room events (room.created, room.live, room.offline, room.updated, room.ended, room.viewers) "
                  "to this http(s) URL, signed per Standard Webhooks; repeat or comma-separate")
      ->envname("LIVEROOM_WEBHOOK_URL")
      ->delimiter(',');
  serve
      .add_option("--webhook-secret", c.webhook_secrets,
                  "signing secret of the webhooks, whsec_ + base64 of 24-64 random bytes (e.g. whsec_$(openssl rand "
                  "-base64 32)); give two while rotating; never logged")
      ->envname("LIVEROOM_WEBHOOK_SECRET")
      ->delimiter(',');
  serve
      .add_option("--webhook-retry-max", c.webhook_retry_max_s,
                  "longest wait between two attempts of a webhook whose endpoint does not answer 2xx (waits double "
                  "from 1 s up to this; a delivery is given up 3 days after its event)")
      ->envname("LIVEROOM_WEBHOOK_RETRY_MAX")
      ->transform(CLI::AsNumberWithUnit(units, CLI::AsNumberWithUnit::CASE_SENSITIVE))
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  serve
      .add_option("--shutdown-timeout", c.shutdown_timeout_s,
                  "at SIGTERM/SIGINT, how long requests already received may take to be answered (new connections "
                  "are refused at once); then sessions end, and queued webhooks get 5 s more")
      ->envname("LIVEROOM_SHUTDOWN_TIMEOUT")
      ->transform(CLI::AsNumberWithUnit(units, CLI::AsNumberWithUnit::CASE_SENSITIVE))
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  serve.add_option("--turn-ttl", c.turn_ttl_s, "lifetime of the TURN credentials made from --turn-secret")
      ->envname("LIVEROOM_TURN_TTL")
      ->transform(CLI::AsNumberWithUnit(units, CLI::AsNumberWithUnit::CASE_SENSITIVE))
      ->check(CLI::Range(60, 7 * 86400))
      ->capture_default_str();
  serve
      .add_option("--creates-per-minute", c.creates_per_minute,
                  "rooms one address may create per minute, in bursts of as many (0: no limit); over it: 429")
      ->envname("LIVEROOM_CREATES_PER_MINUTE")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();

  serve
      .add_option("--trusted-proxy", c.trusted_proxies,
                  "address or network (CIDR) of a reverse proxy in front whose X-Forwarded-For names the client, "
                  "for the per-address limits; repeat or comma-separate")
      ->envname("LIVEROOM_TRUSTED_PROXY")
      ->delimiter(',');

  // Limits: what a stranger can make the server hold (README "Running it on a network").
  serve
      .add_option("--max-connections", c.max_connections,
                  "open HTTP connections at once (0: from the file-descriptor limit, at most 10000); over it: 503")
      ->envname("LIVEROOM_MAX_CONNECTIONS")
      ->check(CLI::Range(0, 1'000'000));
  serve
      .add_option("--max-connections-per-ip", c.max_connections_per_ip,
                  "open HTTP connections from one address (IPv6: one /64) (0: an eighth of --max-connections)")
      ->envname("LIVEROOM_MAX_CONNECTIONS_PER_IP")
      ->check(CLI::Range(0, 1'000'000));
  serve
      .add_option("--request-timeout", c.request_timeout_s,
                  "seconds a client has to send a whole request (and to read a reply); idle keep-alive")
      ->envname("LIVEROOM_REQUEST_TIMEOUT")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  serve.add_option("--max-sessions", c.max_sessions, "WHIP/WHEP sessions at once (0: no limit); over it: 503")
      ->envname("LIVEROOM_MAX_SESSIONS")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  serve
      .add_option("--max-sessions-per-room", c.max_sessions_per_room,
                  "WHIP/WHEP sessions on one room, broadcaster included (0: only --max-sessions); over it: 503")
      ->envname("LIVEROOM_MAX_SESSIONS_PER_ROOM")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  serve
      .add_option("--max-sessions-per-ip", c.max_sessions_per_ip,
                  "WHIP/WHEP sessions created from one address (0: no limit); over it: 429")
      ->envname("LIVEROOM_MAX_SESSIONS_PER_IP")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  serve
      .add_option("--offers-per-second", c.offers_per_second,
                  "WHIP/WHEP offers (POSTs) one address may send per second, in bursts of 6 times that (0: no "
                  "limit); over it: 429 with Retry-After")
      ->envname("LIVEROOM_OFFERS_PER_SECOND")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  serve
      .add_option(
          "--ice-timeout-ms", c.ice_timeout_ms,
          "a WHIP/WHEP session whose peer has not connected (ICE and DTLS) this long after its offer is dropped")
      ->envname("LIVEROOM_ICE_TIMEOUT_MS")
      ->check(CLI::Range(1000, 600'000))
      ->capture_default_str();
  serve
      .add_option("--viewer-retransmit-kbps", c.viewer_retransmit_kbps,
                  "budget for resending packets a viewer's NACKs ask for (each packet at most once per round trip)")
      ->envname("LIVEROOM_VIEWER_RETRANSMIT_KBPS")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  serve
      .add_option("--webrtc-socket-buffer-kib", c.webrtc_socket_buffer_kib,
                  "receive and send buffer of the media UDP sockets, KiB (0: the system default, ~208 KiB, which "
                  "overflows when a key frame goes to hundreds of viewers). Above net.core.rmem_max/wmem_max it "
                  "needs CAP_NET_ADMIN (root has it); a warning says when the kernel gave less")
      ->envname("LIVEROOM_WEBRTC_SOCKET_BUFFER_KIB")
      ->check(CLI::Range(0, 1024 * 1024))
      ->capture_default_str();
}

// The HTTPS context the flags ask for, or null for plain HTTP. Throws http::TlsConfigError naming
// the flag.
std::shared_ptr<boost::asio::ssl::context> makeTlsContext(const ServeConfig& config, const std::string& listen_host) {
  const bool files = !config.tls_cert.empty() || !config.tls_key.empty();
  if (config.tls_self_signed && files) {
    throw http::TlsConfigError("--tls-self-signed: give either it or --tls-cert/--tls-key, not both");
  }
  if (files) {
    if (config.tls_cert.empty()) throw http::TlsConfigError("--tls-cert: needed with --tls-key");
    if (config.tls_key.empty()) throw http::TlsConfigError("--tls-key: needed with --tls-cert");
    return http::tlsContextFromFiles(config.tls_cert, config.tls_key);
  }
  if (!config.tls_self_signed) return nullptr;
  // Names the certificate must cover: the listen address (every interface's for a wildcard),
  // the public URL's host, and localhost.
  std::vector<std::string> names{"localhost", "127.0.0.1", "::1"};
  auto add = [&names](std::string name) {
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  };
  if (listen_host == "0.0.0.0" || listen_host == "::") {
    for (std::string& a : media::localInterfaceAddresses()) add(std::move(a));
  } else {
    add(listen_host);
  }
  if (!config.public_url.empty()) {
    std::string_view rest(config.public_url);
    if (const auto scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
      rest.remove_prefix(scheme_end + 3);
    }
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (!rest.empty() && rest.front() == '[') {
      add(std::string(rest.substr(1, rest.find(']') - 1)));
    } else {
      const size_t colon = rest.rfind(':');
      add(std::string(rest.substr(0, colon == std::string_view::npos ? rest.size() : colon)));
    }
  }
  const http::SelfSignedFiles made = http::selfSignedCertificate(config.data_dir, names);
  return http::tlsContextFromFiles(made.cert.string(), made.key.string());
}

// A room's viewer count for webhook bodies, which the store renders in its writes — also the
// contract store's scanner thread, from before the service exists until the store is gone:
// the service's count while it is attached (this instance's media), else the stored one.
class ViewerSource {
 public:
  size_t of(const RoomRecord& room) {
    std::lock_guard lock(mutex_);
    if (service_ != nullptr) return service_->viewersOf(room);
    return room.status == "ended" ? 0 : room.viewers;
  }
  // Attaches `service` for this object's lifetime (declare it right after the service).
  class Attached {
   public:
    Attached(ViewerSource& source, const rooms::RoomService& service) : source_(source) { source_.set(&service); }
    ~Attached() { source_.set(nullptr); }
    Attached(const Attached&) = delete;
    Attached& operator=(const Attached&) = delete;

   private:
    ViewerSource& source_;
  };

 private:
  void set(const rooms::RoomService* service) {
    std::lock_guard lock(mutex_);
    service_ = service;
  }
  std::mutex mutex_;
  const rooms::RoomService* service_ = nullptr;
};

// Wakes the webhook dispatcher when a room changes (its event is in the outbox by then).
class WakeOnRoomChange final : public rooms::RoomChangeListener {
 public:
  explicit WakeOnRoomChange(webhooks::Dispatcher& dispatcher) : dispatcher_(dispatcher) {}
  void onRoomChanged(const rooms::RoomChange&) override { dispatcher_.wake(); }

 private:
  webhooks::Dispatcher& dispatcher_;
};

// SIGINT/SIGTERM are blocked in every thread and awaited here.
void blockStopSignals(sigset_t& set) {
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// --media-workers, or one per core (at most 64).
size_t mediaWorkers(const ServeConfig& config) {
  return config.media_workers > 0
             ? static_cast<size_t>(config.media_workers)
             : std::clamp<size_t>(std::max(1u, std::thread::hardware_concurrency()), size_t{1}, size_t{64});
}

// glibc gives every thread that allocates its own malloc arena, up to 8 per core, and keeps what is
// freed in each: the offers parsed on the HTTP and store threads left memory in arenas nobody
// reused (bench/fanout, one media worker: 76 -> 65 KiB per viewer at N = 100, 63 -> 60 at
// N = 300 with four arenas, CPU unchanged). One arena per media worker and two for every other
// thread; MALLOC_ARENA_MAX, when set, wins. Before any thread starts.
void limitMallocArenas(size_t media_workers) {
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) return;
  ::mallopt(M_ARENA_MAX, static_cast<int>(media_workers + 2));
}

int serve(ServeConfig config) {
  limitMallocArenas(mediaWorkers(config));
  // An empty secret (e.g. LIVEROOM_API_KEY= in an env file) means "not set", never
  // "require an empty token".
  if (config.api_key && config.api_key->empty()) config.api_key.reset();
  if (config.cloudflare_webhook_secret && config.cloudflare_webhook_secret->empty()) {
    config.cloudflare_webhook_secret.reset();
  }
  try {
    resolveStream(config, [](const char* name) { return std::getenv(name); });
  } catch (const ConfigError& e) {
    return configError(e.what());
  }
  std::pair<std::string, uint16_t> listen;
  try {
    listen = http::parseListenAddress(config.listen);
  } catch (const std::exception& e) {
    return configError(std::string("--listen: ") + e.what() + " (got \"" + config.listen + "\")");
  }

  sigset_t stop_signals;
  blockStopSignals(stop_signals);
  setupLogging(config.log_level);
  // Everything liveroom writes (the store, media-secret, the contract index) is for its own
  // user only: those files hold publish keys.
  ::umask(077);
  // Connections hold descriptors: use all the process may have, and size the limits to it.
  const uint64_t fd_limit = http::raiseFileDescriptorLimit();
  const ConnectionLimits connection_limits =
      connectionLimits(config.max_connections, config.max_connections_per_ip, fd_limit);
  if (fd_limit != 0 && connection_limits.total + 64 > fd_limit) {
    spdlog::warn("--max-connections {} is close to or above the file-descriptor limit {}: raise `ulimit -n`",
                 connection_limits.total, fd_limit);
  }
  const bool needs_data_dir =
      config.stream == "local" || config.store == "sqlite" || config.store == "contract" || config.tls_self_signed;
  if (needs_data_dir) {
    try {
      preparePrivateDataDir(config.data_dir);
    } catch (const std::exception& e) {
      return configError(std::string("--data-dir: ") + e.what());
    }
  }
  std::shared_ptr<boost::asio::ssl::context> tls;
  try {
    tls = makeTlsContext(config, listen.first);
  } catch (const http::TlsConfigError& e) {
    return configError(e.what());
  }
  const std::string scheme = tls ? "https" : "http";

  // Reads and writes get separate pools: what may wait long — provider calls (a slow Cloudflare
  // may take each call's whole timeout) and store writes (on the contract store a write waits
  // for its receipt) — delays only other writes, never joins and lists.
  boost::asio::thread_pool read_pool(static_cast<size_t>(config.blocking_threads));
  boost::asio::thread_pool write_pool(static_cast<size_t>(config.blocking_threads));

  std::unique_ptr<StreamProvider> provider;
  CloudflareStream* cloudflare = nullptr;  // when the provider is Cloudflare
  // Live flags and viewer counts from the embedded media server: store writes, but never slow ones
  // (no provider call, no chain transaction: the contract store keeps them in its index), and
  // the media server's last events at shutdown come after the write pool has stopped.
  MediaRoomEvents media_events(read_pool);
  std::unique_ptr<media::MediaServer> media_server;
  LocalStream* local_stream = nullptr;
  if (config.stream == "local") {
    std::string secret;
    try {
      secret = LocalStream::loadOrCreateSecret(std::filesystem::path(config.data_dir) / "media-secret");
    } catch (const std::exception& e) {
      return configError(std::string("--data-dir: ") + e.what());
    }
    try {
      api::IceServers check(iceServersOptions(config));
    } catch (const std::invalid_argument& e) {
      return configError(e.what());
    }
    media::MediaServerOptions media_options;
    media_options.port = static_cast<uint16_t>(config.webrtc_port);
    media_options.workers = mediaWorkers(config);
    if (media_options.port != 0 && media_options.port + media_options.workers - 1 > 65535) {
      return configError("--webrtc-port " + std::to_string(media_options.port) + " with " +
                         std::to_string(media_options.workers) + " media workers goes past port 65535");
    }
    media_options.publisher_nack = !config.no_publisher_nack;
    media_options.udp_gso = !config.no_webrtc_udp_gso;
    if (!config.no_webrtc_tcp) {
      media_options.tcp_port = static_cast<uint16_t>(config.webrtc_tcp_port);
    }
    media_options.advertised_addresses = config.webrtc_ips;
    media_options.max_sessions = static_cast<size_t>(config.max_sessions);
    media_options.max_sessions_per_input = static_cast<size_t>(config.max_sessions_per_room);
    media_options.max_sessions_per_client = static_cast<size_t>(config.max_sessions_per_ip);
    media_options.ice_connect_timeout = std::chrono::milliseconds(config.ice_timeout_ms);
    media_options.viewer_retransmit_bps = static_cast<uint64_t>(config.viewer_retransmit_kbps) * 1000;
    media_options.socket_buffer_bytes = static_cast<size_t>(config.webrtc_socket_buffer_kib) * 1024;
    try {
      media_server = std::make_unique<media::MediaServer>(media_options, &media_events);
    } catch (const std::exception& e) {
      return configError(std::string("--webrtc-port/--webrtc-tcp-port: ") + e.what());
    }
    // The public URL is known once the HTTP port is bound (port 0 in tests): set below.
    auto local = std::make_unique<LocalStream>(config.public_url, std::move(secret), *media_server);
    local_stream = local.get();
    provider = std::move(local);
  } else if (config.stream == "cloudflare") {
    try {
      auto made = std::make_unique<CloudflareStream>(*config.cloudflare, std::make_shared<http::CurlHttpClient>());
      cloudflare = made.get();
      provider = std::move(made);
    } catch (const std::invalid_argument& e) {
      return configError(std::string("Cloudflare settings (CLOUDFLARE_*): ") + e.what());
    }
  }

  // Webhooks: the store records each room event in its outbox in the same write as the change.
  std::vector<webhooks::SigningKey> webhook_keys;
  // Empty values (LIVEROOM_WEBHOOK_URL= in an env file) mean "not set".
  std::erase(config.webhook_urls, std::string());
  std::erase(config.webhook_secrets, std::string());
  if (!config.webhook_urls.empty()) {
    for (const std::string& url : config.webhook_urls) {
      if (!url.starts_with("http://") && !url.starts_with("https://")) {
        return configError("--webhook-url: an http:// or https:// URL, got \"" +
                           url.substr(0, url.find_first_of("?#")) + "\"");
      }
    }
    if (config.webhook_secrets.empty()) {
      return configError("--webhook-url needs --webhook-secret (LIVEROOM_WEBHOOK_SECRET) to sign the events with");
    }
    for (const std::string& secret : config.webhook_secrets) {
      try {
        webhook_keys.push_back(webhooks::SigningKey::parse(secret));
      } catch (const std::invalid_argument& e) {
        return configError(std::string("--webhook-secret: ") + e.what());
      }
    }
  }

  // What the store records in the webhook outbox. Made before the store: the contract store
  // applies changes from the chain as it opens. A body's viewer count is the service's (this
  // instance's media), once there is one; before, the stored count.
  ViewerSource webhook_viewers;
  std::shared_ptr<OutboxPolicy> outbox_policy;
  if (!webhook_keys.empty()) {
    outbox_policy = std::make_shared<OutboxPolicy>();
    outbox_policy->endpoints = config.webhook_urls;
    outbox_policy->render = [&webhook_viewers](RoomEventType type, const RoomRecord& room, const std::string& event_id,
                                               int64_t seq, int64_t at_ms, std::optional<size_t> viewers) {
      return api::webhookBody(type, room, event_id, seq, at_ms, viewers.value_or(webhook_viewers.of(room)),
                              viewers.has_value());
    };
  }

  ChainClient chain;  // --store contract; declared first so it outlives the store
  std::unique_ptr<RoomStore> store;
  if (config.store == "contract") {
    if (config.chain.contract.empty()) {
      return configError(
          "--store contract needs --contract (LIVEROOM_CONTRACT): deploy one with `liveroom contract "
          "deploy`");
    }
    eth::Address registry{};
    try {
      registry = eth::parseAddress(config.chain.contract);
    } catch (const std::invalid_argument& e) {
      return configError(std::string("--contract (LIVEROOM_CONTRACT): ") + e.what());
    }
    try {
      chain = connectChain(config.chain, [](const char* name) { return std::getenv(name); });
      contract::ContractStoreOptions options;
      // One file per chain and registry: pointing at another contract never mixes indexes.
      options.index_path = (std::filesystem::path(config.data_dir) /
                            fmt::format("contract-{}-{}.db", config.chain.chain_id, eth::toHex(registry, true)))
                               .string();
      options.confirmations = config.chain.confirmations;
      options.outbox_policy = outbox_policy;
      store = std::make_unique<contract::ContractRoomStore>(*chain.rpc, *chain.sender, registry, config.chain.chain_id,
                                                            options);
    } catch (const std::exception& e) {
      return configError(std::string("--store contract: ") + e.what());
    }
    spdlog::info("rooms on RoomRegistry {} (chain {} at {}), operator {}", eth::checksumAddress(registry),
                 config.chain.chain_id, redactUrl(config.chain.rpc_url), eth::checksumAddress(chain.sender->address()));
  } else if (config.store == "mongodb") {
    try {
      store = std::make_unique<MongoRoomStore>(config.mongodb_uri);
    } catch (const std::exception& e) {
      return configError(std::string("--mongodb-uri: cannot use MongoDB at ") +
                         MongoRoomStore::redactUri(config.mongodb_uri) + ": " + e.what());
    }
  } else {
    try {
      store = std::make_unique<SqliteRoomStore>((std::filesystem::path(config.data_dir) / "liveroom.db").string());
    } catch (const std::exception& e) {
      return configError("--data-dir: cannot open the SQLite store in " + config.data_dir + ": " + e.what());
    }
  }

  // Cloudflare live inputs carry the store's deployment id, so the orphan sweep knows its own.
  std::string deployment;
  if (cloudflare != nullptr) {
    try {
      deployment = store->deploymentId();
      cloudflare->setDeployment(deployment);
    } catch (const std::exception& e) {
      spdlog::warn("the store gave no deployment id ({}): live inputs are made untagged and never swept", e.what());
    }
  }

  if (outbox_policy && config.store != "contract") store->setOutboxPolicy(outbox_policy);

  // Every store and provider call the service makes is counted and timed for /metrics.
  metrics::Metrics metrics;
  metrics::InstrumentedRoomStore counted_store(*store, metrics);
  std::unique_ptr<metrics::InstrumentedProvider> counted_provider;
  if (provider) counted_provider = std::make_unique<metrics::InstrumentedProvider>(*provider, metrics);

  rooms::RoomServiceOptions service_options;
  service_options.cache_ttl = std::chrono::milliseconds(config.cache_ttl_ms);
  service_options.cache_stale = service_options.cache_ttl * 10;
  service_options.render_public_view = api::renderPublicView;
  rooms::RoomService service(counted_store, counted_provider.get(), service_options);
  ViewerSource::Attached webhook_viewers_attached(webhook_viewers, service);
  media_events.attach(service);
  if (local_stream == nullptr) {
    // No embedded media server here: rooms it carried in a previous run are not live.
    try {
      if (const size_t cleared = service.clearStaleLive(LocalStream::kName); cleared > 0) {
        spdlog::info("{} room(s) left live by a previous run are not live any more", cleared);
      }
    } catch (const std::exception& e) {
      spdlog::warn("could not clear rooms left live by a previous run: {}", e.what());
    }
  }
  api::ApiOptions api_options;
  api_options.cors_origins = config.cors_origins;
  api_options.api_key = config.api_key;
  api_options.cloudflare_webhook_secret = config.cloudflare_webhook_secret;
  api_options.public_url = config.public_url;
  api_options.link_scheme = scheme;
  api_options.creates_per_minute = config.creates_per_minute;
  api_options.webhooks_configured = !webhook_keys.empty();
  api::RoomsApi rooms_api(
      service, api_options, [&read_pool](std::function<void()> work) { boost::asio::post(read_pool, std::move(work)); },
      [&write_pool](std::function<void()> work) { boost::asio::post(write_pool, std::move(work)); });

  http::ServerOptions server_options;
  server_options.address = listen.first;
  server_options.port = listen.second;
  server_options.threads = config.http_threads > 0
                               ? config.http_threads
                               : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  server_options.tls = tls;
  try {
    server_options.trusted_proxies = http::TrustedProxies(config.trusted_proxies);
  } catch (const std::invalid_argument& e) {
    return configError(std::string("--trusted-proxy: ") + e.what());
  }
  server_options.max_connections = connection_limits.total;
  server_options.max_connections_per_address = connection_limits.per_address;
  server_options.read_timeout = std::chrono::seconds(config.request_timeout_s);
  server_options.write_timeout = std::chrono::seconds(config.request_timeout_s);
  server_options.error_response = [](int status, std::string_view code, std::string_view message) {
    return api::errorResponse(status, code, message);
  };
  server_options.on_reply = [&metrics](const http::Request& head, int status,
                                       std::chrono::steady_clock::duration took) {
    metrics.observeRequest(api::routeLabel(head.path), head.method, status, took);
  };
  server_options.decorate_own_response = [&config](const http::Request& partial, http::Response& res) {
    api::applyCors(config.cors_origins, partial, res);
    if (api::WebRtcApi::owns(partial.path)) api::WebRtcApi::addCorsHeaders(res);
  };
  web::StaticSiteOptions site_options;
  site_options.error_response = server_options.error_response;
  web::StaticSite site(config.web_dir, site_options);
  if (!std::filesystem::is_regular_file(site.root() / "index.html")) {
    spdlog::warn("--web-dir {}: no index.html there, the web pages will answer 404", site.root().string());
  }
  std::unique_ptr<api::WebRtcApi> webrtc_api;
  if (local_stream != nullptr) {
    api::WebRtcApiOptions webrtc_options;
    webrtc_options.cors_origins = config.cors_origins;
    webrtc_options.location_from_host = config.public_url.empty();
    webrtc_options.link_scheme = scheme;
    webrtc_options.offers_per_second = config.offers_per_second;
    webrtc_options.offers_burst = config.offers_per_second * 6;
    webrtc_options.ice_servers = iceServersOptions(config);
    webrtc_options.api_key = config.api_key;
    webrtc_api = std::make_unique<api::WebRtcApi>(
        service, *local_stream, *media_server, webrtc_options,
        [&read_pool](std::function<void()> work) { boost::asio::post(read_pool, std::move(work)); });
  }
  // /metrics: on the API's listener (behind the API key when one is set), or alone on
  // --metrics-listen (open there).
  const bool metrics_apart = !config.metrics_listen.empty();
  std::pair<std::string, uint16_t> metrics_listen;
  if (metrics_apart) {
    try {
      metrics_listen = http::parseListenAddress(config.metrics_listen);
    } catch (const std::exception& e) {
      return configError(std::string("--metrics-listen: ") + e.what() + " (got \"" + config.metrics_listen + "\")");
    }
  }
  auto run_on_read_pool = [&read_pool](std::function<void()> work) { boost::asio::post(read_pool, std::move(work)); };
  api::MetricsEndpoint metrics_endpoint(metrics, metrics_apart ? std::nullopt : config.api_key, run_on_read_pool);
  http::Server server(server_options, [&rooms_api, &site, &webrtc_api, &metrics_endpoint, metrics_apart](
                                          http::Request&& req, http::Responder respond) {
    if (!metrics_apart && req.path == api::MetricsEndpoint::kPath) {
      return metrics_endpoint.handle(req, std::move(respond));
    }
    if (webrtc_api && api::WebRtcApi::owns(req.path)) return webrtc_api->handle(std::move(req), std::move(respond));
    if (auto page = site.handle(req)) return respond(std::move(*page));
    // A browser opening a path nothing serves gets a page, not the API's JSON.
    if (!web::isReservedPath(req.path)) {
      if (auto page = site.notFoundPage(req)) return respond(std::move(*page));
    }
    rooms_api.handle(std::move(req), std::move(respond));
  });
  try {
    server.start();
  } catch (const std::exception& e) {
    return configError(std::string("--listen: ") + e.what());
  }
  std::unique_ptr<http::Server> metrics_server;
  if (metrics_apart) {
    http::ServerOptions options;
    options.address = metrics_listen.first;
    options.port = metrics_listen.second;
    options.threads = 1;
    // The API listener's limits (--max-connections, --max-connections-per-ip) and timeouts: one
    // set of flags for what a client can make liveroom hold, whichever port it reaches.
    options.max_connections = server_options.max_connections;
    options.max_connections_per_address = server_options.max_connections_per_address;
    options.read_timeout = server_options.read_timeout;
    options.write_timeout = server_options.write_timeout;
    options.trusted_proxies = server_options.trusted_proxies;
    options.error_response = server_options.error_response;
    options.on_reply = server_options.on_reply;
    metrics_server =
        std::make_unique<http::Server>(options, [&metrics_endpoint](http::Request&& req, http::Responder respond) {
          if (req.path == api::MetricsEndpoint::kPath) return metrics_endpoint.handle(req, std::move(respond));
          respond(api::errorResponse(codes::kNotFound, "this address serves only /metrics"));
        });
    try {
      metrics_server->start();
    } catch (const std::exception& e) {
      server.stop();
      return configError(std::string("--metrics-listen: ") + e.what());
    }
    spdlog::info(
        "metrics on http://{}:{}/metrics",
        metrics_listen.first.find(':') != std::string::npos ? "[" + metrics_listen.first + "]" : metrics_listen.first,
        metrics_server->port());
  }
  addProcessSource(metrics);
  addRoomsSource(metrics, counted_store, service);
  addHttpServerSource(metrics, server);
  if (media_server) addMediaSource(metrics, *media_server);

  const std::string host_part = listen.first.find(':') != std::string::npos ? "[" + listen.first + "]" : listen.first;
  std::string url =
      config.public_url.empty() ? scheme + "://" + host_part + ":" + std::to_string(server.port()) : config.public_url;
  if (local_stream != nullptr) {
    local_stream->setPublicUrl(url);
    // This instance's previous run's broadcasters are gone with it (a crash sends no "left"):
    // their rooms are not live. Only rooms whose media URLs name this instance: other instances
    // on the store keep theirs. (Before any publisher here can be live: ICE and DTLS take longer.)
    try {
      if (const size_t cleared = service.clearStaleLive(LocalStream::kName, url); cleared > 0) {
        spdlog::info("{} room(s) left live by a previous run are not live any more", cleared);
      }
    } catch (const std::exception& e) {
      spdlog::warn("could not clear rooms left live by a previous run: {}", e.what());
    }
    // One worker: "media server on UDP port 8189, TCP port 8189 (candidates ...)"; several: "media
    // server on UDP ports 8189, 8190, TCP ports 8189, 8190 (candidates ...), 2 media workers".
    const auto udp_ports = media_server->ports();
    const auto tcp_ports = media_server->tcpPorts();
    const bool several = udp_ports.size() > 1;
    spdlog::info("media server on UDP port{} {}{} (candidates {}){}", several ? "s" : "", fmt::join(udp_ports, ", "),
                 tcp_ports.empty() ? std::string(", no TCP")
                                   : fmt::format(", TCP port{} {}", several ? "s" : "", fmt::join(tcp_ports, ", ")),
                 fmt::join(media_server->advertisedAddresses(), ", "),
                 several ? fmt::format(", {} media workers", udp_ports.size()) : std::string());
    if (auto warning = candidateReachabilityWarning(media_server->advertisedAddresses(), url, config.ice_servers)) {
      spdlog::warn("{}", *warning);
    }
  }
  spdlog::info("liveroom {} listening on {}://{}:{} (public {}), store {}, stream {}", LIVEROOM_VERSION, scheme,
               host_part, server.port(), url, store->name(), provider ? provider->name() : "none");
  spdlog::info("limits: {} connections ({} per address), file descriptors {}", connection_limits.total,
               connection_limits.per_address, fd_limit);
  if (!provider) {
    spdlog::warn(
        "no stream provider: rooms can be read but not created; set CLOUDFLARE_ACCOUNT_ID and "
        "CLOUDFLARE_API_TOKEN to use Cloudflare Stream");
  }

  // Named timers end rooms by themselves; the scan runs on the write pool (it deletes inputs).
  rooms::RoomTimers timers;
  timers.idle = std::chrono::seconds(config.room_idle_timeout_s);
  timers.empty = std::chrono::seconds(config.room_empty_timeout_s);
  timers.max_duration = std::chrono::seconds(config.room_max_duration_s);
  const bool cloudflare_reports_live = config.cloudflare_webhook_secret.has_value();
  timers.knows_live = [cloudflare_reports_live](std::string_view provider) {
    return provider == LocalStream::kName || cloudflare_reports_live;
  };
  std::atomic<bool> scan_running{false};
  PeriodicTask timer_scan(std::chrono::seconds(5), [&] {
    if (!timers.any() || scan_running.exchange(true)) return;  // one scan at a time
    boost::asio::post(write_pool, [&] {
      try {
        if (const size_t ended = service.endExpired(timers); ended > 0) {
          spdlog::info("{} room(s) ended by their timers", ended);
        }
      } catch (const std::exception& e) {
        spdlog::warn("room timers: {}", e.what());
      }
      scan_running = false;
    });
  });

  // Cloudflare hygiene: at start and every 10 minutes, live inputs this deployment made that no
  // active room owns (a failed rollback) are deleted, once 10 minutes old; on the write pool.
  std::atomic<bool> sweep_running{false};
  auto sweep_orphans = [&] {
    if (sweep_running.exchange(true)) return;
    boost::asio::post(write_pool, [&] {
      try {
        const rooms::RoomService::SweepResult r = service.sweepOrphanInputs(deployment, std::chrono::minutes(10));
        spdlog::log(r.deleted + r.failed > 0 ? spdlog::level::info : spdlog::level::debug,
                    "orphan sweep: {} live input(s), {} made by this deployment ({}), {} orphan(s) deleted, {} failed",
                    r.listed, r.ours, deployment, r.deleted, r.failed);
      } catch (const std::exception& e) {
        spdlog::warn("orphan sweep: {}", e.what());
      }
      sweep_running = false;
    });
  };
  // Several instances on one store: a room whose media is here may be ended through another
  // instance (its end cannot reach this media server). Every 2 s the inputs with sessions here are
  // checked against the store, and those whose room has ended are closed.
  std::atomic<bool> reconcile_running{false};
  std::unique_ptr<PeriodicTask> media_reconcile;
  if (media_server) {
    media_reconcile = std::make_unique<PeriodicTask>(std::chrono::seconds(2), [&] {
      if (reconcile_running.exchange(true)) return;
      boost::asio::post(read_pool, [&] {
        try {
          for (const std::string& uid : service.endedInputs(media_server->inputUids())) {
            spdlog::info("media: input {}: its room was ended through another instance; closing its sessions", uid);
            media_server->closeInput(uid);
          }
        } catch (const std::exception& e) {
          spdlog::warn("media: checking for rooms ended elsewhere: {}", e.what());
        }
        reconcile_running = false;
      });
    });
  }
  // Viewer counts go to the store every 2 s (when they changed), so every instance shows them.
  PeriodicTask viewer_counts(std::chrono::seconds(2), [&service] { service.flushViewerCounts(); });
  std::unique_ptr<PeriodicTask> orphan_sweep;
  if (!deployment.empty()) {
    sweep_orphans();
    orphan_sweep = std::make_unique<PeriodicTask>(std::chrono::minutes(10), sweep_orphans);
  }

  // Webhooks go out from their own threads; a room change wakes them, viewer counts are
  // recorded every 2 s (coalesced).
  std::unique_ptr<http::CurlHttpClient> webhook_client;
  std::unique_ptr<webhooks::Dispatcher> dispatcher;
  std::unique_ptr<WakeOnRoomChange> wake_dispatcher;
  std::unique_ptr<PeriodicTask> viewer_events;
  if (!webhook_keys.empty()) {
    webhooks::DispatcherOptions options;
    options.keys = webhook_keys;
    options.retry_max = std::chrono::seconds(config.webhook_retry_max_s);
    options.user_agent = std::string("liveroom/") + LIVEROOM_VERSION;
    webhook_client = std::make_unique<http::CurlHttpClient>();
    dispatcher = std::make_unique<webhooks::Dispatcher>(*store->outbox(), *webhook_client, options);
    wake_dispatcher = std::make_unique<WakeOnRoomChange>(*dispatcher);
    service.addListener(*wake_dispatcher);
    viewer_events = std::make_unique<PeriodicTask>(std::chrono::seconds(2), [&service, &dispatcher] {
      try {
        if (service.flushViewerEvents() > 0) dispatcher->wake();
      } catch (const std::exception& e) {
        spdlog::warn("webhooks: viewer counts: {}", e.what());
      }
    });
    dispatcher->start();
    addWebhookSource(metrics, *store->outbox(), *dispatcher);
    std::vector<std::string> shown;
    for (const std::string& url : config.webhook_urls) shown.push_back(url.substr(0, url.find_first_of("?#")));
    spdlog::info("webhooks to {} ({} signing key{})", fmt::join(shown, ", "), webhook_keys.size(),
                 webhook_keys.size() == 1 ? "" : "s");
  }

  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("stopping (signal {}): no new connections; answering the requests in flight", signal);
  timer_scan.stop();
  if (orphan_sweep) orphan_sweep->stop();
  if (media_reconcile) media_reconcile->stop();
  if (metrics_server) metrics_server->stop();
  // Requests already read are answered in full (a create's reply carries its host token) while
  // the pools still run; each reply closes its connection.
  if (!server.drain(std::chrono::steady_clock::now() + std::chrono::seconds(config.shutdown_timeout_s))) {
    spdlog::warn("{} request(s) still unanswered after --shutdown-timeout {} s: their connections are closed",
                 server.inFlight(), config.shutdown_timeout_s);
  }
  server.stop();
  write_pool.join();  // ends in flight may still close inputs on the media server
  // Every session ends through the normal path: broadcasters' rooms go off air and viewer
  // counts to 0, through the read pool (MediaRoomEvents), which is drained next.
  if (media_server) media_server->shutdown();
  read_pool.join();
  viewer_counts.stop();
  service.flushViewerCounts();  // the sessions that just ended: counts to 0
  media_server.reset();
  if (dispatcher) {
    // The last events (rooms off air, viewer counts) are in the outbox: send what can go within
    // a few seconds; the rest goes from the next process on this store.
    viewer_events->stop();
    service.flushViewerEvents();
    service.removeListener(*wake_dispatcher);
    dispatcher->stop();
    if (!dispatcher->drain(std::chrono::steady_clock::now() + std::chrono::seconds(5))) {
      spdlog::warn("webhooks: some events are still queued; they go out at the next start");
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"liveroom: livestream rooms on Cloudflare Stream or an embedded media server"};
  cli.require_subcommand(1);
  ServeConfig config;
  auto* serve_cmd = cli.add_subcommand("serve", "run the rooms API server");
  addServeOptions(*serve_cmd, config);
  cli.add_subcommand("version", "print the version");
  ContractCommand contract_command;
  auto* contract_cmd = cli.add_subcommand("contract", "deploy and administer the RoomRegistry contract");
  addContractCommands(*contract_cmd, contract_command);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    return configError(e.what());
  }
  if (contract_cmd->parsed()) {
    setupLogging("warn");
    return runContractCommand(contract_command);
  }
  if (cli.got_subcommand("version")) {
    std::cout << "liveroom " << LIVEROOM_VERSION << "\n";
    return 0;
  }
  try {
    return serve(std::move(config));
  } catch (const std::exception& e) {
    std::cerr << "liveroom: " << e.what() << "\n";
    return kExitRuntime;
  }
}

}  // namespace liveroom::app

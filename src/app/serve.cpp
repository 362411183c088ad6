// The composition root of `liveroom serve` (see serve.hpp): the only place that picks
// implementations.
#include "app/serve.hpp"

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/cloudflare_webhook.hpp"
#include "api/errors.hpp"
#include "api/http_helpers.hpp"
#include "api/media_stats.hpp"
#include "api/metrics_endpoint.hpp"
#include "api/room_views.hpp"
#include "api/rooms_api.hpp"
#include "api/webrtc_api.hpp"
#include "app/chain.hpp"
#include "app/data_dir.hpp"
#include "app/metrics_sources.hpp"
#include "app/reachability.hpp"
#include "common/error.hpp"
#include "common/periodic_task.hpp"
#include "eth/hex.hpp"
#include "http/curl_http_client.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/tls_context.hpp"
#include "media/server/media_server.hpp"
#include "media/transport/interfaces.hpp"
#include "metrics/instrumented.hpp"
#include "metrics/metrics.hpp"
#include "rooms/room_service.hpp"
#include "store/contract/contract_room_store.hpp"
#include "store/mongo/mongo_room_store.hpp"
#include "store/sqlite/sqlite_room_store.hpp"
#include "stream/cloudflare/cloudflare_stream.hpp"
#include "stream/local/local_stream.hpp"
#include "stream/local/media_room_events.hpp"
#include "web/static_site.hpp"
#include "webhooks/dispatcher.hpp"

namespace liveroom::app {

namespace {

api::IceServersOptions iceServersOptions(const ServeConfig& config) {
  api::IceServersOptions o;
  o.urls = config.ice_servers;
  o.turn_secret = config.turn_secret;
  o.turn_username = config.turn_username;
  o.turn_password = config.turn_password;
  o.credential_ttl = std::chrono::seconds(config.turn_ttl_s);
  return o;
}

// "host:port" with IPv6 hosts in brackets.
std::string hostPart(const std::string& host) { return host.find(':') != std::string::npos ? "[" + host + "]" : host; }

std::pair<std::string, uint16_t> listenAddress(const std::string& flag, const std::string& text) {
  try {
    return http::parseListenAddress(text);
  } catch (const std::exception& e) {
    throw ConfigError(flag + ": " + e.what() + " (got \"" + text + "\")");
  }
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
    return room.status == RoomStatus::ended ? 0 : room.viewers;
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

// SIGINT/SIGTERM are blocked in every thread and awaited in App::run.
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

// The configuration as given, with what the process needs before anything is built: empty
// secrets unset, the stream resolved, signals blocked, logging, umask, descriptor limits.
struct Prepared {
  ServeConfig config;
  uint64_t fd_limit = 0;
  ConnectionLimits connections;
  std::pair<std::string, uint16_t> listen;
};

Prepared prepare(ServeConfig config, sigset_t& stop_signals) {
  limitMallocArenas(mediaWorkers(config));
  // An empty secret (e.g. LIVEROOM_API_KEY= in an env file) means "not set", never
  // "require an empty token".
  if (config.api_key && config.api_key->empty()) config.api_key.reset();
  if (config.cloudflare_webhook_secret && config.cloudflare_webhook_secret->empty()) {
    config.cloudflare_webhook_secret.reset();
  }
  // Empty values (LIVEROOM_WEBHOOK_URL= in an env file) mean "not set".
  std::erase(config.webhook_urls, std::string());
  std::erase(config.webhook_secrets, std::string());
  resolveStream(config, [](const char* name) { return std::getenv(name); });
  Prepared p;
  p.listen = listenAddress("--listen", config.listen);
  blockStopSignals(stop_signals);
  setupLogging(config.log_level);
  // Everything liveroom writes (the store, media-secret, the contract index) is for its own
  // user only: those files hold publish keys.
  ::umask(077);
  // Connections hold descriptors: use all the process may have, and size the limits to it.
  p.fd_limit = http::raiseFileDescriptorLimit();
  p.connections = connectionLimits(config.max_connections, config.max_connections_per_ip, p.fd_limit);
  if (p.fd_limit != 0 && p.connections.total + 64 > p.fd_limit) {
    spdlog::warn("--max-connections {} is close to or above the file-descriptor limit {}: raise `ulimit -n`",
                 p.connections.total, p.fd_limit);
  }
  const bool needs_data_dir =
      config.stream == "local" || config.store == "sqlite" || config.store == "contract" || config.tls_self_signed;
  if (needs_data_dir) {
    try {
      preparePrivateDataDir(config.data_dir);
    } catch (const std::exception& e) {
      throw ConfigError(std::string("--data-dir: ") + e.what());
    }
  }
  p.config = std::move(config);
  return p;
}

std::vector<webhooks::SigningKey> webhookKeys(const ServeConfig& config) {
  std::vector<webhooks::SigningKey> keys;
  if (config.webhook_urls.empty()) return keys;
  for (const std::string& url : config.webhook_urls) {
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      throw ConfigError("--webhook-url: an http:// or https:// URL, got \"" + url.substr(0, url.find_first_of("?#")) +
                        "\"");
    }
  }
  if (config.webhook_secrets.empty()) {
    throw ConfigError("--webhook-url needs --webhook-secret (LIVEROOM_WEBHOOK_SECRET) to sign the events with");
  }
  for (const std::string& secret : config.webhook_secrets) {
    try {
      keys.push_back(webhooks::SigningKey::parse(secret));
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("--webhook-secret: ") + e.what());
    }
  }
  return keys;
}

// A task that runs on a pool, one run at a time (a run still going skips the next).
class OneAtATime {
 public:
  OneAtATime(boost::asio::thread_pool& pool, std::function<void()> work) : pool_(pool), work_(std::move(work)) {}
  void operator()() {
    if (running_.exchange(true)) return;
    boost::asio::post(pool_, [this] {
      work_();
      running_ = false;
    });
  }

 private:
  boost::asio::thread_pool& pool_;
  std::function<void()> work_;
  std::atomic<bool> running_{false};
};

class App {
 public:
  App(Prepared prepared, sigset_t stop_signals);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Serves until SIGINT/SIGTERM, then stops gracefully.
  void run();

 private:
  void makeServer();
  void makeMediaAndProvider();
  void makeStore();
  void makeRoutes();
  void startBackgroundTasks();
  void startWebhooks();
  void logStart() const;
  // Graceful stop: no new connections, the requests in flight answered (a create's reply
  // carries its host token) while the pools still run, every media session ended through the
  // normal path (rooms off air, viewer counts to 0), the outbox flushed for a few seconds.
  void stop();

  api::BlockingRunner runnerOn(boost::asio::thread_pool& pool) {
    return [&pool](std::function<void()> work) { boost::asio::post(pool, std::move(work)); };
  }

  // In construction order; the destructor (after stop()) releases them in reverse.
  ServeConfig config_;
  sigset_t stop_signals_;
  uint64_t fd_limit_;
  ConnectionLimits connections_;
  std::pair<std::string, uint16_t> listen_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::string scheme_;
  // Reads and writes get separate pools: what may wait long — provider calls (a slow Cloudflare
  // may take each call's whole timeout) and store writes (on the contract store a write waits
  // for its receipt) — delays only other writes, never joins and lists.
  boost::asio::thread_pool read_pool_;
  boost::asio::thread_pool write_pool_;
  metrics::Metrics metrics_;
  // The one route table: each HTTP surface adds its routes (makeRoutes); the static site gets the
  // paths none owns. Filled before the server starts, read-only after.
  http::Router router_;
  std::unique_ptr<web::StaticSite> site_;
  http::ServerOptions server_options_;
  std::unique_ptr<http::Server> server_;  // bound in the constructor, started at its end
  std::string public_url_;                // --public-url, or the bound address
  std::vector<webhooks::SigningKey> webhook_keys_;
  // What the store records in the webhook outbox. Made before the store: the contract store
  // applies changes from the chain as it opens. A body's viewer count is the service's (this
  // instance's media), once there is one; before, the stored count.
  ViewerSource webhook_viewers_;
  std::shared_ptr<OutboxPolicy> outbox_policy_;
  // Live flags and viewer counts from the embedded media server: store writes, but never slow ones
  // (no provider call, no chain transaction: the contract store keeps them in its index), and
  // the media server's last events at shutdown come after the write pool has stopped.
  MediaRoomEvents media_events_;
  std::unique_ptr<media::MediaServer> media_server_;
  std::unique_ptr<StreamProvider> provider_;
  LocalStream* local_stream_ = nullptr;     // when the provider is the embedded media server
  CloudflareStream* cloudflare_ = nullptr;  // when it is Cloudflare
  ChainClient chain_;                       // --store contract; outlives the store
  std::unique_ptr<RoomStore> store_;
  std::string deployment_;  // the store's id, in the meta of Cloudflare inputs made here
  // Every store and provider call the service makes is counted and timed for /metrics.
  std::unique_ptr<metrics::InstrumentedRoomStore> counted_store_;
  std::unique_ptr<metrics::InstrumentedProvider> counted_provider_;
  std::unique_ptr<rooms::RoomService> service_;
  std::unique_ptr<ViewerSource::Attached> webhook_viewers_attached_;
  std::unique_ptr<api::RoomsApi> rooms_api_;
  std::unique_ptr<api::CloudflareWebhook> cloudflare_webhook_;
  std::unique_ptr<api::WebRtcApi> webrtc_api_;
  std::unique_ptr<api::MediaStatsEndpoint> media_stats_;
  std::unique_ptr<api::MetricsEndpoint> metrics_endpoint_;
  std::unique_ptr<http::Server> metrics_server_;  // --metrics-listen
  // Background work, on the pools.
  rooms::RoomTimers timers_;
  std::unique_ptr<OneAtATime> timer_scan_run_, orphan_sweep_run_, media_reconcile_run_;
  std::unique_ptr<PeriodicTask> timer_scan_, orphan_sweep_, media_reconcile_, viewer_counts_;
  std::unique_ptr<http::CurlHttpClient> webhook_client_;
  std::unique_ptr<webhooks::Dispatcher> dispatcher_;
  std::unique_ptr<WakeOnRoomChange> wake_dispatcher_;
  std::unique_ptr<PeriodicTask> viewer_events_;
  bool stopped_ = false;
};

App::App(Prepared prepared, sigset_t stop_signals)
    : config_(std::move(prepared.config)),
      stop_signals_(stop_signals),
      fd_limit_(prepared.fd_limit),
      connections_(prepared.connections),
      listen_(std::move(prepared.listen)),
      read_pool_(static_cast<size_t>(config_.blocking_threads)),
      write_pool_(static_cast<size_t>(config_.blocking_threads)),
      media_events_(read_pool_) {
  try {
    tls_ = makeTlsContext(config_, listen_.first);
  } catch (const http::TlsConfigError& e) {
    throw ConfigError(e.what());
  }
  scheme_ = tls_ ? "https" : "http";
  makeServer();  // bound: the public URL is known from here on
  public_url_ = config_.public_url.empty()
                    ? scheme_ + "://" + hostPart(listen_.first) + ":" + std::to_string(server_->port())
                    : config_.public_url;
  webhook_keys_ = webhookKeys(config_);
  if (!webhook_keys_.empty()) {
    outbox_policy_ = std::make_shared<OutboxPolicy>();
    outbox_policy_->endpoints = config_.webhook_urls;
    outbox_policy_->render = [this](RoomEventType type, const RoomRecord& room, const std::string& event_id,
                                    int64_t seq, int64_t at_ms, std::optional<size_t> viewers) {
      return api::webhookBody(type, room, event_id, seq, at_ms, viewers.value_or(webhook_viewers_.of(room)),
                              viewers.has_value());
    };
  }
  makeMediaAndProvider();
  makeStore();

  counted_store_ = std::make_unique<metrics::InstrumentedRoomStore>(*store_, metrics_);
  if (provider_) counted_provider_ = std::make_unique<metrics::InstrumentedProvider>(*provider_, metrics_);
  rooms::RoomServiceOptions service_options;
  service_options.cache_ttl = std::chrono::milliseconds(config_.cache_ttl_ms);
  service_options.cache_stale = service_options.cache_ttl * 10;
  service_options.render_public_view = api::renderPublicView;
  service_ = std::make_unique<rooms::RoomService>(*counted_store_, counted_provider_.get(), service_options);
  webhook_viewers_attached_ = std::make_unique<ViewerSource::Attached>(webhook_viewers_, *service_);
  media_events_.attach(*service_);
  // The previous run's broadcasters are gone with it (a crash sends no "left"): their rooms are
  // not live. With a media server here, only rooms whose media URLs name this instance (other
  // instances on the store keep theirs); without one, every room the embedded server carried.
  // (Before any publisher here can be live: the server is not serving yet.)
  try {
    const size_t cleared = local_stream_ != nullptr ? service_->clearStaleLive(LocalStream::kName, public_url_)
                                                    : service_->clearStaleLive(LocalStream::kName);
    if (cleared > 0) spdlog::info("{} room(s) left live by a previous run are not live any more", cleared);
  } catch (const std::exception& e) {
    spdlog::warn("could not clear rooms left live by a previous run: {}", e.what());
  }

  try {
    makeRoutes();
    server_->start();
    if (metrics_server_) metrics_server_->start();
    addProcessSource(metrics_);
    addRoomsSource(metrics_, *counted_store_, *service_);
    addHttpServerSource(metrics_, *server_);
    if (media_server_) addMediaSource(metrics_, *media_server_);
    logStart();
    startBackgroundTasks();
    startWebhooks();
  } catch (...) {
    // Perhaps serving already, and the destructor will not run: stop here, before the members go.
    stop();
    throw;
  }
}

App::~App() { stop(); }

void App::makeServer() {
  http::ServerOptions& o = server_options_;
  o.address = listen_.first;
  o.port = listen_.second;
  o.threads = config_.http_threads > 0 ? config_.http_threads
                                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.tls = tls_;
  try {
    o.trusted_proxies = http::TrustedProxies(config_.trusted_proxies);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("--trusted-proxy: ") + e.what());
  }
  o.max_connections = connections_.total;
  o.max_connections_per_address = connections_.per_address;
  o.read_timeout = std::chrono::seconds(config_.request_timeout_s);
  o.write_timeout = std::chrono::seconds(config_.request_timeout_s);
  o.error_response = [](int status, std::string_view code, std::string_view message) {
    return api::errorResponse(status, code, message);
  };
  o.on_reply = [this](const http::Request& head, int status, std::chrono::steady_clock::duration took) {
    metrics_.observeRequest(router_.label(head.path, "static"), head.method, status, took);
  };
  // Replies the server makes itself (a malformed or oversized request) carry CORS, so a page or
  // a WHIP/WHEP client can read them.
  o.decorate_own_response = [this](const http::Request& partial, http::Response& res) {
    api::applyCors(config_.cors_origins, partial, res);
    api::WebRtcApi::addCorsHeaders(res);
  };
  web::StaticSiteOptions site_options;
  site_options.error_response = o.error_response;
  site_ = std::make_unique<web::StaticSite>(config_.web_dir, site_options);
  if (!std::filesystem::is_regular_file(site_->root() / "index.html")) {
    spdlog::warn("--web-dir {}: no index.html there, the web pages will answer 404", site_->root().string());
  }
  server_ = std::make_unique<http::Server>(o, [this](http::Request&& req, http::Responder respond) {
    if (router_.dispatch(req, respond)) return;
    if (auto page = site_->handle(req)) return respond(std::move(*page));
    // A browser opening a path nothing serves gets a page, not the API's JSON.
    if (auto page = site_->notFoundPage(req)) return respond(std::move(*page));
    // Nothing owns the path: the API's 404 (or its preflight), with the CORS headers a WHIP/WHEP
    // client reads too (a mistyped publish URL is still that client's).
    rooms_api_->fallback(std::move(req), [respond](http::Response res) {
      api::WebRtcApi::addCorsHeaders(res);
      respond(std::move(res));
    });
  });
  try {
    server_->bind();
  } catch (const std::exception& e) {
    throw ConfigError(std::string("--listen: ") + e.what());
  }
  // --metrics-listen: /metrics alone, on a listener of its own (its endpoint is made with the
  // routes; it serves once started).
  if (!config_.metrics_listen.empty()) {
    const auto address = listenAddress("--metrics-listen", config_.metrics_listen);
    http::ServerOptions o;
    o.address = address.first;
    o.port = address.second;
    o.threads = 1;
    // The API listener's limits (--max-connections, --max-connections-per-ip) and timeouts: one
    // set of flags for what a client can make liveroom hold, whichever port it reaches.
    o.max_connections = server_options_.max_connections;
    o.max_connections_per_address = server_options_.max_connections_per_address;
    o.read_timeout = server_options_.read_timeout;
    o.write_timeout = server_options_.write_timeout;
    o.trusted_proxies = server_options_.trusted_proxies;
    o.error_response = server_options_.error_response;
    // Its one route is /metrics; anything else is answered 404 and labelled "static".
    o.on_reply = [this](const http::Request& head, int status, std::chrono::steady_clock::duration took) {
      metrics_.observeRequest(head.path == api::MetricsEndpoint::kPath ? api::MetricsEndpoint::kPath : "static",
                              head.method, status, took);
    };
    metrics_server_ = std::make_unique<http::Server>(o, [this](http::Request&& req, http::Responder respond) {
      if (req.path == api::MetricsEndpoint::kPath) return metrics_endpoint_->handle(req, std::move(respond));
      respond(api::errorResponse(codes::kNotFound, "this address serves only /metrics"));
    });
    try {
      metrics_server_->bind();
    } catch (const std::exception& e) {
      throw ConfigError(std::string("--metrics-listen: ") + e.what());
    }
    spdlog::info("metrics on http://{}:{}/metrics", hostPart(address.first), metrics_server_->port());
  }
}

void App::makeMediaAndProvider() {
  if (config_.stream == "local") {
    std::string secret;
    try {
      secret = LocalStream::loadOrCreateSecret(std::filesystem::path(config_.data_dir) / "media-secret");
    } catch (const std::exception& e) {
      throw ConfigError(std::string("--data-dir: ") + e.what());
    }
    try {
      api::IceServers check(iceServersOptions(config_));
    } catch (const std::invalid_argument& e) {
      throw ConfigError(e.what());
    }
    media::MediaServerOptions o;
    o.port = static_cast<uint16_t>(config_.webrtc_port);
    o.workers = mediaWorkers(config_);
    if (o.port != 0 && o.port + o.workers - 1 > 65535) {
      throw ConfigError("--webrtc-port " + std::to_string(o.port) + " with " + std::to_string(o.workers) +
                        " media workers goes past port 65535");
    }
    o.publisher_nack = !config_.no_publisher_nack;
    o.udp_gso = !config_.no_webrtc_udp_gso;
    if (!config_.no_webrtc_tcp) o.tcp_port = static_cast<uint16_t>(config_.webrtc_tcp_port);
    o.advertised_addresses = config_.webrtc_ips;
    o.max_sessions = static_cast<size_t>(config_.max_sessions);
    o.max_sessions_per_input = static_cast<size_t>(config_.max_sessions_per_room);
    o.max_sessions_per_client = static_cast<size_t>(config_.max_sessions_per_ip);
    o.ice_connect_timeout = std::chrono::milliseconds(config_.ice_timeout_ms);
    o.viewer_retransmit_bps = static_cast<uint64_t>(config_.viewer_retransmit_kbps) * 1000;
    o.socket_buffer_bytes = static_cast<size_t>(config_.webrtc_socket_buffer_kib) * 1024;
    try {
      media_server_ = std::make_unique<media::MediaServer>(o, &media_events_);
    } catch (const std::exception& e) {
      throw ConfigError(std::string("--webrtc-port/--webrtc-tcp-port: ") + e.what());
    }
    auto local = std::make_unique<LocalStream>(public_url_, std::move(secret), *media_server_);
    local_stream_ = local.get();
    provider_ = std::move(local);
  } else if (config_.stream == "cloudflare") {
    try {
      auto made = std::make_unique<CloudflareStream>(*config_.cloudflare, std::make_shared<http::CurlHttpClient>());
      cloudflare_ = made.get();
      provider_ = std::move(made);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("Cloudflare settings (CLOUDFLARE_*): ") + e.what());
    }
  }
}

void App::makeStore() {
  if (config_.store == "contract") {
    if (config_.chain.contract.empty()) {
      throw ConfigError(
          "--store contract needs --contract (LIVEROOM_CONTRACT): deploy one with `liveroom contract deploy`");
    }
    eth::Address registry{};
    try {
      registry = eth::parseAddress(config_.chain.contract);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("--contract (LIVEROOM_CONTRACT): ") + e.what());
    }
    try {
      chain_ = connectChain(config_.chain, [](const char* name) { return std::getenv(name); });
      contract::ContractStoreOptions options;
      // One file per chain and registry: pointing at another contract never mixes indexes.
      options.index_path = (std::filesystem::path(config_.data_dir) /
                            fmt::format("contract-{}-{}.db", config_.chain.chain_id, eth::toHex(registry, true)))
                               .string();
      options.confirmations = config_.chain.confirmations;
      options.outbox_policy = outbox_policy_;
      store_ = std::make_unique<contract::ContractRoomStore>(*chain_.rpc, *chain_.sender, registry,
                                                             config_.chain.chain_id, options);
    } catch (const std::exception& e) {
      throw ConfigError(std::string("--store contract: ") + e.what());
    }
    spdlog::info("rooms on RoomRegistry {} (chain {} at {}), operator {}", eth::checksumAddress(registry),
                 config_.chain.chain_id, redactUrl(config_.chain.rpc_url),
                 eth::checksumAddress(chain_.sender->address()));
  } else if (config_.store == "mongodb") {
    try {
      store_ = std::make_unique<MongoRoomStore>(config_.mongodb_uri);
    } catch (const std::exception& e) {
      throw ConfigError(std::string("--mongodb-uri: cannot use MongoDB at ") +
                        MongoRoomStore::redactUri(config_.mongodb_uri) + ": " + e.what());
    }
  } else {
    try {
      store_ = std::make_unique<SqliteRoomStore>((std::filesystem::path(config_.data_dir) / "liveroom.db").string());
    } catch (const std::exception& e) {
      throw ConfigError("--data-dir: cannot open the SQLite store in " + config_.data_dir + ": " + e.what());
    }
  }
  // Cloudflare live inputs carry the store's deployment id, so the orphan sweep knows its own.
  if (cloudflare_ != nullptr) {
    try {
      deployment_ = store_->deploymentId();
      cloudflare_->setDeployment(deployment_);
    } catch (const std::exception& e) {
      spdlog::warn("the store gave no deployment id ({}): live inputs are made untagged and never swept", e.what());
    }
  }
  if (outbox_policy_ && config_.store != "contract") store_->setOutboxPolicy(outbox_policy_);
}

void App::makeRoutes() {
  api::ApiOptions api_options;
  api_options.cors_origins = config_.cors_origins;
  api_options.api_key = config_.api_key;
  api_options.public_url = config_.public_url;
  api_options.link_scheme = scheme_;
  api_options.creates_per_minute = config_.creates_per_minute;
  api_options.webhooks_configured = !webhook_keys_.empty();
  rooms_api_ = std::make_unique<api::RoomsApi>(*service_, api_options, runnerOn(read_pool_), runnerOn(write_pool_));
  rooms_api_->addRoutes(router_);
  cloudflare_webhook_ = std::make_unique<api::CloudflareWebhook>(*service_, config_.cloudflare_webhook_secret,
                                                                 config_.cors_origins, runnerOn(write_pool_));
  cloudflare_webhook_->addRoutes(router_);
  if (local_stream_ != nullptr) {
    api::WebRtcApiOptions o;
    o.cors_origins = config_.cors_origins;
    o.location_from_host = config_.public_url.empty();
    o.link_scheme = scheme_;
    o.offers_per_second = config_.offers_per_second;
    o.offers_burst = config_.offers_per_second * 6;
    o.ice_servers = iceServersOptions(config_);
    webrtc_api_ = std::make_unique<api::WebRtcApi>(*service_, *local_stream_, *media_server_, o, runnerOn(read_pool_));
    webrtc_api_->addRoutes(router_);
    media_stats_ = std::make_unique<api::MediaStatsEndpoint>(*media_server_, config_.api_key, config_.cors_origins,
                                                             runnerOn(read_pool_));
    media_stats_->addRoutes(router_);
  }
  // /metrics: on the API's listener (behind the API key when one is set), or alone on
  // --metrics-listen (open there).
  const bool metrics_apart = !config_.metrics_listen.empty();
  metrics_endpoint_ = std::make_unique<api::MetricsEndpoint>(metrics_, metrics_apart ? std::nullopt : config_.api_key,
                                                             runnerOn(read_pool_));
  if (!metrics_apart) metrics_endpoint_->addRoutes(router_);
}

void App::logStart() const {
  if (media_server_) {
    // One worker: "media server on UDP port 8189, TCP port 8189 (candidates ...)"; several: "media
    // server on UDP ports 8189, 8190, TCP ports 8189, 8190 (candidates ...), 2 media workers".
    const auto udp_ports = media_server_->ports();
    const auto tcp_ports = media_server_->tcpPorts();
    const bool several = udp_ports.size() > 1;
    spdlog::info("media server on UDP port{} {}{} (candidates {}){}", several ? "s" : "", fmt::join(udp_ports, ", "),
                 tcp_ports.empty() ? std::string(", no TCP")
                                   : fmt::format(", TCP port{} {}", several ? "s" : "", fmt::join(tcp_ports, ", ")),
                 fmt::join(media_server_->advertisedAddresses(), ", "),
                 several ? fmt::format(", {} media workers", udp_ports.size()) : std::string());
    if (auto warning =
            candidateReachabilityWarning(media_server_->advertisedAddresses(), public_url_, config_.ice_servers)) {
      spdlog::warn("{}", *warning);
    }
  }
  spdlog::info("liveroom {} listening on {}://{}:{} (public {}), store {}, stream {}", LIVEROOM_VERSION, scheme_,
               hostPart(listen_.first), server_->port(), public_url_, store_->name(),
               provider_ ? provider_->name() : "none");
  spdlog::info("limits: {} connections ({} per address), file descriptors {}", connections_.total,
               connections_.per_address, fd_limit_);
  if (!provider_) {
    spdlog::warn(
        "no stream provider: rooms can be read but not created; set CLOUDFLARE_ACCOUNT_ID and "
        "CLOUDFLARE_API_TOKEN to use Cloudflare Stream");
  }
}

void App::startBackgroundTasks() {
  // Named timers end rooms by themselves; the scan runs on the write pool (it deletes inputs).
  timers_.idle = std::chrono::seconds(config_.room_idle_timeout_s);
  timers_.empty = std::chrono::seconds(config_.room_empty_timeout_s);
  timers_.max_duration = std::chrono::seconds(config_.room_max_duration_s);
  const bool cloudflare_reports_live = config_.cloudflare_webhook_secret.has_value();
  timers_.knows_live = [cloudflare_reports_live](std::string_view provider) {
    return provider == LocalStream::kName || cloudflare_reports_live;
  };
  timer_scan_run_ = std::make_unique<OneAtATime>(write_pool_, [this] {
    try {
      if (const size_t ended = service_->endExpired(timers_); ended > 0) {
        spdlog::info("{} room(s) ended by their timers", ended);
      }
    } catch (const std::exception& e) {
      spdlog::warn("room timers: {}", e.what());
    }
  });
  timer_scan_ = std::make_unique<PeriodicTask>(std::chrono::seconds(5), [this] {
    if (timers_.any()) (*timer_scan_run_)();
  });

  // Several instances on one store: a room whose media is here may be ended through another
  // instance (its end cannot reach this media server). Every 2 s the inputs with sessions here are
  // checked against the store, and those whose room has ended are closed.
  if (media_server_) {
    media_reconcile_run_ = std::make_unique<OneAtATime>(read_pool_, [this] {
      try {
        for (const std::string& uid : service_->endedInputs(media_server_->inputUids())) {
          spdlog::info("media: input {}: its room was ended through another instance; closing its sessions", uid);
          media_server_->closeInput(uid);
        }
      } catch (const std::exception& e) {
        spdlog::warn("media: checking for rooms ended elsewhere: {}", e.what());
      }
    });
    media_reconcile_ = std::make_unique<PeriodicTask>(std::chrono::seconds(2), [this] { (*media_reconcile_run_)(); });
  }
  // Viewer counts go to the store every 2 s (when they changed), so every instance shows them.
  viewer_counts_ = std::make_unique<PeriodicTask>(std::chrono::seconds(2), [this] { service_->flushViewerCounts(); });

  // Cloudflare hygiene: at start and every 10 minutes, live inputs this deployment made that no
  // active room owns (a failed rollback) are deleted, once 10 minutes old; on the write pool.
  if (!deployment_.empty()) {
    orphan_sweep_run_ = std::make_unique<OneAtATime>(write_pool_, [this] {
      try {
        const rooms::RoomService::SweepResult r = service_->sweepOrphanInputs(deployment_, std::chrono::minutes(10));
        spdlog::log(r.deleted + r.failed > 0 ? spdlog::level::info : spdlog::level::debug,
                    "orphan sweep: {} live input(s), {} made by this deployment ({}), {} orphan(s) deleted, {} failed",
                    r.listed, r.ours, deployment_, r.deleted, r.failed);
      } catch (const std::exception& e) {
        spdlog::warn("orphan sweep: {}", e.what());
      }
    });
    (*orphan_sweep_run_)();
    orphan_sweep_ = std::make_unique<PeriodicTask>(std::chrono::minutes(10), [this] { (*orphan_sweep_run_)(); });
  }
}

void App::startWebhooks() {
  // Webhooks go out from their own threads; a room change wakes them, viewer counts are
  // recorded every 2 s (coalesced).
  if (webhook_keys_.empty()) return;
  webhooks::DispatcherOptions options;
  options.keys = webhook_keys_;
  options.retry_max = std::chrono::seconds(config_.webhook_retry_max_s);
  options.user_agent = std::string("liveroom/") + LIVEROOM_VERSION;
  webhook_client_ = std::make_unique<http::CurlHttpClient>();
  dispatcher_ = std::make_unique<webhooks::Dispatcher>(*store_->outbox(), *webhook_client_, options);
  wake_dispatcher_ = std::make_unique<WakeOnRoomChange>(*dispatcher_);
  service_->addListener(*wake_dispatcher_);
  viewer_events_ = std::make_unique<PeriodicTask>(std::chrono::seconds(2), [this] {
    try {
      if (service_->flushViewerEvents() > 0) dispatcher_->wake();
    } catch (const std::exception& e) {
      spdlog::warn("webhooks: viewer counts: {}", e.what());
    }
  });
  dispatcher_->start();
  addWebhookSource(metrics_, *store_->outbox(), *dispatcher_);
  std::vector<std::string> shown;
  for (const std::string& url : config_.webhook_urls) shown.push_back(url.substr(0, url.find_first_of("?#")));
  spdlog::info("webhooks to {} ({} signing key{})", fmt::join(shown, ", "), webhook_keys_.size(),
               webhook_keys_.size() == 1 ? "" : "s");
}

void App::run() {
  int signal = 0;
  sigwait(&stop_signals_, &signal);
  spdlog::info("stopping (signal {}): no new connections; answering the requests in flight", signal);
  stop();
}

void App::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (timer_scan_) timer_scan_->stop();
  if (orphan_sweep_) orphan_sweep_->stop();
  if (media_reconcile_) media_reconcile_->stop();
  if (metrics_server_) metrics_server_->stop();
  if (server_) {
    // Requests already read are answered in full (a create's reply carries its host token) while
    // the pools still run; each reply closes its connection.
    if (!server_->drain(std::chrono::steady_clock::now() + std::chrono::seconds(config_.shutdown_timeout_s))) {
      spdlog::warn("{} request(s) still unanswered after --shutdown-timeout {} s: their connections are closed",
                   server_->inFlight(), config_.shutdown_timeout_s);
    }
    server_->stop();
  }
  write_pool_.join();  // ends in flight may still close inputs on the media server
  // Every session ends through the normal path: broadcasters' rooms go off air and viewer
  // counts to 0, through the read pool (MediaRoomEvents), which is drained next.
  if (media_server_) media_server_->shutdown();
  read_pool_.join();
  if (viewer_counts_) viewer_counts_->stop();
  if (service_) service_->flushViewerCounts();  // the sessions that just ended: counts to 0
  media_server_.reset();                        // its threads and sockets: nothing more can come from them
  if (dispatcher_) {
    // The last events (rooms off air, viewer counts) are in the outbox: send what can go within
    // a few seconds; the rest goes from the next process on this store.
    if (viewer_events_) viewer_events_->stop();
    service_->flushViewerEvents();
    if (wake_dispatcher_) service_->removeListener(*wake_dispatcher_);
    dispatcher_->stop();
    if (!dispatcher_->drain(std::chrono::steady_clock::now() + std::chrono::seconds(5))) {
      spdlog::warn("webhooks: some events are still queued; they go out at the next start");
    }
  }
}

}  // namespace

void setupLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("liveroom");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

int serve(ServeConfig config) {
  sigset_t stop_signals;
  std::unique_ptr<App> app;
  try {
    app = std::make_unique<App>(prepare(std::move(config), stop_signals), stop_signals);
  } catch (const ConfigError& e) {
    std::cerr << "liveroom: " << e.what() << "\n";
    return kExitConfig;
  }
  app->run();
  return 0;
}

}  // namespace liveroom::app

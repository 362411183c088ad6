// The command line (see app.hpp): `liveroom serve` (serve.cpp builds and runs the server),
// `liveroom contract ...`, `liveroom version`.
#include "app/app.hpp"

#include <iostream>
#include <string>

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>

#include "app/chain.hpp"
#include "app/config.hpp"
#include "app/serve.hpp"

namespace liveroom::app {

namespace {

int configError(const std::string& message) {
  std::cerr << "liveroom: " << message << "\n";
  return kExitConfig;
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

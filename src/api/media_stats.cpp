// GET /webRTC/stats (see media_stats.hpp).
#include "api/media_stats.hpp"

#include "api/webrtc_api.hpp"
#include "common/error.hpp"

namespace liveroom::api {

namespace {

nlohmann::json statsJson(const media::MediaServer::Stats& s) {
  const media::PacketMux::Stats& t = s.transport;
  nlohmann::json udp = {{"received", t.udp_received},
                        {"receive_calls", t.udp_receive_calls},
                        {"kernel_drops", t.udp_kernel_drops},
                        {"sent", t.udp_sent},
                        {"send_calls", t.udp_send_calls},
                        {"send_dropped", t.udp_send_dropped},
                        {"send_errors", t.udp_send_errors},
                        {"gso", t.udp_ports > 0 && t.udp_gso_ports == t.udp_ports},
                        {"gso_messages", t.udp_gso_messages},
                        {"receive_buffer_bytes", t.udp_receive_buffer},
                        {"send_buffer_bytes", t.udp_send_buffer}};
  nlohmann::json workers = nlohmann::json::array();
  for (const media::MediaWorker::Stats& w : s.workers) {
    workers.push_back({{"sessions", w.sessions},
                       {"publishers", w.publishers},
                       {"viewers", w.viewers},
                       {"inputs", w.inputs},
                       {"handoff_sent", w.handoff_sent},
                       {"handoff_dropped", w.handoff_dropped},
                       {"handoff_received", w.handoff_received},
                       {"udp_received", w.transport.udp_received},
                       {"udp_sent", w.transport.udp_sent},
                       {"udp_gso_messages", w.transport.udp_gso_messages},
                       {"udp_kernel_drops", w.transport.udp_kernel_drops}});
  }
  return {{"sessions", s.sessions},
          {"inputs", s.inputs},
          {"sessions_refused", s.sessions_refused},
          {"sessions_failed", s.sessions_failed},
          {"unrouted_datagrams", t.dropped_packets},
          {"tcp_connections", t.tcp_connections},
          {"tcp_refused", t.tcp_refused},
          {"retransmissions", s.retransmissions},
          {"retransmissions_refused", s.retransmissions_refused},
          {"publisher_nacked", s.publisher_nacked},
          {"publisher_recovered", s.publisher_recovered},
          {"udp", std::move(udp)},
          {"workers", std::move(workers)}};
}

}  // namespace

MediaStatsEndpoint::MediaStatsEndpoint(media::MediaServer& media, std::optional<std::string> api_key,
                                       std::vector<std::string> cors_origins, BlockingRunner run_reads)
    : media_(media),
      api_key_(std::move(api_key)),
      cors_origins_(std::move(cors_origins)),
      run_reads_(std::move(run_reads)) {}

void MediaStatsEndpoint::addRoutes(http::Router& router) {
  router.add(kPath, [this](http::Request&& req, http::Responder respond, http::RouteParams) {
    auto answer = [&](http::Response res) {
      applyCors(cors_origins_, req, res);
      WebRtcApi::addCorsHeaders(res);
      res.set("Cache-Control", "no-store");
      respond(std::move(res));
    };
    if (req.method == "OPTIONS") {
      http::Response res;
      res.status = 204;
      res.set("Allow", "GET, HEAD, OPTIONS");
      res.set("Access-Control-Max-Age", "600");
      return answer(std::move(res));
    }
    if (req.method != "GET" && req.method != "HEAD") return answer(methodNotAllowed("GET"));
    try {
      requireApiKey(req, api_key_);
    } catch (const Error& e) {
      return answer(fromError(e));
    }
    runBlocking(run_reads_, cors_origins_, req, std::move(respond), [this] {
      http::Response res = json(200, statsJson(media_.stats()));  // json(): Cache-Control: no-store
      WebRtcApi::addCorsHeaders(res);
      return res;
    });
  });
}

}  // namespace liveroom::api

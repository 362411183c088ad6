// GET /webRTC/stats: the embedded media server's counters as JSON (sessions, inputs, refusals,
// retransmissions, the UDP/TCP transport, each worker's figures), behind the API key when one is
// set. Contributed to the route table only when the media server runs (--stream local).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/http_helpers.hpp"
#include "http/router.hpp"
#include "media/server/media_server.hpp"

namespace liveroom::api {

class MediaStatsEndpoint {
 public:
  static constexpr std::string_view kPath = "/webRTC/stats";

  // The counters come from the media workers (MediaServer::stats blocks until they answer): they
  // are asked on `run_reads`, never on an HTTP thread.
  MediaStatsEndpoint(media::MediaServer& media, std::optional<std::string> api_key,
                     std::vector<std::string> cors_origins, BlockingRunner run_reads);

  void addRoutes(http::Router& router);

 private:
  media::MediaServer& media_;
  std::optional<std::string> api_key_;
  std::vector<std::string> cors_origins_;
  BlockingRunner run_reads_;
};

}  // namespace liveroom::api

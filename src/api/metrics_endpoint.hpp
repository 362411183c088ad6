// GET /metrics: the Prometheus text exposition of metrics::Metrics. Rendered on the read pool
// (the scrape counts rooms in the store and asks the media workers). With an API key set, a
// scrape on the API's own listener must bear it (Prometheus: `authorization: {credentials: KEY}`);
// on its own --metrics-listen address it is open (bind that to a private address).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "api/http_helpers.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "metrics/metrics.hpp"

namespace liveroom::api {

class MetricsEndpoint {
 public:
  MetricsEndpoint(metrics::Metrics& metrics, std::optional<std::string> api_key, BlockingRunner run_blocking)
      : metrics_(metrics), api_key_(std::move(api_key)), run_blocking_(std::move(run_blocking)) {}

  static constexpr std::string_view kPath = "/metrics";
  void handle(const http::Request& req, http::Responder respond);
  // Adds GET /metrics (when it is served on the API's listener).
  void addRoutes(http::Router& router) {
    router.add(kPath, [this](http::Request&& req, http::Responder respond, http::RouteParams) {
      handle(req, std::move(respond));
    });
  }

 private:
  metrics::Metrics& metrics_;
  std::optional<std::string> api_key_;
  BlockingRunner run_blocking_;
};

}  // namespace liveroom::api

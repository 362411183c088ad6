#include "api/metrics_endpoint.hpp"

#include <spdlog/spdlog.h>

#include "api/errors.hpp"
#include "api/http_helpers.hpp"
#include "common/error.hpp"

namespace liveroom::api {

void MetricsEndpoint::handle(const http::Request& req, http::Responder respond) {
  if (req.method != "GET" && req.method != "HEAD") return respond(methodNotAllowed("GET"));
  try {
    requireApiKey(req, api_key_);
  } catch (const Error& e) {
    return respond(fromError(e));
  }
  run_blocking_([this, respond = std::move(respond)] {
    http::Response res;
    try {
      res.body = metrics_.render();
    } catch (const std::exception& e) {
      spdlog::error("metrics: {}", e.what());
      return respond(errorResponse(500, codes::kInternalError, "the metrics could not be rendered"));
    }
    res.set("Content-Type", std::string(metrics::Metrics::kContentType));
    res.set("Cache-Control", "no-store");
    respond(std::move(res));
  });
}

}  // namespace liveroom::api

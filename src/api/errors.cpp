// Error code -> HTTP status table and the error envelope.
#include "api/errors.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace liveroom::api {

int httpStatusFor(std::string_view code) {
  for (const auto& [c, status] : codes::kTable) {
    if (c == code) return status;
  }
  return 500;
}

http::Response errorResponse(int status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  http::Response res;
  res.status = status;
  res.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.set("Content-Type", "application/json");
  return res;
}

http::Response errorResponse(std::string_view code, std::string_view message) {
  return errorResponse(httpStatusFor(code), code, message);
}

}  // namespace liveroom::api

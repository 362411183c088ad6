// Error code -> HTTP status table and the error envelope.
#include "api/errors.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <utility>

#include "common/error.hpp"

namespace liveroom::api {

int httpStatusFor(std::string_view code) {
  static constexpr std::array<std::pair<std::string_view, int>, 32> kTable{{
      {codes::kInvalidJson, 400},
      {codes::kInvalidField, 400},
      {"bad_request", 400},
      {"invalid_sdp", 400},
      {codes::kUnauthorized, 401},
      {codes::kForbidden, 403},
      {codes::kRoomNotFound, 404},
      {"not_found", 404},
      {"session_not_found", 404},
      {"method_not_allowed", 405},
      {codes::kRoomExists, 409},
      {codes::kRoomEnded, 410},
      {"publisher_exists", 409},
      {"precondition_failed", 412},
      {"unsupported_codec", 422},
      {"mode_unsupported", 422},
      {"payload_too_large", 413},
      {"unsupported_media_type", 415},
      {"headers_too_large", 431},
      {codes::kProviderError, 502},
      {codes::kProviderAuthFailed, 502},
      {codes::kProviderUnavailable, 502},
      {codes::kProviderRateLimited, 503},
      {codes::kStoreUnavailable, 503},
      {codes::kStreamProviderUnavailable, 503},
      {"media_unavailable", 503},
      {"media_busy", 503},
      {"too_many_connections", 503},
      {"too_many_sessions", 429},
      {"rate_limited", 429},
      {"internal_error", 500},
  }};
  for (const auto& [c, status] : kTable) {
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

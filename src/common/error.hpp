// The one error type of liveroom: a stable machine code plus human text.
// Every layer throws it; api/ maps `code` to an HTTP status in exactly one place.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace liveroom {

class Error : public std::runtime_error {
 public:
  Error(std::string code, std::string message, std::optional<int> retry_after_s = std::nullopt)
      : std::runtime_error(message), code_(std::move(code)), retry_after_s_(retry_after_s) {}

  const std::string& code() const noexcept { return code_; }
  // Seconds a caller should wait before retrying (rate limits), when known.
  std::optional<int> retryAfterSeconds() const noexcept { return retry_after_s_; }

 private:
  std::string code_;
  std::optional<int> retry_after_s_;
};

// Every code a reply can carry ({"error": {"code": ...}}), in one table with its HTTP status
// (api/errors maps a code to its status from here; an unknown code is a 500).
namespace codes {
// 400
inline constexpr const char* kInvalidJson = "invalid_json";
inline constexpr const char* kInvalidField = "invalid_field";
inline constexpr const char* kBadRequest = "bad_request";
inline constexpr const char* kInvalidSdp = "invalid_sdp";
// 401, 403, 404, 405
inline constexpr const char* kUnauthorized = "unauthorized";
inline constexpr const char* kForbidden = "forbidden";
inline constexpr const char* kRoomNotFound = "room_not_found";
inline constexpr const char* kNotFound = "not_found";  // no such path
inline constexpr const char* kSessionNotFound = "session_not_found";
inline constexpr const char* kMethodNotAllowed = "method_not_allowed";
// 409, 410, 412
inline constexpr const char* kRoomExists = "room_exists";  // store: duplicate id
inline constexpr const char* kPublisherExists = "publisher_exists";
inline constexpr const char* kRoomEnded = "room_ended";
inline constexpr const char* kPreconditionFailed = "precondition_failed";
// 413, 415, 422, 431
inline constexpr const char* kPayloadTooLarge = "payload_too_large";
inline constexpr const char* kUnsupportedMediaType = "unsupported_media_type";
inline constexpr const char* kUnsupportedCodec = "unsupported_codec";
inline constexpr const char* kModeUnsupported = "mode_unsupported";
inline constexpr const char* kHeadersTooLarge = "headers_too_large";
// 429
inline constexpr const char* kTooManySessions = "too_many_sessions";
inline constexpr const char* kRateLimited = "rate_limited";
// 500, 502, 503
inline constexpr const char* kInternalError = "internal_error";
inline constexpr const char* kProviderError = "provider_error";              // provider said no
inline constexpr const char* kProviderAuthFailed = "provider_auth_failed";   // provider rejected our credentials
inline constexpr const char* kProviderUnavailable = "provider_unavailable";  // timeout, 5xx, garbage reply
inline constexpr const char* kProviderRateLimited = "provider_rate_limited";
inline constexpr const char* kStoreUnavailable = "store_unavailable";                     // store: cannot reach/write
inline constexpr const char* kStreamProviderUnavailable = "stream_provider_unavailable";  // none configured
inline constexpr const char* kMediaUnavailable = "media_unavailable";
inline constexpr const char* kMediaBusy = "media_busy";
inline constexpr const char* kTooManyConnections = "too_many_connections";
// 307 (a body that names why the request was redirected)
inline constexpr const char* kMoved = "moved";

struct CodeStatus {
  std::string_view code;
  int http_status;
};
inline constexpr CodeStatus kTable[] = {
    {kInvalidJson, 400},         {kInvalidField, 400},
    {kBadRequest, 400},          {kInvalidSdp, 400},
    {kUnauthorized, 401},        {kForbidden, 403},
    {kRoomNotFound, 404},        {kNotFound, 404},
    {kSessionNotFound, 404},     {kMethodNotAllowed, 405},
    {kRoomExists, 409},          {kPublisherExists, 409},
    {kRoomEnded, 410},           {kPreconditionFailed, 412},
    {kPayloadTooLarge, 413},     {kUnsupportedMediaType, 415},
    {kUnsupportedCodec, 422},    {kModeUnsupported, 422},
    {kHeadersTooLarge, 431},     {kTooManySessions, 429},
    {kRateLimited, 429},         {kInternalError, 500},
    {kProviderError, 502},       {kProviderAuthFailed, 502},
    {kProviderUnavailable, 502}, {kProviderRateLimited, 503},
    {kStoreUnavailable, 503},    {kStreamProviderUnavailable, 503},
    {kMediaUnavailable, 503},    {kMediaBusy, 503},
    {kTooManyConnections, 503},  {kMoved, 307},
};
}  // namespace codes

}  // namespace liveroom

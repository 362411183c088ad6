// The one error type of liveroom: a stable machine code plus human text.
// Every layer throws it; api/ maps `code` to an HTTP status in exactly one place.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

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

// Stable codes shared by more than one layer.
namespace codes {
inline constexpr const char* kInvalidJson = "invalid_json";
inline constexpr const char* kInvalidField = "invalid_field";
inline constexpr const char* kRoomNotFound = "room_not_found";
inline constexpr const char* kRoomEnded = "room_ended";
inline constexpr const char* kRoomExists = "room_exists";                   // store: duplicate id
inline constexpr const char* kStoreUnavailable = "store_unavailable";       // store: cannot reach/write
inline constexpr const char* kProviderError = "provider_error";             // provider said no
inline constexpr const char* kProviderAuthFailed = "provider_auth_failed";  // provider rejected our credentials
inline constexpr const char* kProviderRateLimited = "provider_rate_limited";
inline constexpr const char* kProviderUnavailable = "provider_unavailable";               // timeout, 5xx, garbage reply
inline constexpr const char* kStreamProviderUnavailable = "stream_provider_unavailable";  // none configured
inline constexpr const char* kUnauthorized = "unauthorized";
inline constexpr const char* kForbidden = "forbidden";
}  // namespace codes

}  // namespace liveroom

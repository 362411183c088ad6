// Cloudflare Stream API shapes: pure functions from reply bodies to liveroom values and
// from liveroom values to request bodies. No I/O, so every fixture in
// shared/fixtures/cloudflare is a unit test and each function can be fuzzed.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/room_mode.hpp"
#include "stream/stream_provider.hpp"

namespace liveroom::cloudflare {

// A body that is not what Cloudflare documents (not JSON, wrong types, missing uid).
class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ApiError {
  int code = 0;  // 0 when Cloudflare gave none
  std::string message;
  bool operator==(const ApiError&) const = default;
};

// Every JSON reply: {result, success, errors[{code,message}], messages}.
struct Envelope {
  bool success = false;
  std::vector<ApiError> errors;
  nlohmann::json result;  // null when absent
};

// Throws ParseError when the body is not a JSON object. Everything else is tolerated:
// `messages: null`, missing `errors`, malformed error items (kept with code 0).
// A missing `success` is read as "no errors and a non-null result".
Envelope parseEnvelope(std::string_view body);

// Parses a live input object (`result` of create/get). Only the endpoints `mode` offers
// are set: webrtc -> whip_url + whep_url; broadcast -> rtmps + srt ingest and HLS/DASH
// playback, whose URLs are built on the customer host of webRTC.url (or
// webRTCPlayback.url). Throws ParseError when `result` is not an object or its uid is
// missing or not a plain alphanumeric id.
LiveInput parseLiveInput(const nlohmann::json& result, RoomMode mode);

// `result` of the list call: {liveInputs: [...]}. Items carry uid, name and maybe
// state, never credentials or URLs. Throws ParseError on a malformed list.
std::vector<LiveInput> parseLiveInputList(const nlohmann::json& result);

// `status` comes as null, a string, or {current: {state}}; nullopt when none is given.
std::optional<std::string> parseInputState(const nlohmann::json& status);

// Create body: webrtc -> {"meta":{"name":title},"recording":{"mode":"off"}};
// broadcast -> {"meta":{"name":title},"recording":{"mode":"automatic"},
// "deleteRecordingAfterDays":45}. Invalid UTF-8 in the title is replaced, not thrown.
// The live input's meta key that names the liveroom deployment which made it.
inline constexpr std::string_view kDeploymentMetaKey = "liveroom_deployment";
// The create request's body; `deployment`, when set, goes in meta (kDeploymentMetaKey).
std::string buildCreateBody(std::string_view title, RoomMode mode, std::string_view deployment = {});
// "2026-11-20T10:08:50.72217Z" (UTC, fraction optional) as ms since the epoch; nullopt otherwise.
std::optional<int64_t> parseTimestampMs(std::string_view text);

// "https://customer-x.cloudflarestream.com/a/b" -> "customer-x.cloudflarestream.com";
// nullopt when the URL is not an https URL with a host.
std::optional<std::string> httpsHostOf(std::string_view url);

// Live input uids are 32 lowercase hex characters; this accepts 1..64 ASCII letters or
// digits, enough to keep a uid from changing the shape of a URL path it is put into.
bool isPlausibleUid(std::string_view uid);

// A Cloudflare Notifications webhook about a live input ("Stream Live Input").
struct LiveInputNotification {
  std::string input_id;
  std::string event_type;                 // live_input.connected | live_input.disconnected | live_input.errored
  std::optional<std::string> error_code;  // for live_input.errored
  // true/false when the event says a broadcaster is (not) publishing; nullopt otherwise.
  std::optional<bool> live() const;
};
// Parses a webhook body; throws ParseError when it is not a live input notification.
LiveInputNotification parseLiveInputNotification(std::string_view body);

// Codes meaning our credentials are missing, invalid or lack permission
// (9106 missing auth headers, 9109 invalid token, 10000 authentication error, 10001).
bool isAuthErrorCode(int code);
bool hasAuthError(const std::vector<ApiError>& errors);

// "code 9109: Invalid access token; code 10000: ..." (bounded length, for messages/logs).
std::string describeErrors(const std::vector<ApiError>& errors);
// "9109,10000": codes only, for logs.
std::string errorCodes(const std::vector<ApiError>& errors);

}  // namespace liveroom::cloudflare

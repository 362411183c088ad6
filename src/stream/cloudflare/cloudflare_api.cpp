// Pure parsing and body building for the Cloudflare Stream API (see cloudflare_api.hpp).
#include "stream/cloudflare/cloudflare_api.hpp"

#include <array>
#include <cctype>
#include <chrono>

#include "common/json.hpp"

namespace liveroom::cloudflare {

namespace {

using json = nlohmann::json;

// Cloudflare sends both; we keep recordings 45 days in broadcast mode as the spec asks.
constexpr int kDeleteRecordingAfterDays = 45;
// Error text is Cloudflare's, but bound what we copy into messages and logs.
constexpr std::size_t kMaxErrorsDescribed = 3;
constexpr std::size_t kMaxErrorMessageChars = 200;

std::optional<std::string> stringAt(const json& object, std::string_view key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  auto value = it->get<std::string>();
  if (value.empty()) return std::nullopt;
  return value;
}

const json& objectAt(const json& object, std::string_view key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : kNull;
}

ApiError parseApiError(const json& item) {
  ApiError e;
  if (!item.is_object()) return e;
  if (auto it = item.find("code"); it != item.end()) {
    if (it->is_number_integer()) {
      e.code = it->get<int>();
    } else if (it->is_string()) {
      // Some Cloudflare products send codes as strings; take them when they are numbers.
      try {
        e.code = std::stoi(it->get<std::string>());
      } catch (const std::exception&) {
        e.code = 0;
      }
    }
  }
  if (auto msg = stringAt(item, "message")) e.message = *msg;
  return e;
}

std::string baseName(const json& result) {
  const json& meta = objectAt(result, "meta");
  return stringAt(meta, "name").value_or("");
}

// What every live input reply (one, or a list item) says of who made it and when.
void readOrigin(const json& result, LiveInput& input) {
  input.deployment = stringAt(objectAt(result, "meta"), std::string(kDeploymentMetaKey)).value_or("");
  if (auto created = stringAt(result, "created")) input.created_at_ms = parseTimestampMs(*created);
}

}  // namespace

Envelope parseEnvelope(std::string_view body) {
  JsonParse parsed = parseJsonBounded(body, kMaxJsonDepth);
  if (parsed.too_deep) throw ParseError("reply is nested too deeply");
  if (!parsed.value) throw ParseError("reply is not JSON");
  json& j = *parsed.value;
  if (!j.is_object()) throw ParseError("reply is not a JSON object");

  Envelope env;
  if (auto it = j.find("errors"); it != j.end() && it->is_array()) {
    for (const auto& item : *it) env.errors.push_back(parseApiError(item));
  }
  if (auto it = j.find("result"); it != j.end()) env.result = std::move(*it);  // moved: never copied
  if (auto it = j.find("success"); it != j.end() && it->is_boolean()) {
    env.success = it->get<bool>();
  } else {
    env.success = env.errors.empty() && !env.result.is_null();
  }
  return env;
}

std::optional<std::string> parseInputState(const json& status) {
  if (status.is_string()) {
    auto s = status.get<std::string>();
    if (s.empty()) return std::nullopt;
    return s;
  }
  if (status.is_object()) {
    if (auto s = stringAt(objectAt(status, "current"), "state")) return s;
    return stringAt(status, "state");  // tolerated flat variant
  }
  return std::nullopt;
}

std::optional<std::string> httpsHostOf(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  auto end = url.find_first_of("/?#");
  auto host = url.substr(0, end);
  if (host.empty() || host.find('@') != std::string_view::npos) return std::nullopt;
  for (char c : host) {
    auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '-' && c != '.' && c != ':') return std::nullopt;
  }
  return std::string(host);
}

std::optional<bool> LiveInputNotification::live() const {
  if (event_type == "live_input.connected") return true;
  if (event_type == "live_input.disconnected" || event_type == "live_input.errored") return false;
  return std::nullopt;
}

LiveInputNotification parseLiveInputNotification(std::string_view body) {
  JsonParse parsed = parseJsonBounded(body, kMaxJsonDepth);
  if (parsed.too_deep) throw ParseError("notification is nested too deeply");
  if (!parsed.value || !parsed.value->is_object()) throw ParseError("notification is not a JSON object");
  const nlohmann::json& j = *parsed.value;
  auto data = j.find("data");
  if (data == j.end() || !data->is_object()) throw ParseError("notification has no data object");
  auto text = [&](const nlohmann::json& obj, const char* key) -> std::optional<std::string> {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  LiveInputNotification n;
  auto input_id = text(*data, "input_id");
  auto event_type = text(*data, "event_type");
  if (!input_id || !isPlausibleUid(*input_id)) throw ParseError("notification has no valid data.input_id");
  if (!event_type) throw ParseError("notification has no data.event_type");
  n.input_id = std::move(*input_id);
  n.event_type = std::move(*event_type);
  if (auto errored = data->find("live_input_errored"); errored != data->end() && errored->is_object()) {
    if (auto error = errored->find("error"); error != errored->end() && error->is_object()) {
      n.error_code = text(*error, "code");
    }
  }
  return n;
}

bool isPlausibleUid(std::string_view uid) {
  if (uid.empty() || uid.size() > 64) return false;
  for (char c : uid) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

LiveInput parseLiveInput(const json& result, RoomMode mode) {
  if (!result.is_object()) throw ParseError("live input is not a JSON object");
  auto uid = stringAt(result, "uid");
  if (!uid) throw ParseError("live input has no uid");
  if (!isPlausibleUid(*uid)) throw ParseError("live input uid is not an alphanumeric id");

  LiveInput input;
  input.uid = *uid;
  input.name = baseName(result);
  readOrigin(result, input);
  if (auto it = result.find("status"); it != result.end()) input.state = parseInputState(*it);

  auto whip = stringAt(objectAt(result, "webRTC"), "url");
  auto whep = stringAt(objectAt(result, "webRTCPlayback"), "url");

  if (mode == RoomMode::webrtc) {
    input.ingest.whip_url = whip;
    input.playback.whep_url = whep;
    return input;
  }

  const json& rtmps = objectAt(result, "rtmps");
  input.ingest.rtmps_url = stringAt(rtmps, "url");
  input.ingest.rtmps_stream_key = stringAt(rtmps, "streamKey");
  const json& srt = objectAt(result, "srt");
  input.ingest.srt_url = stringAt(srt, "url");
  input.ingest.srt_stream_id = stringAt(srt, "streamId");
  input.ingest.srt_passphrase = stringAt(srt, "passphrase");

  // The live input reply has no HLS/DASH URL; they live on the account's customer host,
  // which is the host of the WebRTC URLs.
  std::optional<std::string> host;
  if (whip) host = httpsHostOf(*whip);
  if (!host && whep) host = httpsHostOf(*whep);
  if (host) {
    const std::string base = "https://" + *host + "/" + input.uid + "/manifest/";
    input.playback.hls_url = base + "video.m3u8";
    input.playback.dash_url = base + "video.mpd";
  }
  return input;
}

std::vector<LiveInput> parseLiveInputList(const json& result) {
  const json* items = nullptr;
  if (result.is_object()) {
    auto it = result.find("liveInputs");
    if (it == result.end() || it->is_null()) return {};
    items = &*it;
  } else if (result.is_array()) {
    items = &result;  // tolerated: some API versions return the array directly
  } else {
    throw ParseError("live input list is not a JSON object");
  }
  if (!items->is_array()) throw ParseError("liveInputs is not an array");

  std::vector<LiveInput> inputs;
  inputs.reserve(items->size());
  for (const auto& item : *items) {
    auto uid = stringAt(item, "uid");
    if (!uid || !isPlausibleUid(*uid)) throw ParseError("live input list item has no valid uid");
    LiveInput input;
    input.uid = *uid;
    input.name = baseName(item);
    readOrigin(item, input);
    if (auto it = item.find("status"); it != item.end()) input.state = parseInputState(*it);
    inputs.push_back(std::move(input));
  }
  return inputs;
}

std::string buildCreateBody(std::string_view title, RoomMode mode, std::string_view deployment) {
  json body;
  body["meta"] = {{"name", std::string(title)}};
  if (!deployment.empty()) body["meta"][std::string(kDeploymentMetaKey)] = std::string(deployment);
  if (mode == RoomMode::webrtc) {
    // WHIP-fed inputs cannot be recorded nor played as HLS/DASH: ask for nothing.
    body["recording"] = {{"mode", "off"}};
  } else {
    body["recording"] = {{"mode", "automatic"}};
    body["deleteRecordingAfterDays"] = kDeleteRecordingAfterDays;
  }
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<int64_t> parseTimestampMs(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z') {
    return std::nullopt;
  }
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2), mi = digits(14, 2),
             sec = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !sec || *h > 23 || *mi > 59 || *sec > 60) return std::nullopt;
  int64_t ms = 0;
  const std::string_view rest = text.substr(19, text.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2) return std::nullopt;
    int scale = 100;
    for (size_t i = 1; i < rest.size(); ++i) {
      if (rest[i] < '0' || rest[i] > '9') return std::nullopt;
      ms += (rest[i] - '0') * scale;
      scale /= 10;
    }
  }
  const std::chrono::year_month_day date{std::chrono::year(*y), std::chrono::month(static_cast<unsigned>(*mo)),
                                         std::chrono::day(static_cast<unsigned>(*d))};
  if (!date.ok()) return std::nullopt;
  const auto days = std::chrono::sys_days(date).time_since_epoch().count();
  return ((static_cast<int64_t>(days) * 24 + *h) * 60 + *mi) * 60'000LL + *sec * 1000LL + ms;
}

bool isAuthErrorCode(int code) {
  static constexpr std::array<int, 4> kAuthCodes = {9106, 9109, 10000, 10001};
  for (int c : kAuthCodes) {
    if (c == code) return true;
  }
  return false;
}

bool hasAuthError(const std::vector<ApiError>& errors) {
  for (const auto& e : errors) {
    if (isAuthErrorCode(e.code)) return true;
  }
  return false;
}

std::string describeErrors(const std::vector<ApiError>& errors) {
  std::string out;
  for (std::size_t i = 0; i < errors.size() && i < kMaxErrorsDescribed; ++i) {
    if (!out.empty()) out += "; ";
    out += "code " + std::to_string(errors[i].code);
    if (!errors[i].message.empty()) {
      std::string_view msg = errors[i].message;
      out += ": ";
      if (msg.size() > kMaxErrorMessageChars) {
        // Cut on a UTF-8 character boundary: the text may end up in a JSON reply.
        std::size_t cut = kMaxErrorMessageChars;
        while (cut > 0 && (static_cast<unsigned char>(msg[cut]) & 0xC0) == 0x80) --cut;
        out += msg.substr(0, cut);
        out += "...";
      } else {
        out += msg;
      }
    }
  }
  if (errors.size() > kMaxErrorsDescribed) out += "; ...";
  return out;
}

std::string errorCodes(const std::vector<ApiError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += ',';
    out += std::to_string(e.code);
  }
  return out;
}

}  // namespace liveroom::cloudflare

// Fuzz target: Cloudflare Stream API replies (stream/cloudflare/cloudflare_api: parseEnvelope,
// parseLiveInput, parseLiveInputList, parseInputState, describeErrors).
// Checks, beyond "no crash":
//  - nothing but ParseError escapes (not JSON, wrong types, huge numbers), and a reply nested
//    deeper than kMaxJsonDepth (common/json.hpp) is refused with it;
//  - an envelope's success follows its rule (given, or: no errors and a non-null result);
//  - a live input always has a plausible uid (1..64 letters or digits), only the endpoints of
//    its mode, the WHIP/WHEP URLs exactly as sent, and HLS/DASH URLs only on an https host
//    taken from them, of the form https://<host>/<uid>/manifest/video.{m3u8,mpd};
//  - list items carry no credentials or URLs;
//  - describeErrors() stays bounded and keeps UTF-8 text valid when it cuts a message.
#include <cctype>
#include <string>

#include "common/json.hpp"
#include "common/utf8.hpp"
#include "fuzz_check.hpp"
#include "json_depth.hpp"
#include "stream/cloudflare/cloudflare_api.hpp"

namespace {

using namespace liveroom;
using namespace liveroom::cloudflare;
using json = nlohmann::json;

template <typename F>
void onlyParseErrors(F&& f) {
  try {
    f();
  } catch (const ParseError&) {
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);
  }
}

std::optional<std::string> urlAt(const json& result, const char* object) {
  if (!result.is_object()) return std::nullopt;
  auto it = result.find(object);
  if (it == result.end() || !it->is_object()) return std::nullopt;
  auto url = it->find("url");
  if (url == it->end() || !url->is_string() || url->get_ref<const std::string&>().empty()) return std::nullopt;
  return url->get<std::string>();
}

void checkLiveInput(const json& result, RoomMode mode) {
  onlyParseErrors([&] {
    const LiveInput in = parseLiveInput(result, mode);
    FUZZ_CHECK(isPlausibleUid(in.uid), "a live input's uid is plausible");
    const auto whip = urlAt(result, "webRTC");
    const auto whep = urlAt(result, "webRTCPlayback");
    if (mode == RoomMode::webrtc) {
      FUZZ_CHECK(in.ingest.whip_url == whip && in.playback.whep_url == whep, "WHIP/WHEP URLs as sent");
      FUZZ_CHECK(!in.ingest.rtmps_url && !in.ingest.rtmps_stream_key && !in.ingest.srt_url &&
                     !in.ingest.srt_passphrase && !in.playback.hls_url && !in.playback.dash_url,
                 "webrtc: no broadcast endpoints");
      return;
    }
    FUZZ_CHECK(!in.ingest.whip_url && !in.playback.whep_url, "broadcast: no WHIP/WHEP");
    FUZZ_CHECK(in.playback.hls_url.has_value() == in.playback.dash_url.has_value(), "HLS and DASH together");
    if (in.playback.hls_url) {
      std::optional<std::string> host;
      if (whip) host = httpsHostOf(*whip);
      if (!host && whep) host = httpsHostOf(*whep);
      FUZZ_CHECK(host.has_value(), "HLS only on a host from the WebRTC URLs");
      const std::string base = "https://" + *host + "/" + in.uid + "/manifest/";
      FUZZ_CHECK(*in.playback.hls_url == base + "video.m3u8" && *in.playback.dash_url == base + "video.mpd",
                 "HLS/DASH URL shape");
      for (char c : *host) {
        FUZZ_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == ':',
                   "the playback host cannot change the URL's shape");
      }
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Envelope env;
  try {
    env = parseEnvelope(fuzz::asText(data, size));
  } catch (const ParseError&) {
    return 0;
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);
  }
  const json whole = json::parse(fuzz::asText(data, size), nullptr, false);
  FUZZ_CHECK(whole.is_object(), "an envelope is a JSON object");
  FUZZ_CHECK(fuzz::jsonDepth(whole) <= kMaxJsonDepth, "a reply nested deeper than kMaxJsonDepth is refused");
  if (auto s = whole.find("success"); s != whole.end() && s->is_boolean()) {
    FUZZ_CHECK(env.success == s->get<bool>(), "success as given");
  } else {
    FUZZ_CHECK(env.success == (env.errors.empty() && !env.result.is_null()), "success from errors and result");
  }

  const std::string described = describeErrors(env.errors);
  FUZZ_CHECK(described.size() <= 3 * (200 + 3 + 32) + 16, "describeErrors is bounded");
  bool all_valid = true;
  for (const ApiError& e : env.errors) all_valid = all_valid && isValidUtf8(e.message);
  if (all_valid) FUZZ_CHECK(isValidUtf8(described), "describeErrors keeps UTF-8 valid when it cuts");
  (void)errorCodes(env.errors);
  (void)hasAuthError(env.errors);

  checkLiveInput(env.result, RoomMode::webrtc);
  checkLiveInput(env.result, RoomMode::broadcast);
  onlyParseErrors([&] {
    for (const LiveInput& in : parseLiveInputList(env.result)) {
      FUZZ_CHECK(isPlausibleUid(in.uid), "list items have plausible uids");
      FUZZ_CHECK(in.ingest == IngestEndpoints{} && in.playback == PlaybackEndpoints{}, "list items carry no URLs");
    }
  });
  onlyParseErrors([&] {
    if (auto state = parseInputState(env.result)) FUZZ_CHECK(!state->empty(), "a state is never empty");
  });
  return 0;
}

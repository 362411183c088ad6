// Fuzz target: HTTP requests to the rooms API (api/rooms_api: routes, headers, JSON bodies,
// queries), over rooms/RoomService with an in-memory store and a fake stream provider that
// already hold two rooms (a webrtc and a broadcast one) whose secrets the fuzzer never gets.
//
// Input: an optional first line "!" + flags (k: an API key is configured; c: CORS allows only
// https://app.example), then up to 8 requests separated by a line "===". A request is
// "METHOD TARGET", header lines "name: value", an empty line, and the body. Placeholders:
// $FIXED / $BROADCAST (the two rooms' ids), $INPUT (the webrtc room's live input uid),
// $WHSEC (the webhook secret), and $ROOM / $TOKEN (id and host token of the last room a
// request of this input created), so whole host flows (create, update, ingest, end) happen.
//
// Checks, beyond "no crash", for every reply:
//  - it is answered exactly once;
//  - it never contains the prepared rooms' host tokens (nor their hashes), their WHIP URL key,
//    RTMPS stream key or SRT passphrase, nor the API key;
//  - it is valid UTF-8; an error is exactly {"error": {"code", "message"}} with the status
//    api/errors.cpp gives that code, never 500; a success has the documented shape of its
//    route (public views without any ingest field, list pages, created rooms, ended rooms);
//  - CORS: "*" always, or the allowed origin echoed only when it was sent;
//  - with an API key configured, no create ever succeeds.
#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/errors.hpp"
#include "api/room_views.hpp"
#include "api/cloudflare_webhook.hpp"
#include "api/rooms_api.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/utf8.hpp"
#include "fuzz_check.hpp"
#include "json_depth.hpp"
#include "rooms/room_service.hpp"
#include "rooms/secrets.hpp"
#include "rooms/validation.hpp"

namespace {

using namespace liveroom;
using json = nlohmann::json;

// RoomStore in a map, with the ordering and filters every store has.
class MemoryRoomStore : public RoomStore {
 public:
  void insert(const RoomRecord& room) override {
    if (!rooms_.emplace(room.room_id, room).second) throw Error(codes::kRoomExists, "duplicate room id");
  }
  std::optional<RoomRecord> get(std::string_view id) override {
    auto it = rooms_.find(std::string(id));
    return it == rooms_.end() ? std::nullopt : std::optional<RoomRecord>(it->second);
  }
  std::optional<RoomRecord> getBySessionId(std::string_view sid) override {
    for (const auto& [id, room] : rooms_) {
      if (room.session_id == sid) return room;
    }
    return std::nullopt;
  }
  std::optional<RoomRecord> updateTitle(std::string_view id, std::string_view title, int64_t now) override {
    return change(id, [&](RoomRecord& r) {
      r.title = std::string(title);
      r.updated_at_ms = now;
    });
  }
  std::optional<RoomRecord> markEnded(std::string_view id, int64_t at, std::string_view reason) override {
    return change(id, [&](RoomRecord& r) {
      if (!r.ended_at_ms) {
        r.ended_at_ms = at;
        r.ended_reason = std::string(reason);
      }
      r.status = RoomStatus::ended;
      r.live = false;
      r.updated_at_ms = at;
    });
  }
  std::optional<RoomRecord> setLive(std::string_view id, bool live, int64_t now) override {
    return change(id, [&](RoomRecord& r) {
      if (r.live != live) r.live_changed_at_ms = now;
      r.live = live;
      r.updated_at_ms = now;
    });
  }
  size_t clearLive(std::string_view provider, std::string_view whep_prefix, int64_t now) override {
    size_t n = 0;
    for (auto& [id, r] : rooms_) {
      if (r.provider != provider || !r.live) continue;
      if (!whep_prefix.empty() && !r.playback.whep_url.value_or("").starts_with(whep_prefix)) continue;
      r.live = false;
      r.updated_at_ms = now;
      ++n;
    }
    return n;
  }
  std::vector<RoomRecord> list(const ListQuery& q) override {
    std::vector<RoomRecord> out;
    for (const auto& [id, r] : rooms_) {
      if (q.status && r.status != *q.status) continue;
      if (q.host && r.host != *q.host) continue;
      if (q.visibility && r.visibility != *q.visibility) continue;
      if (q.after &&
          std::make_pair(r.created_at_ms, r.room_id) >= std::make_pair(q.after->created_at_ms, q.after->room_id))
        continue;
      out.push_back(r);
    }
    std::sort(out.begin(), out.end(), [](const RoomRecord& a, const RoomRecord& b) {
      return std::make_pair(a.created_at_ms, a.room_id) > std::make_pair(b.created_at_ms, b.room_id);
    });
    if (out.size() > static_cast<size_t>(q.limit)) out.resize(static_cast<size_t>(q.limit));
    return out;
  }
  bool ping() override { return true; }
  std::string_view name() const override { return "memory"; }

 private:
  template <typename F>
  std::optional<RoomRecord> change(std::string_view id, F&& f) {
    auto it = rooms_.find(std::string(id));
    if (it == rooms_.end()) return std::nullopt;
    f(it->second);
    return it->second;
  }
  std::map<std::string, RoomRecord> rooms_;
};

// Live inputs shaped like Cloudflare's: the WHIP URL, RTMPS key and SRT passphrase are secrets.
class FakeProvider : public StreamProvider {
 public:
  std::string_view name() const override { return "cloudflare"; }
  LiveInput createInput(std::string_view title, RoomMode mode) override {
    LiveInput in;
    in.uid = rooms::randomBase62(32);
    in.name = std::string(title);
    const std::string host = "https://customer-fuzz.cloudflarestream.com/";
    if (mode == RoomMode::webrtc) {
      in.ingest.whip_url = host + rooms::randomBase62(32) + "k" + in.uid + "/webRTC/publish";
      in.playback.whep_url = host + in.uid + "/webRTC/play";
    } else {
      in.ingest.rtmps_url = "rtmps://live.cloudflare.com:443/live/";
      in.ingest.rtmps_stream_key = rooms::randomBase62(32) + "k" + in.uid;
      in.ingest.srt_url = "srt://live.cloudflare.com:778";
      in.ingest.srt_stream_id = rooms::randomBase62(32) + "k" + in.uid;
      in.ingest.srt_passphrase = rooms::randomBase62(32);
      in.playback.hls_url = host + in.uid + "/manifest/video.m3u8";
      in.playback.dash_url = host + in.uid + "/manifest/video.mpd";
    }
    return in;
  }
  std::optional<LiveInput> getInput(std::string_view, RoomMode) override { return std::nullopt; }
  void deleteInput(std::string_view) override {}
  std::vector<LiveInput> listInputs() override { return {}; }
};

// The prepared rooms (made once per process, copied into each run's store) and every secret.
struct Fixture {
  RoomRecord webrtc_room;
  RoomRecord broadcast_room;
  std::string api_key = "lrk_" + rooms::randomBase62(40);
  std::string webhook_secret = "whsec_" + rooms::randomBase62(24);
  std::vector<std::string> secrets;

  Fixture() {
    MemoryRoomStore store;
    FakeProvider provider;
    rooms::RoomService service(store, &provider);
    auto a = service.create("Lớp học online", "user_123", RoomMode::webrtc);
    auto b = service.create("Broadcast", "user_456", RoomMode::broadcast);
    webrtc_room = a.room;
    broadcast_room = b.room;
    const std::string whip_key =
        a.room.ingest.whip_url->substr(std::string("https://customer-fuzz.cloudflarestream.com/").size(), 32);
    secrets = {a.host_token,
               b.host_token,
               a.room.host_token_hash,
               b.room.host_token_hash,
               whip_key,
               *b.room.ingest.rtmps_stream_key,
               *b.room.ingest.srt_stream_id,
               *b.room.ingest.srt_passphrase,
               api_key};
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

struct ParsedRequest {
  http::Request req;
};

std::string substitute(std::string text, const std::map<std::string, std::string>& vars) {
  for (const auto& [name, value] : vars) {
    for (size_t pos = text.find(name); pos != std::string::npos; pos = text.find(name, pos + value.size())) {
      text.replace(pos, name.size(), value);
    }
  }
  return text;
}

http::Request parseRequest(std::string_view text) {
  http::Request req;
  const size_t eol = text.find('\n');
  const std::string_view first = text.substr(0, eol);
  text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
  const size_t space = first.find(' ');
  req.method = std::string(first.substr(0, space));
  req.target = space == std::string_view::npos ? "/" : std::string(first.substr(space + 1));
  const size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    req.headers.emplace_back(std::move(name), std::string(value));
  }
  req.body = std::string(text);
  return req;
}

bool hasKeyDeep(const json& j, const std::vector<std::string>& keys) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (std::find(keys.begin(), keys.end(), k) != keys.end() || hasKeyDeep(v, keys)) return true;
    }
  } else if (j.is_array()) {
    for (const auto& v : j) {
      if (hasKeyDeep(v, keys)) return true;
    }
  }
  return false;
}

void checkPublicView(const json& v) {
  FUZZ_CHECK(v.is_object() && v.contains("room_id") && v["room_id"].is_string() &&
                 rooms::isWellFormedRoomId(v["room_id"].get<std::string>()),
             "a public view names a well-formed room");
  FUZZ_CHECK(v.contains("status") && (v["status"] == "active" || v["status"] == "ended"), "a public view's status");
  FUZZ_CHECK(!hasKeyDeep(v, {"host_token", "whip_url", "ingest", "stream_key", "passphrase", "stream_id", "session_id",
                             "host_token_hash"}),
             "a public view shows no ingest field, token or input id");
}

std::optional<std::string> headerOf(const http::Response& res, std::string_view name) {
  for (const auto& [n, v] : res.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

struct Config {
  bool api_key = false;
  bool cors_list = false;
};

void checkReply(const Config& config, const http::Request& req, const http::Response& res, std::string& last_room,
                std::string& last_token) {
  const std::string_view reply_body = res.bodyView();
  FUZZ_CHECK(!res.file, "API replies are in memory");
  for (const std::string& secret : fixture().secrets) {
    FUZZ_CHECK(!fuzz::containsSecret(reply_body, secret), "a reply never shows a prepared room's secret");
    for (const auto& [n, v] : res.headers) FUZZ_CHECK(!fuzz::containsSecret(v, secret), "nor a header does");
  }
  FUZZ_CHECK(isValidUtf8(reply_body), "replies are valid UTF-8");
  FUZZ_CHECK(res.status != 500, "no internal error");

  const auto acao = headerOf(res, "Access-Control-Allow-Origin");
  if (!config.cors_list) {
    FUZZ_CHECK(acao == "*", "CORS *");
  } else {
    const auto origin = req.header("origin");
    FUZZ_CHECK(!acao || (origin && *acao == *origin && *origin == "https://app.example"),
               "an allow-listed origin is echoed only when it was sent");
  }

  if (res.status == 204) {
    FUZZ_CHECK(req.method == "OPTIONS" && reply_body.empty(), "204 only for OPTIONS, empty");
    return;
  }
  // A room's QR code (GET rooms/{id}/qr.svg) is the one reply that is not JSON.
  if (res.status == 200 && headerOf(res, "Content-Type") == "image/svg+xml") {
    FUZZ_CHECK(req.path.size() > 7 && req.path.compare(req.path.size() - 7, 7, "/qr.svg") == 0,
               "SVG only from a qr.svg path");
    FUZZ_CHECK(reply_body.find("<svg") != std::string::npos, "an SVG body");
    return;
  }
  // A room's event stream (GET rooms/{id}/events) is Server-Sent Events: its head, then events.
  if (res.status == 200 && headerOf(res, "Content-Type") == "text/event-stream; charset=utf-8") {
    FUZZ_CHECK(req.method == "GET" && req.path.size() > 7 && req.path.compare(req.path.size() - 7, 7, "/events") == 0,
               "an event stream only from a rooms/{id}/events path");
    return;
  }
  const json body = json::parse(reply_body, nullptr, false);
  FUZZ_CHECK(body.is_object(), "every reply body is a JSON object");
  FUZZ_CHECK(headerOf(res, "Content-Type") == "application/json", "JSON content type");
  const bool json_route =
      req.method == "POST" && (req.path == "/api/livestream/create" || req.path == "/api/livestream/update" ||
                               req.path == "/api/livestream/end");
  if (json_route) {
    const json parsed = json::parse(req.body, nullptr, false);
    if (!parsed.is_discarded() && fuzz::jsonDepth(parsed) > kMaxJsonDepth) {
      FUZZ_CHECK(res.status >= 400, "a body nested deeper than the cap is refused");
    }
  }
  if (res.status >= 400) {
    FUZZ_CHECK(body.size() == 1 && body.contains("error") && body["error"].is_object() && body["error"].size() == 2 &&
                   body["error"].contains("code") && body["error"]["code"].is_string() &&
                   body["error"].contains("message") && body["error"]["message"].is_string(),
               "an error is {\"error\": {\"code\", \"message\"}}");
    FUZZ_CHECK(api::httpStatusFor(body["error"]["code"].get<std::string>()) == res.status,
               "the status is the code's, from api/errors.cpp");
    return;
  }

  const std::string& path = req.path;
  constexpr std::string_view kRooms = "/api/livestream/rooms/";
  if (path == "/healthz" || path == "/readyz") {
    FUZZ_CHECK(body.contains("status"), "probe shape");
  } else if (path == "/api/livestream/create") {
    FUZZ_CHECK(!config.api_key, "with an API key configured, no create succeeds");
    FUZZ_CHECK(res.status == 201 && body.contains("host_token") && body.contains("whip_url") &&
                   body.contains("ingest") && body.contains("playback") && body["room_id"].is_string(),
               "a created room's shape");
    last_room = body["room_id"].get<std::string>();
    last_token = body["host_token"].get<std::string>();
    FUZZ_CHECK(rooms::isWellFormedRoomId(last_room), "a created room id is well formed");
  } else if (path == "/api/livestream/join" || path == "/api/livestream/update") {
    FUZZ_CHECK(res.status == 200, "200");
    checkPublicView(body);
  } else if (path == "/api/livestream/end") {
    FUZZ_CHECK(body.size() == 3 && body["status"] == "ended" && body.contains("room_id") && body.contains("ended_at"),
               "an ended room's shape");
  } else if (path == "/api/livestream/rooms") {
    FUZZ_CHECK(body.size() == 2 && body["rooms"].is_array() &&
                   (body["next_cursor"].is_string() || body["next_cursor"].is_null()),
               "a list page's shape");
    for (const json& room : body["rooms"]) checkPublicView(room);
  } else if (path.starts_with(kRooms) && path.ends_with("/ingest")) {
    FUZZ_CHECK(body.contains("whip_url") && body.contains("rtmps") && body.contains("srt"), "an ingest object's shape");
  } else if (path.starts_with(kRooms)) {
    checkPublicView(body);
  } else if (path == "/api/livestream/webhooks/cloudflare") {
    FUZZ_CHECK(body.size() == 3 && body["event_type"].is_string() && body["applied"].is_boolean(),
               "webhook reply shape");
  } else {
    FUZZ_CHECK(false, "a success on a route that has none");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Fixture& f = fixture();
  std::string_view text = fuzz::asText(data, size);
  Config config;
  if (text.starts_with("!")) {
    const size_t eol = text.find('\n');
    const std::string_view flags = text.substr(1, eol == std::string_view::npos ? text.size() : eol - 1);
    config.api_key = flags.find('k') != std::string_view::npos;
    config.cors_list = flags.find('c') != std::string_view::npos;
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
  }

  MemoryRoomStore store;
  store.insert(f.webrtc_room);
  store.insert(f.broadcast_room);
  FakeProvider provider;
  rooms::RoomServiceOptions service_options;
  service_options.render_public_view = api::renderPublicView;
  rooms::RoomService service(store, &provider, service_options);
  api::ApiOptions options;
  if (config.cors_list) options.cors_origins = {"https://app.example"};
  if (config.api_key) options.api_key = f.api_key;
  options.creates_per_minute = 0;  // one fuzz input is many requests from "nobody": no rate limit in the way
  auto inline_runner = [](std::function<void()> work) { work(); };
  api::RoomsApi rooms_api(service, options, inline_runner, inline_runner);
  api::CloudflareWebhook cloudflare_webhook(service, f.webhook_secret, options.cors_origins, inline_runner);
  // The route table as the app builds it for these two surfaces.
  http::Router router;
  rooms_api.addRoutes(router);
  cloudflare_webhook.addRoutes(router);

  std::string last_room = f.webrtc_room.room_id, last_token = "none";
  for (int n = 0; n < 8 && !text.empty(); ++n) {
    const size_t sep = text.find("\n===\n");
    const std::string_view one = text.substr(0, sep);
    text = sep == std::string_view::npos ? std::string_view{} : text.substr(sep + 5);
    const std::map<std::string, std::string> vars = {{"$FIXED", f.webrtc_room.room_id},
                                                     {"$BROADCAST", f.broadcast_room.room_id},
                                                     {"$INPUT", f.webrtc_room.session_id},
                                                     {"$WHSEC", f.webhook_secret},
                                                     {"$ROOM", last_room},
                                                     {"$TOKEN", last_token}};
    http::Request req = parseRequest(substitute(std::string(one), vars));
    const http::Request copy = req;
    int answers = 0;
    http::Response reply;
    http::Responder respond([&](http::Response res) {
      ++answers;
      reply = std::move(res);
    });
    if (!router.dispatch(req, respond)) rooms_api.fallback(std::move(req), std::move(respond));
    FUZZ_CHECK(answers == 1, "every request is answered exactly once");
    checkReply(config, copy, reply, last_room, last_token);
  }
  return 0;
}

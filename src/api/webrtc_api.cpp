// WHIP/WHEP routes (see webrtc_api.hpp).
#include "api/webrtc_api.hpp"

#include <memory>

#include <spdlog/spdlog.h>

#include "api/errors.hpp"
#include "api/http_helpers.hpp"
#include "common/error.hpp"
#include "http/client_address.hpp"
#include "rooms/validation.hpp"

namespace liveroom::api {

namespace {

constexpr std::string_view kPublishSuffix = "/webRTC/publish";
constexpr std::string_view kPlaySuffix = "/webRTC/play";
constexpr std::string_view kAliasPrefix = "/whip/";
constexpr std::string_view kSessionPrefix = "/webRTC/sessions/";
constexpr std::string_view kStatsPath = "/webRTC/stats";
constexpr std::string_view kAllow = "POST, GET, HEAD, OPTIONS";
constexpr std::string_view kSessionAllow = "PATCH, DELETE, GET, HEAD, OPTIONS";

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool isHex32(std::string_view s) { return LocalStream::isValidUid(s); }

// The media type of a Content-Type value, lower-cased, without parameters.
std::string mediaType(std::optional<std::string_view> content_type) {
  if (!content_type) return {};
  std::string_view v = content_type->substr(0, content_type->find(';'));
  std::string out(rooms::trimAscii(v));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

http::Response noContent() {
  http::Response res;
  res.status = 204;
  return res;
}

}  // namespace

WebRtcApi::WebRtcApi(rooms::RoomService& service, LocalStream& stream, media::MediaServer& media,
                     WebRtcApiOptions options, BlockingRunner run_reads)
    : service_(service),
      stream_(stream),
      media_(media),
      options_(std::move(options)),
      run_reads_(std::move(run_reads)),
      offers_(options_.offers_per_second, options_.offers_burst),
      ice_servers_(options_.ice_servers) {}

void WebRtcApi::addIceServerLinks(http::Response& res) const {
  for (std::string& link : ice_servers_.linkHeaders(std::chrono::system_clock::now())) res.set("Link", std::move(link));
}

bool WebRtcApi::owns(std::string_view path) {
  return endsWith(path, kPublishSuffix) || endsWith(path, kPlaySuffix) || path.rfind(kAliasPrefix, 0) == 0 ||
         path.rfind(kSessionPrefix, 0) == 0 || path == kStatsPath;
}

void WebRtcApi::stats(const http::Request& req, http::Responder& respond) {
  if (req.method != "GET" && req.method != "HEAD") return respond(decorate(req, methodNotAllowed("GET")));
  requireApiKey(req, options_.api_key);
  // The counters come from the media thread: wait for them on the read pool, not here.
  http::Request cors_req;
  if (auto origin = req.header("origin")) cors_req.headers.emplace_back("origin", std::string(*origin));
  run_reads_([this, cors_req = std::move(cors_req), respond = std::move(respond)] {
    const media::MediaServer::Stats s = media_.stats();
    const media::PacketMux::Stats& t = s.transport;
    nlohmann::json udp = {{"received", t.udp_received},
                          {"receive_calls", t.udp_receive_calls},
                          {"kernel_drops", t.udp_kernel_drops},
                          {"sent", t.udp_sent},
                          {"send_calls", t.udp_send_calls},
                          {"send_dropped", t.udp_send_dropped},
                          {"send_errors", t.udp_send_errors},
                          {"gso", t.udp_ports > 0 && t.udp_gso_ports == t.udp_ports},
                          {"gso_messages", t.udp_gso_messages},
                          {"receive_buffer_bytes", t.udp_receive_buffer},
                          {"send_buffer_bytes", t.udp_send_buffer}};
    nlohmann::json workers = nlohmann::json::array();
    for (const media::MediaWorker::Stats& w : s.workers) {
      workers.push_back({{"sessions", w.sessions},
                         {"publishers", w.publishers},
                         {"viewers", w.viewers},
                         {"inputs", w.inputs},
                         {"handoff_sent", w.handoff_sent},
                         {"handoff_dropped", w.handoff_dropped},
                         {"handoff_received", w.handoff_received},
                         {"udp_received", w.transport.udp_received},
                         {"udp_sent", w.transport.udp_sent},
                         {"udp_gso_messages", w.transport.udp_gso_messages},
                         {"udp_kernel_drops", w.transport.udp_kernel_drops}});
    }
    nlohmann::json body = {{"sessions", s.sessions},
                           {"inputs", s.inputs},
                           {"sessions_refused", s.sessions_refused},
                           {"sessions_failed", s.sessions_failed},
                           {"unrouted_datagrams", t.dropped_packets},
                           {"tcp_connections", t.tcp_connections},
                           {"tcp_refused", t.tcp_refused},
                           {"retransmissions", s.retransmissions},
                           {"retransmissions_refused", s.retransmissions_refused},
                           {"publisher_nacked", s.publisher_nacked},
                           {"publisher_recovered", s.publisher_recovered},
                           {"udp", std::move(udp)},
                           {"workers", std::move(workers)}};
    respond(decorate(cors_req, json(200, body)));
  });
}

void WebRtcApi::addCorsHeaders(http::Response& res) {
  res.set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Post, Accept-Patch");
  res.set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match");
  res.set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, GET, HEAD, OPTIONS");
}

http::Response WebRtcApi::decorate(const http::Request& req, http::Response res) const {
  applyCors(options_.cors_origins, req, res);
  addCorsHeaders(res);
  res.set("Cache-Control", "no-store");
  return res;
}

std::string WebRtcApi::sessionUrl(const http::Request& req, const std::string& session_id) const {
  const std::string configured = stream_.publicUrl();
  return linkBase(req, options_.location_from_host ? std::string_view() : std::string_view(configured),
                  options_.link_scheme, configured) +
         std::string(kSessionPrefix) + session_id;
}

void WebRtcApi::handle(http::Request&& req, http::Responder respond) {
  const std::string path = req.path;
  auto answer = [&](http::Response res) { respond(decorate(req, std::move(res))); };
  try {
    if (path == kStatsPath) return stats(req, respond);
    Kind kind;
    std::string target;        // uid, room id or session id
    bool key_verified = true;  // a publish URL's key (checked below)
    if (path.rfind(kSessionPrefix, 0) == 0) {
      kind = Kind::Session;
      target = path.substr(kSessionPrefix.size());
      if (!isHex32(target)) throw Error(codes::kSessionNotFound, "no such session");
    } else if (path.rfind(kAliasPrefix, 0) == 0) {
      kind = Kind::PublishAlias;
      target = path.substr(kAliasPrefix.size());
      if (!rooms::isWellFormedRoomId(target)) throw Error(codes::kRoomNotFound, "no room with id " + target);
    } else if (endsWith(path, kPublishSuffix)) {
      kind = Kind::Publish;
      // "/" + 32 hex key + "k" + 32 hex uid + suffix
      const std::string_view id = std::string_view(path).substr(1, path.size() - 1 - kPublishSuffix.size());
      const size_t k = id.find('k');
      if (k == std::string_view::npos || !LocalStream::isValidUid(id.substr(k + 1))) {
        throw Error(codes::kNotFound, "no live input for this publish URL");
      }
      // Checked once the room is known: another instance's room is checked by that instance.
      key_verified = stream_.verifyPublishKey(id.substr(k + 1), id.substr(0, k));
      target = std::string(id.substr(k + 1));
    } else {
      kind = Kind::Play;
      target = path.substr(1, path.size() - 1 - kPlaySuffix.size());
      if (!isHex32(target)) throw Error(codes::kNotFound, "no live input for this play URL");
    }

    const std::string& method = req.method;
    if (method == "OPTIONS") {
      http::Response res = noContent();
      if (kind == Kind::Session) {
        res.set("Allow", std::string(kSessionAllow));
        res.set("Accept-Patch", "application/trickle-ice-sdpfrag");
      } else {
        res.set("Allow", std::string(kAllow));
        res.set("Accept-Post", "application/sdp");
        // A CORS preflight is the browser's, not the client's: it gets no credentials.
        if (!req.header("access-control-request-method")) addIceServerLinks(res);
      }
      res.set("Access-Control-Max-Age", "600");
      return answer(std::move(res));
    }
    if (method == "GET" || method == "HEAD") return answer(noContent());
    if (kind == Kind::Session) return session(target, std::move(req), std::move(respond));
    if (method != "POST") return answer(methodNotAllowed(kAllow.substr(0, 4)));
    if (mediaType(req.header("content-type")) != "application/sdp") {
      throw Error(codes::kUnsupportedMediaType, "send the SDP offer with Content-Type: application/sdp");
    }
    std::chrono::milliseconds wait{0};
    if (!offers_.allow(http::connectionLimitKey(req.remote_address), RateLimiter::Clock::now(), &wait)) {
      const auto seconds = std::max<int64_t>(1, (wait.count() + 999) / 1000);
      throw Error(codes::kRateLimited, "too many WHIP/WHEP offers from your address; retry in a moment",
                  static_cast<int>(seconds));
    }
    post(kind, std::move(target), key_verified, std::move(req), std::move(respond));
  } catch (const Error& e) {
    answer(fromError(e));
  }
}

void WebRtcApi::post(Kind kind, std::string target, bool key_verified, http::Request&& req, http::Responder respond) {
  auto shared = std::make_shared<http::Request>(std::move(req));
  run_reads_([this, kind, key_verified, target = std::move(target), shared, respond = std::move(respond)]() mutable {
    auto fail = [&](const Error& e) { respond(decorate(*shared, fromError(e))); };
    std::string uid;
    std::string whep_url;  // names the instance that carries the room's media
    bool live = false;
    try {
      if (kind == Kind::PublishAlias) {
        // Checks the host token; throws room_not_found, forbidden, unauthorized, room_ended.
        const RoomRecord room = service_.ingest(target, bearerToken(*shared));
        if (room.provider != LocalStream::kName) {
          throw Error(codes::kNotFound, "this room publishes to Cloudflare Stream: use its whip_url");
        }
        uid = room.session_id;
        whep_url = room.playback.whep_url.value_or("");
        live = room.live;
      } else if (auto cached = service_.findByInputCached(target)) {
        // The join cache (fresh for its TTL): a crowd's WHEP POSTs do not each read the store.
        if (cached->provider != LocalStream::kName) throw Error(codes::kNotFound, "no such live input");
        if (cached->ended) throw Error(codes::kRoomEnded, "the room has ended");
        uid = target;
        whep_url = cached->whep_url;
        live = cached->live;
      } else {
        auto room = service_.findByInput(target);
        if (!room || room->provider != LocalStream::kName) throw Error(codes::kNotFound, "no such live input");
        if (room->status == "ended") throw Error(codes::kRoomEnded, "the room has ended");
        uid = target;
        whep_url = room->playback.whep_url.value_or("");
        live = room->live;
      }
      // Several instances on one store: the room's media lives in the instance its URLs name. A
      // broadcaster is refused here when that room is on air; otherwise the client is sent there
      // (307 keeps the method and body; the path is the client's own, so the key is checked there).
      const std::string mine = stream_.publicUrl();
      const std::string suffix = "/" + uid + "/webRTC/play";
      const bool elsewhere = whep_url.ends_with(suffix) && whep_url.size() > suffix.size() &&
                             whep_url.compare(0, whep_url.size() - suffix.size(), mine) != 0;
      if (elsewhere) {
        if (kind != Kind::Play && live) {
          throw Error(codes::kPublisherExists, "this room is on air through another liveroom instance");
        }
        http::Response res = errorResponse(codes::kMoved, "this room's media is on another liveroom instance");
        res.set("Location", whep_url.substr(0, whep_url.size() - suffix.size()) + shared->target);
        return respond(decorate(*shared, std::move(res)));
      }
      if (!key_verified) throw Error(codes::kNotFound, "no live input for this publish URL");
    } catch (const Error& e) {
      return fail(e);
    } catch (const std::exception& e) {
      spdlog::error("webrtc api: room lookup failed: {}", e.what());
      return fail(Error(codes::kInternalError, "internal error"));
    }
    auto done = [this, shared, respond = std::move(respond)](std::variant<media::SessionAnswer, Error> result) {
      if (auto* e = std::get_if<Error>(&result)) return respond(decorate(*shared, fromError(*e)));
      auto& answer = std::get<media::SessionAnswer>(result);
      http::Response res;
      res.status = 201;
      res.body = std::move(answer.sdp);
      res.set("Content-Type", "application/sdp");
      res.set("Location", sessionUrl(*shared, answer.session_id));
      res.set("ETag", answer.etag);
      addIceServerLinks(res);
      respond(decorate(*shared, std::move(res)));
    };
    std::string offer = std::move(shared->body);
    std::string client = http::connectionLimitKey(shared->remote_address);
    if (kind == Kind::Play) {
      media_.play(uid, std::move(offer), std::move(done), std::move(client));
    } else {
      media_.publish(uid, std::move(offer), std::move(done), std::move(client));
    }
  });
}

void WebRtcApi::session(const std::string& session_id, http::Request&& req, http::Responder respond) {
  auto shared = std::make_shared<http::Request>(std::move(req));
  if (shared->method == "DELETE") {
    media_.remove(session_id, [this, shared, respond = std::move(respond)](bool found) {
      if (!found) return respond(decorate(*shared, fromError(Error(codes::kSessionNotFound, "no such session"))));
      http::Response res;
      res.status = 200;
      respond(decorate(*shared, std::move(res)));
    });
    return;
  }
  if (shared->method != "PATCH") return respond(decorate(*shared, methodNotAllowed("PATCH, DELETE")));
  if (mediaType(shared->header("content-type")) != "application/trickle-ice-sdpfrag") {
    return respond(decorate(*shared, fromError(Error(codes::kUnsupportedMediaType,
                                                     "send trickle candidates with Content-Type: "
                                                     "application/trickle-ice-sdpfrag"))));
  }
  std::optional<std::string> if_match;
  if (auto h = shared->header("if-match")) if_match = std::string(rooms::trimAscii(*h));
  std::string body = std::move(shared->body);
  media_.patch(
      session_id, std::move(if_match), std::move(body),
      [this, shared, respond = std::move(respond)](std::variant<media::MediaServer::PatchResult, Error> result) {
        if (auto* e = std::get_if<Error>(&result)) return respond(decorate(*shared, fromError(*e)));
        auto& patched = std::get<media::MediaServer::PatchResult>(result);
        http::Response res = noContent();
        if (!patched.fragment.empty()) {
          // An ICE restart: our new credentials (RFC 9725 §4.4.1).
          res.status = 200;
          res.body = std::move(patched.fragment);
          res.set("Content-Type", "application/trickle-ice-sdpfrag");
        }
        res.set("ETag", patched.etag);
        respond(decorate(*shared, std::move(res)));
      });
}

}  // namespace liveroom::api

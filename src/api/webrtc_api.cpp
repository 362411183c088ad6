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

constexpr std::string_view kSessionPrefix = "/webRTC/sessions/";
constexpr std::string_view kAllow = "POST, GET, HEAD, OPTIONS";
constexpr std::string_view kSessionAllow = "PATCH, DELETE, GET, HEAD, OPTIONS";

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

WebRtcApi::WebRtcApi(rooms::RoomService& service, LocalStream& stream, media::MediaSessions& media,
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

void WebRtcApi::addRoutes(http::Router& router) {
  auto route = [this, &router](std::string_view pattern, Kind kind) {
    router.add(pattern, [this, kind](http::Request&& req, http::Responder respond, http::RouteParams params) {
      handle(kind, std::move(params.front()), std::move(req), std::move(respond));
    });
  };
  route("/{key}/webRTC/publish", Kind::Publish);
  route("/whip/{room_id}", Kind::PublishAlias);
  route("/{uid}/webRTC/play", Kind::Play);
  route("/webRTC/sessions/{id}", Kind::Session);
  // Other paths of the same families (a session id with a slash, a bare /whip/): 404 here, with
  // the CORS headers a WHIP/WHEP client reads.
  auto not_found = [this](http::Request&& req, http::Responder respond, http::RouteParams) {
    respond(decorate(req, errorResponse(codes::kNotFound, "no WHIP/WHEP resource here: " + req.path)));
  };
  router.addFamily("/whip/", "/whip/other", not_found);
  router.addFamily("/webRTC/", "/webRTC/other", not_found);
}

void WebRtcApi::handle(Kind kind, std::string target, http::Request&& req, http::Responder respond) {
  auto answer = [&](http::Response res) { respond(decorate(req, std::move(res))); };
  try {
    bool key_verified = true;  // a publish URL's key (checked below)
    if (kind == Kind::Session) {
      if (!isHex32(target)) throw Error(codes::kSessionNotFound, "no such session");
    } else if (kind == Kind::PublishAlias) {
      if (!rooms::isWellFormedRoomId(target)) throw Error(codes::kRoomNotFound, "no room with id " + target);
    } else if (kind == Kind::Publish) {
      // 32 hex key + "k" + 32 hex uid
      const size_t k = target.find('k');
      if (k == std::string::npos || !LocalStream::isValidUid(std::string_view(target).substr(k + 1))) {
        throw Error(codes::kNotFound, "no live input for this publish URL");
      }
      // Checked once the room is known: another instance's room is checked by that instance.
      key_verified =
          stream_.verifyPublishKey(std::string_view(target).substr(k + 1), std::string_view(target).substr(0, k));
      target.erase(0, k + 1);
    } else if (!isHex32(target)) {
      throw Error(codes::kNotFound, "no live input for this play URL");
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
        if (room->status == RoomStatus::ended) throw Error(codes::kRoomEnded, "the room has ended");
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
  media_.patch(session_id, std::move(if_match), std::move(body),
               [this, shared, respond = std::move(respond)](std::variant<media::PatchResult, Error> result) {
                 if (auto* e = std::get_if<Error>(&result)) return respond(decorate(*shared, fromError(*e)));
                 auto& patched = std::get<media::PatchResult>(result);
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

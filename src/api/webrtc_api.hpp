// The WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep) HTTP resources of the embedded media
// server, in Cloudflare Stream's URL shapes so a front end written for one works with the other:
//   POST /<32-hex key>k<uid>/webRTC/publish   WHIP, the key proves the right to publish
//   POST /whip/<room_id>                      WHIP with Authorization: Bearer <host token> (OBS 30+)
//   POST /<uid>/webRTC/play                   WHEP
//   PATCH|DELETE|GET|HEAD /webRTC/sessions/<32-hex session id>   the session (Location)
// plus OPTIONS (Accept-Post: application/sdp) and GET/HEAD (204) on every one of them, and CORS
// on every reply. The 201 reply and a non-preflight OPTIONS on the POST URLs list the ICE servers
// (`Link: <turn:...>; rel="ice-server"`, RFC 9725 §4.6); a CORS preflight never does. Room checks (does the input
// exist, has the room ended, is the token right) run on the read pool; the media work is the
// MediaSessions' (the embedded media server's workers). GET /webRTC/stats is media_stats.hpp's.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_helpers.hpp"
#include "api/ice_servers.hpp"
#include "common/rate_limiter.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "media/server/media_sessions.hpp"
#include "rooms/room_service.hpp"
#include "stream/local/local_stream.hpp"

namespace liveroom::api {

struct WebRtcApiOptions {
  std::vector<std::string> cors_origins{"*"};
  // Location URLs: true (no --public-url given) builds them from the request's Host, so they
  // match what the client used (localhost or 127.0.0.1); false uses the public URL (a
  // server behind an HTTPS proxy).
  bool location_from_host = true;
  std::string link_scheme = "http";  // of Location URLs built from the Host
  // WHIP/WHEP offers (POSTs) one client address may send: per second on average, and in a
  // burst. Over it: 429 with Retry-After. 0: no limit.
  double offers_per_second = 5;
  double offers_burst = 30;
  // STUN/TURN servers for clients: Link headers on 201 replies and non-preflight OPTIONS.
  IceServersOptions ice_servers;
};

class WebRtcApi {
 public:
  // `stream` names and checks the inputs' URLs; `media` makes and ends their sessions.
  WebRtcApi(rooms::RoomService& service, LocalStream& stream, media::MediaSessions& media, WebRtcApiOptions options,
            BlockingRunner run_reads);

  // Adds the routes above, and the families /whip/* and /webRTC/* (404 here).
  void addRoutes(http::Router& router);
  // The CORS headers every WHIP/WHEP reply carries besides Access-Control-Allow-Origin.
  static void addCorsHeaders(http::Response& res);

 private:
  enum class Kind { Publish, PublishAlias, Play, Session };
  // `target`: the path's uid, room id, session id, or (Publish) "<key>k<uid>".
  void handle(Kind kind, std::string target, http::Request&& req, http::Responder respond);
  // `key_verified`: a publish URL's key is this instance's for the input (else the input must be
  // another instance's, which then checks it).
  void post(Kind kind, std::string target, bool key_verified, http::Request&& req, http::Responder respond);
  void session(const std::string& session_id, http::Request&& req, http::Responder respond);
  http::Response decorate(const http::Request& req, http::Response res) const;
  void addIceServerLinks(http::Response& res) const;
  std::string sessionUrl(const http::Request& req, const std::string& session_id) const;

  rooms::RoomService& service_;
  LocalStream& stream_;
  media::MediaSessions& media_;
  WebRtcApiOptions options_;
  BlockingRunner run_reads_;
  RateLimiter offers_;
  IceServers ice_servers_;
};

}  // namespace liveroom::api

// The HTTP surface of the rooms domain: routes /api/livestream/*, /api/openapi.json, /healthz,
// /readyz (contributed to the app's route table by addRoutes), CORS, auth headers, JSON in/out. Blocking domain calls
// run on one of two pools (reads, and writes that may wait long: see the constructor); joins answered from the read
// cache are served inline on the HTTP thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/room_event_stream.hpp"
#include "common/rate_limiter.hpp"
#include "api/http_helpers.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "rooms/room_service.hpp"

namespace liveroom::api {

struct ApiOptions {
  // "*" or a list of allowed origins (the request's Origin is echoed when listed).
  std::vector<std::string> cors_origins{"*"};
  // When set, create requires "Authorization: Bearer <api_key>".
  std::optional<std::string> api_key;
  // Links in replies (watch_url, studio_url, QR codes): built on --public-url when set, else on
  // "<link_scheme>://<the request's Host>".
  std::string public_url;
  std::string link_scheme = "http";
  // Creates one client address may make per minute (bursts of as many); over it 429 with
  // Retry-After. 0: no limit.
  double creates_per_minute = 10;
  RoomEventStreamOptions events;
  // --webhook-url given: GET webhooks/deliveries shows the store's outbox.
  bool webhooks_configured = false;
};

class RoomsApi {
 public:
  // Blocking work goes to one of two runners: `run_reads` for store reads (joins that miss the
  // cache, lists, a room, its events), `run_writes` for what may wait long — provider calls and
  // store writes (create, end, update, provider webhooks; on the contract store a write waits
  // for its receipt) — so a burst of slow writes never holds up a join.
  RoomsApi(rooms::RoomService& service, ApiOptions options, BlockingRunner run_reads, BlockingRunner run_writes);

  ~RoomsApi();

  // Adds the routes above, and the family /api/* (404 in the API's envelope).
  void addRoutes(http::Router& router);
  // For a path no route owns: the CORS preflight for OPTIONS, else 404 in the API's envelope.
  void fallback(http::Request&& req, http::Responder respond) const;

 private:
  http::Response create(const http::Request& req);
  http::Response update(const http::Request& req);
  http::Response end(const http::Request& req);
  http::Response listRooms(const http::Request& req);
  http::Response getRoom(const std::string& room_id, const std::string& base);
  // GET rooms/{id}/qr.svg: the watch link as a QR code; ?link=studio with the host token: the
  // studio link (the host token in it), for the host's other device.
  http::Response qrCode(const http::Request& req, const std::string& room_id);
  std::string linkBaseFor(const http::Request& req) const;
  // True when the request carries the configured API key (false when none is configured).
  bool holdsApiKey(const http::Request& req) const;
  http::Response ingest(const http::Request& req, const std::string& room_id);
  http::Response readyz();
  // GET webhooks/deliveries: the outbox, newest first (?state, ?room_id, ?limit, ?cursor).
  http::Response webhookDeliveries(const http::Request& req);

  // Runs `work` on a pool (api::runBlocking), answering `respond` (moved from) with its reply.
  void blocking(const BlockingRunner& runner, const http::Request& req, http::Responder& respond,
                std::function<http::Response()> work);
  // Answers with CORS.
  void answer(const http::Request& req, http::Responder& respond, http::Response res) const;

  rooms::RoomService& service_;
  ApiOptions options_;
  BlockingRunner run_reads_;
  BlockingRunner run_writes_;
  RateLimiter creates_;
  std::unique_ptr<RoomEventStream> events_;  // rooms/{id}/events
};

}  // namespace liveroom::api

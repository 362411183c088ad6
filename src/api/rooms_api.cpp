// Routes and handlers of the rooms API (see rooms_api.hpp).
#include "api/rooms_api.hpp"

#include "api/openapi_json.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include "api/cursor.hpp"
#include "api/errors.hpp"
#include "api/http_helpers.hpp"
#include "api/json_body.hpp"
#include "api/qr_svg.hpp"
#include "api/room_views.hpp"
#include "common/error.hpp"
#include "http/client_address.hpp"
#include "rooms/secrets.hpp"
#include "rooms/validation.hpp"

namespace liveroom::api {

namespace {

std::string requireRoomId(std::optional<std::string> room_id) {
  if (!room_id || room_id->empty()) throw Error(codes::kInvalidField, "room_id is required");
  if (!rooms::isWellFormedRoomId(*room_id)) throw Error(codes::kInvalidField, "room_id is not a valid room id");
  return std::move(*room_id);
}

}  // namespace

RoomsApi::RoomsApi(rooms::RoomService& service, ApiOptions options, BlockingRunner run_reads, BlockingRunner run_writes)
    : service_(service),
      options_(std::move(options)),
      run_reads_(std::move(run_reads)),
      run_writes_(std::move(run_writes)),
      creates_(options_.creates_per_minute / 60.0, std::max(1.0, options_.creates_per_minute)),
      events_(std::make_unique<RoomEventStream>(service_, options_.events)) {}

RoomsApi::~RoomsApi() = default;

bool RoomsApi::holdsApiKey(const http::Request& req) const { return api::holdsApiKey(req, options_.api_key); }

void RoomsApi::answer(const http::Request& req, http::Responder& respond, http::Response res) const {
  api::applyCors(options_.cors_origins, req, res);
  respond(std::move(res));
}

void RoomsApi::blocking(const BlockingRunner& runner, const http::Request& req, http::Responder& respond,
                        std::function<http::Response()> work) {
  runBlocking(runner, options_.cors_origins, req, std::move(respond), std::move(work));
}

void RoomsApi::fallback(http::Request&& req, http::Responder respond) const {
  if (req.method == "OPTIONS") {
    // A CORS preflight: what every route of the API takes.
    http::Response res;
    res.status = 204;
    res.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    res.set("Access-Control-Allow-Headers", "Authorization, Content-Type");
    res.set("Access-Control-Max-Age", "600");
    return answer(req, respond, std::move(res));
  }
  answer(req, respond, errorResponse(codes::kNotFound, "no such path: " + req.path));
}

void RoomsApi::addRoutes(http::Router& router) {
  // `allow`: the methods the route takes besides OPTIONS (the preflight, answered alike on
  // every route); another method gets 405. A liveroom::Error thrown before the request is
  // handed on becomes the error envelope.
  using Body = std::function<void(http::Request&, http::Responder&, const http::RouteParams&)>;
  auto route = [this, &router](std::string_view pattern, std::vector<std::string_view> allow, Body body) {
    router.add(pattern, [this, allow = std::move(allow), body = std::move(body)](
                            http::Request&& req, http::Responder respond, http::RouteParams params) {
      if (req.method == "OPTIONS") return fallback(std::move(req), std::move(respond));
      try {
        if (std::find(allow.begin(), allow.end(), req.method) == allow.end()) {
          return answer(req, respond, methodNotAllowed(allow.front()));
        }
        body(req, respond, params);
      } catch (const Error& e) {
        answer(req, respond, fromError(e));
      }
    });
  };
  // A write (create, end, update): the whole request goes to the write pool.
  auto post = [this, route](std::string_view pattern, http::Response (RoomsApi::*handler)(const http::Request&)) {
    route(pattern, {"POST"}, [this, handler](http::Request& req, http::Responder& respond, const http::RouteParams&) {
      auto shared = std::make_shared<http::Request>(std::move(req));
      blocking(run_writes_, *shared, respond, [this, shared, handler] { return (this->*handler)(*shared); });
    });
  };

  route("/healthz", {"GET", "HEAD"}, [this](http::Request& req, http::Responder& respond, const http::RouteParams&) {
    answer(req, respond, json(200, {{"status", "ok"}}));
  });
  route("/readyz", {"GET", "HEAD"}, [this](http::Request& req, http::Responder& respond, const http::RouteParams&) {
    blocking(run_reads_, req, respond, [this] { return readyz(); });
  });
  route("/api/openapi.json", {"GET", "HEAD"},
        [this](http::Request& req, http::Responder& respond, const http::RouteParams&) {
          static const auto document = std::make_shared<const std::string>(kOpenApiJson);
          http::Response res;
          res.shared_body = document;
          res.set("Content-Type", "application/json");
          res.set("Cache-Control", "no-cache");
          answer(req, respond, std::move(res));
        });
  // What the pages need to know before they act (the lobby asks for the API key first).
  route("/api/livestream/info", {"GET", "HEAD"},
        [this](http::Request& req, http::Responder& respond, const http::RouteParams&) {
          answer(req, respond,
                 json(200, {{"version", LIVEROOM_VERSION},
                            {"create_requires_api_key", options_.api_key.has_value()},
                            {"stream_provider", service_.providerName()}}));
        });
  route("/api/livestream/join", {"GET"},
        [this](http::Request& req, http::Responder& respond, const http::RouteParams&) {
          // Fast path: a cached room is answered here, without the blocking pool; one that has
          // expired is refreshed from the store on the pool meanwhile (RoomCache).
          auto room_id = requireRoomId(http::queryParam(req.query, "room_id"));
          std::string watch = watchUrl(linkBaseFor(req), room_id);
          bool refresh = false;
          auto cached = service_.joinCached(room_id, &refresh);
          if (refresh) run_reads_([this, room_id] { service_.refresh(room_id); });
          if (cached) return answer(req, respond, jsonText(200, withWatchUrl(cached->public_view, watch)));
          blocking(run_reads_, req, respond, [this, room_id, watch] {
            return jsonText(200, withWatchUrl(service_.join(room_id)->public_view, watch));
          });
        });
  post("/api/livestream/create", &RoomsApi::create);
  post("/api/livestream/end", &RoomsApi::end);
  post("/api/livestream/update", &RoomsApi::update);
  route("/api/livestream/webhooks/deliveries", {"GET"},
        [this](http::Request& req, http::Responder& respond, const http::RouteParams&) {
          auto shared = std::make_shared<http::Request>(std::move(req));
          blocking(run_reads_, *shared, respond, [this, shared] { return webhookDeliveries(*shared); });
        });
  route("/api/livestream/rooms", {"GET"},
        [this](http::Request& req, http::Responder& respond, const http::RouteParams&) {
          auto shared = std::make_shared<http::Request>(std::move(req));
          blocking(run_reads_, *shared, respond, [this, shared] { return listRooms(*shared); });
        });
  // rooms/{id}/...: a malformed id is room_not_found without asking the store.
  auto room_route = [route](std::string_view pattern, Body body) {
    route(pattern, {"GET"}, [body](http::Request& req, http::Responder& respond, const http::RouteParams& params) {
      if (!rooms::isWellFormedRoomId(params.front())) {
        throw Error(codes::kRoomNotFound, "no room with id " + params.front());
      }
      body(req, respond, params);
    });
  };
  room_route("/api/livestream/rooms/{id}",
             [this](http::Request& req, http::Responder& respond, const http::RouteParams& params) {
               blocking(run_reads_, req, respond,
                        [this, room_id = params.front(), base = linkBaseFor(req)] { return getRoom(room_id, base); });
             });
  room_route("/api/livestream/rooms/{id}/events",
             [this](http::Request& req, http::Responder& respond, const http::RouteParams& params) {
               const std::string& room_id = params.front();
               blocking(run_reads_, req, respond, [this, room_id, watch = watchUrl(linkBaseFor(req), room_id)] {
                 return events_->open(room_id, watch);
               });
             });
  room_route("/api/livestream/rooms/{id}/ingest",
             [this](http::Request& req, http::Responder& respond, const http::RouteParams& params) {
               auto shared = std::make_shared<http::Request>(std::move(req));
               blocking(run_reads_, *shared, respond,
                        [this, shared, room_id = params.front()] { return ingest(*shared, room_id); });
             });
  room_route("/api/livestream/rooms/{id}/qr.svg",
             [this](http::Request& req, http::Responder& respond, const http::RouteParams& params) {
               auto shared = std::make_shared<http::Request>(std::move(req));
               blocking(run_reads_, *shared, respond,
                        [this, shared, room_id = params.front()] { return qrCode(*shared, room_id); });
             });
  // Any other /api path: 404 in the API's envelope (and the preflight for OPTIONS).
  router.addFamily("/api/", "/api/other", [this](http::Request&& req, http::Responder respond, http::RouteParams) {
    fallback(std::move(req), std::move(respond));
  });
}

http::Response RoomsApi::create(const http::Request& req) {
  requireApiKey(req, options_.api_key);
  std::chrono::milliseconds wait{0};
  if (!creates_.allow(http::connectionLimitKey(req.remote_address), RateLimiter::Clock::now(), &wait)) {
    throw Error(codes::kRateLimited, "too many rooms created from your address; retry in a moment",
                static_cast<int>(std::max<int64_t>(1, (wait.count() + 999) / 1000)));
  }
  auto body = parseJsonObjectBody(req);
  std::string title = requireString(body, "title");
  std::string host = requireString(body, "host");
  RoomMode mode = RoomMode::webrtc;
  if (auto mode_text = optionalString(body, "mode")) {
    auto parsed = parseRoomMode(*mode_text);
    if (!parsed) throw Error(codes::kInvalidField, "mode must be \"webrtc\" or \"broadcast\"");
    mode = *parsed;
  }
  const std::string visibility = optionalString(body, "visibility").value_or("public");
  if (visibility != "public" && visibility != "unlisted") {
    throw Error(codes::kInvalidField, "visibility must be \"public\" or \"unlisted\"");
  }
  auto created = service_.create(title, host, mode, visibility);
  nlohmann::json view = createdView(created.room, created.host_token);
  const std::string base = linkBaseFor(req);
  view["watch_url"] = watchUrl(base, created.room.room_id);
  view["studio_url"] = studioUrl(base, created.room.room_id, created.host_token);
  return json(201, view);
}

http::Response RoomsApi::update(const http::Request& req) {
  std::string token = bearerToken(req);
  auto body = parseJsonObjectBody(req);
  auto room_id = requireRoomId(optionalString(body, "room_id"));
  std::string title = requireString(body, "title");
  const RoomRecord room = service_.update(room_id, token, title);
  nlohmann::json view = publicView(room, service_.viewersOf(room));
  view["watch_url"] = watchUrl(linkBaseFor(req), room.room_id);
  return json(200, view);
}

http::Response RoomsApi::end(const http::Request& req) {
  std::string token = bearerToken(req);
  auto body = parseJsonObjectBody(req);
  auto room_id = requireRoomId(optionalString(body, "room_id"));
  RoomRecord room = service_.end(room_id, token);
  return json(200, {{"room_id", room.room_id},
                    {"status", toString(room.status)},
                    {"ended_at", room.ended_at_ms ? nlohmann::json(formatTimestamp(*room.ended_at_ms)) : nullptr}});
}

// ?limit=, an integer from 1 to `max`; nullopt when absent.
static std::optional<int> limitParam(const http::Request& req, int max) {
  auto limit = http::queryParam(req.query, "limit");
  if (!limit || limit->empty()) return std::nullopt;
  int value = 0;
  auto [ptr, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), value);
  if (ec != std::errc() || ptr != limit->data() + limit->size() || value < 1 || value > max) {
    throw Error(codes::kInvalidField, fmt::format("limit must be an integer from 1 to {}", max));
  }
  return value;
}

http::Response RoomsApi::webhookDeliveries(const http::Request& req) {
  requireApiKey(req, options_.api_key);
  WebhookOutbox* outbox = options_.webhooks_configured ? service_.outbox() : nullptr;
  if (!outbox) {
    throw Error(codes::kNotFound,
                "webhooks are not configured (start liveroom with --webhook-url and --webhook-secret)");
  }
  DeliveryQuery query;
  if (auto state = http::queryParam(req.query, "state"); state && !state->empty()) {
    if (*state != "pending" && *state != "delivered" && *state != "failed") {
      throw Error(codes::kInvalidField, "state must be pending, delivered or failed");
    }
    query.state = *state;
  }
  if (auto room_id = http::queryParam(req.query, "room_id"); room_id && !room_id->empty()) {
    if (!rooms::isWellFormedRoomId(*room_id)) throw Error(codes::kInvalidField, "room_id is not a room id");
    query.room_id = *room_id;
  }
  if (auto limit = limitParam(req, 200)) query.limit = *limit;
  if (auto cursor = http::queryParam(req.query, "cursor"); cursor && !cursor->empty()) {
    query.before = decodeDeliveryCursor(*cursor);
    if (!query.before) throw Error(codes::kInvalidField, "cursor is not valid");
  }
  const int limit = query.limit;
  query.limit = limit + 1;  // one more tells whether another page follows
  std::vector<OutboxDelivery> rows = outbox->deliveries(query);
  nlohmann::json next = nullptr;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(static_cast<size_t>(limit));
    next = encodeDeliveryCursor({rows.back().created_at_ms, rows.back().event_id, rows.back().endpoint});
  }
  nlohmann::json deliveries = nlohmann::json::array();
  for (const OutboxDelivery& d : rows) deliveries.push_back(deliveryView(d));
  const OutboxCounts counts = outbox->counts();
  return json(200, {{"deliveries", std::move(deliveries)},
                    {"next_cursor", std::move(next)},
                    {"pending", counts.pending},
                    {"delivered", counts.delivered},
                    {"failed", counts.failed}});
}

http::Response RoomsApi::listRooms(const http::Request& req) {
  ListQuery query;
  if (auto status = http::queryParam(req.query, "status"); status && !status->empty()) {
    query.status = parseRoomStatus(*status);
    if (!query.status) throw Error(codes::kInvalidField, "status must be active or ended");
  }
  // Unlisted rooms are listed only to API key holders (and only when a key is configured).
  const bool privileged = holdsApiKey(req);
  if (auto visibility = http::queryParam(req.query, "visibility"); visibility && !visibility->empty()) {
    if (*visibility != "public" && *visibility != "unlisted" && *visibility != "all") {
      throw Error(codes::kInvalidField, "visibility must be public, unlisted or all");
    }
    if (*visibility != "public" && !privileged) {
      throw Error(codes::kForbidden, "unlisted rooms are listed only with the API key (Authorization: Bearer)");
    }
    if (*visibility != "all") query.visibility = *visibility;
  } else if (!privileged) {
    query.visibility = "public";
  }
  if (auto host = http::queryParam(req.query, "host"); host && !host->empty()) {
    query.host = rooms::normalizeHost(*host);
  }
  if (auto limit = limitParam(req, 100)) query.limit = *limit;
  if (auto cursor = http::queryParam(req.query, "cursor"); cursor && !cursor->empty()) {
    query.after = decodeCursor(*cursor);
    if (!query.after) throw Error(codes::kInvalidField, "cursor is not valid");
  }
  auto page = service_.list(query);
  nlohmann::json rooms = nlohmann::json::array();
  const std::string base = linkBaseFor(req);
  for (const auto& room : page.rooms) {
    nlohmann::json view = publicView(room, service_.viewersOf(room));
    view["watch_url"] = watchUrl(base, room.room_id);
    rooms.push_back(std::move(view));
  }
  return json(200, {{"rooms", std::move(rooms)},
                    {"next_cursor", page.next ? nlohmann::json(encodeCursor(*page.next)) : nullptr}});
}

http::Response RoomsApi::getRoom(const std::string& room_id, const std::string& base) {
  return jsonText(200, withWatchUrl(service_.get(room_id)->public_view, watchUrl(base, room_id)));
}

std::string RoomsApi::linkBaseFor(const http::Request& req) const {
  return linkBase(req, options_.public_url, options_.link_scheme, "");
}

http::Response RoomsApi::qrCode(const http::Request& req, const std::string& room_id) {
  const std::string base = linkBaseFor(req);
  std::string link;
  const auto which = http::queryParam(req.query, "link").value_or("watch");
  if (which == "studio") {
    // The studio link carries the host token: only its holder gets it back, as a picture.
    const std::string token = bearerToken(req);
    const RoomRecord room = service_.checkHost(room_id, token);  // room_not_found, forbidden
    if (room.status == RoomStatus::ended) throw Error(codes::kRoomEnded, "room " + room_id + " has ended");
    link = studioUrl(base, room_id, token);
  } else if (which == "watch") {
    service_.get(room_id);  // room_not_found for a room that never was
    link = watchUrl(base, room_id);
  } else {
    throw Error(codes::kInvalidField, "link must be watch or studio");
  }
  auto svg = qrSvg(link);
  if (!svg) throw Error(codes::kInternalError, "the link does not fit in a QR code");
  http::Response res;
  res.status = 200;
  res.body = std::move(*svg);
  res.set("Content-Type", "image/svg+xml");
  res.set("Cache-Control", which == "studio" ? "no-store" : "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  return res;
}

http::Response RoomsApi::ingest(const http::Request& req, const std::string& room_id) {
  std::string token = bearerToken(req);
  nlohmann::json view = ingestView(service_.ingest(room_id, token));
  view["studio_url"] = studioUrl(linkBaseFor(req), room_id, token);  // the host's link, again
  return json(200, view);
}

http::Response RoomsApi::readyz() {
  if (!service_.ready()) return errorResponse(codes::kStoreUnavailable, "the room store is not reachable");
  return json(200, {{"status", "ready"}});
}

}  // namespace liveroom::api

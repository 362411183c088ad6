// Cloudflare's live input notifications (see cloudflare_webhook.hpp).
#include "api/cloudflare_webhook.hpp"

#include <memory>

#include <spdlog/spdlog.h>

#include "api/errors.hpp"
#include "api/json_body.hpp"
#include "common/error.hpp"
#include "rooms/secrets.hpp"
#include "stream/cloudflare/cloudflare_api.hpp"

namespace liveroom::api {

CloudflareWebhook::CloudflareWebhook(rooms::RoomService& service, std::optional<std::string> secret,
                                     std::vector<std::string> cors_origins, BlockingRunner run_writes)
    : service_(service),
      secret_(std::move(secret)),
      cors_origins_(std::move(cors_origins)),
      run_writes_(std::move(run_writes)) {}

void CloudflareWebhook::addRoutes(http::Router& router) {
  router.add(kPath, [this](http::Request&& req, http::Responder respond, http::RouteParams) {
    auto answer = [&](http::Response res) {
      applyCors(cors_origins_, req, res);
      respond(std::move(res));
    };
    if (!secret_) {
      return answer(
          errorResponse(codes::kNotFound, "the Cloudflare webhook is not configured (set CLOUDFLARE_WEBHOOK_SECRET)"));
    }
    if (req.method == "OPTIONS") {
      http::Response res;
      res.status = 204;
      res.set("Allow", "POST, OPTIONS");
      return answer(std::move(res));
    }
    if (req.method != "POST") return answer(methodNotAllowed("POST"));
    auto shared = std::make_shared<http::Request>(std::move(req));
    runBlocking(run_writes_, cors_origins_, *shared, std::move(respond), [this, shared] { return apply(*shared); });
  });
}

http::Response CloudflareWebhook::apply(const http::Request& req) {
  // Cloudflare sends the secret verbatim in cf-webhook-auth (no HMAC).
  auto secret = req.header("cf-webhook-auth");
  if (!secret) throw Error(codes::kUnauthorized, "missing cf-webhook-auth header");
  if (!rooms::constantTimeEquals(rooms::sha256Hex(*secret), rooms::sha256Hex(*secret_))) {
    throw Error(codes::kForbidden, "cf-webhook-auth does not match the configured webhook secret");
  }
  parseJsonObjectBody(req);  // content type, size and syntax, like every JSON endpoint
  cloudflare::LiveInputNotification note;
  try {
    note = cloudflare::parseLiveInputNotification(req.body);
  } catch (const cloudflare::ParseError& e) {
    throw Error(codes::kInvalidField, std::string("not a Stream live input notification: ") + e.what());
  }
  std::optional<std::string> room_id;
  if (auto live = note.live()) room_id = service_.setLiveByInput(note.input_id, *live);
  if (note.error_code) spdlog::warn("cloudflare: live input {} errored: {}", note.input_id, *note.error_code);
  return json(200, {{"event_type", note.event_type},
                    {"room_id", room_id ? nlohmann::json(*room_id) : nullptr},
                    {"applied", room_id.has_value()}});
}

}  // namespace liveroom::api

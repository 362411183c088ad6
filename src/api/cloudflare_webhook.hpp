// POST /api/livestream/webhooks/cloudflare: Cloudflare Stream's notifications of live inputs
// (connected, disconnected, errored) turned into rooms' live flags, the way the embedded media
// server's events are (RoomService::setLiveByInput). Cloudflare sends the configured secret
// verbatim in cf-webhook-auth. Without a secret the route answers 404 naming the setting.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/http_helpers.hpp"
#include "http/router.hpp"
#include "rooms/room_service.hpp"

namespace liveroom::api {

class CloudflareWebhook {
 public:
  static constexpr std::string_view kPath = "/api/livestream/webhooks/cloudflare";

  // `secret`: CLOUDFLARE_WEBHOOK_SECRET (nullopt: not configured). Notifications are applied on
  // `run_writes` (each may write the store).
  CloudflareWebhook(rooms::RoomService& service, std::optional<std::string> secret,
                    std::vector<std::string> cors_origins, BlockingRunner run_writes);

  void addRoutes(http::Router& router);

 private:
  http::Response apply(const http::Request& req);

  rooms::RoomService& service_;
  std::optional<std::string> secret_;
  std::vector<std::string> cors_origins_;
  BlockingRunner run_writes_;
};

}  // namespace liveroom::api

#include "api/routes.hpp"

#include <array>
#include <utility>

namespace liveroom::api {

std::string_view routeLabel(std::string_view path) noexcept {
  static constexpr std::array<std::string_view, 13> kExact = {
      "/healthz",
      "/readyz",
      "/metrics",
      "/api/openapi.json",
      "/api/livestream/info",
      "/api/livestream/join",
      "/api/livestream/create",
      "/api/livestream/end",
      "/api/livestream/update",
      "/api/livestream/rooms",
      "/api/livestream/webhooks/cloudflare",
      "/api/livestream/webhooks/deliveries",
      "/webRTC/stats",
  };
  for (std::string_view route : kExact) {
    if (path == route) return route;
  }
  constexpr std::string_view kRooms = "/api/livestream/rooms/";
  if (path.starts_with(kRooms)) {
    const std::string_view tail = path.substr(kRooms.size());
    const size_t slash = tail.find('/');
    if (slash == std::string_view::npos) return "/api/livestream/rooms/{id}";
    const std::string_view sub = tail.substr(slash + 1);
    if (sub == "ingest") return "/api/livestream/rooms/{id}/ingest";
    if (sub == "qr.svg") return "/api/livestream/rooms/{id}/qr.svg";
    if (sub == "events") return "/api/livestream/rooms/{id}/events";
    return "/api/other";
  }
  if (path.starts_with("/webRTC/sessions/")) return "/webRTC/sessions/{id}";
  if (path.starts_with("/whip/")) return "/whip/{room_id}";
  if (path.ends_with("/webRTC/publish")) return "/{key}/webRTC/publish";
  if (path.ends_with("/webRTC/play")) return "/{uid}/webRTC/play";
  if (path.starts_with("/api/")) return "/api/other";
  return "static";
}

}  // namespace liveroom::api

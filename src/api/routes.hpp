// The route template of a request path, for metrics labels: a small fixed set (ids become
// "{id}"), so a label never carries a room id, a session id or a publish key.
#pragma once

#include <string_view>

namespace liveroom::api {

// "/api/livestream/rooms/{id}/events", "/{uid}/webRTC/play", ...; "/api/other" for an unknown
// API path, "static" for everything else (pages, scripts, images, 404s). Pure; the result is
// a string literal.
std::string_view routeLabel(std::string_view path) noexcept;

}  // namespace liveroom::api

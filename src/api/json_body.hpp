// Reading JSON request bodies: content type, syntax, nesting depth, and typed fields.
// Each failure throws liveroom::Error (unsupported_media_type, invalid_json,
// invalid_field naming the field).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/json.hpp"
#include "http/message.hpp"

namespace liveroom::api {

using liveroom::kMaxJsonDepth;

// The body as a JSON object; checks Content-Type is application/json (parameters allowed).
nlohmann::json parseJsonObjectBody(const http::Request& req);
// A required string field.
std::string requireString(const nlohmann::json& obj, std::string_view field);
// An optional string field (absent or null -> nullopt; other types -> invalid_field).
std::optional<std::string> optionalString(const nlohmann::json& obj, std::string_view field);

}  // namespace liveroom::api

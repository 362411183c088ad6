// Cursor encoding: base64url("<created_at_ms>:<room_id>"), no padding.
#include "api/cursor.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "common/base64.hpp"

#include "rooms/validation.hpp"

namespace liveroom::api {

std::string encodeCursor(const ListCursor& cursor) {
  return encodeBase64Url(std::to_string(cursor.created_at_ms) + ":" + cursor.room_id);
}

std::optional<ListCursor> decodeCursor(std::string_view text) {
  if (text.empty() || text.size() > 200) return std::nullopt;
  auto raw = decodeBase64Url(text);
  if (!raw) return std::nullopt;
  size_t colon = raw->find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  ListCursor cursor;
  auto [ptr, ec] = std::from_chars(raw->data(), raw->data() + colon, cursor.created_at_ms);
  if (ec != std::errc() || ptr != raw->data() + colon || cursor.created_at_ms < 0) return std::nullopt;
  cursor.room_id = raw->substr(colon + 1);
  if (!rooms::isWellFormedRoomId(cursor.room_id)) return std::nullopt;
  return cursor;
}

std::string encodeDeliveryCursor(const DeliveryQuery::Position& position) {
  return encodeBase64Url(nlohmann::json::array({position.created_at_ms, position.event_id, position.endpoint}).dump());
}

std::optional<DeliveryQuery::Position> decodeDeliveryCursor(std::string_view text) {
  if (text.empty() || text.size() > 4096) return std::nullopt;
  auto raw = decodeBase64Url(text);
  if (!raw) return std::nullopt;
  const nlohmann::json parsed = nlohmann::json::parse(*raw, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array() || parsed.size() != 3 || !parsed[0].is_number_integer() || !parsed[1].is_string() ||
      !parsed[2].is_string()) {
    return std::nullopt;
  }
  DeliveryQuery::Position position;
  position.created_at_ms = parsed[0].get<int64_t>();
  position.event_id = parsed[1].get<std::string>();
  position.endpoint = parsed[2].get<std::string>();
  return position;
}

}  // namespace liveroom::api

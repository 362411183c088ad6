// Opaque list cursors: a position (created_at, room_id) in the newest-first order,
// encoded as base64url so clients treat it as a token.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/room_store.hpp"

namespace liveroom::api {

std::string encodeCursor(const ListCursor& cursor);
// nullopt for anything encodeCursor could not have produced.
std::optional<ListCursor> decodeCursor(std::string_view text);

// The same for webhook deliveries: (created_at, event_id, endpoint) as a JSON array.
std::string encodeDeliveryCursor(const DeliveryQuery::Position& position);
std::optional<DeliveryQuery::Position> decodeDeliveryCursor(std::string_view text);

}  // namespace liveroom::api

// What the API shows of a room: the public view (anyone), the created view (the creator,
// once, with the host token and ingest secrets) and the ingest object (the host).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "store/outbox.hpp"
#include "store/room_record.hpp"

namespace liveroom::api {

// RFC 3339 UTC with milliseconds: 2026-11-20T21:40:00.123Z
std::string formatTimestamp(int64_t epoch_ms);

// Never contains whip_url, ingest, keys, passphrases, tokens or the session id.
nlohmann::json publicView(const RoomRecord& room, size_t viewers = 0);
// publicView serialized: what the join cache keeps (RoomServiceOptions::render_public_view).
std::string renderPublicView(const RoomRecord& room, size_t viewers);
nlohmann::json ingestView(const RoomRecord& room);

// A webhook event's body (Standard Webhooks' payload shape):
//   {"type": "room.live", "timestamp": "<RFC 3339 of the change>",
//    "data": {"event_id": ..., "room_id": ..., "sequence": 3, "room": <public view>[, "viewers": n]}}
// `viewers`: the room's count (for room.viewers, the count the event reports).
std::string webhookBody(RoomEventType type, const RoomRecord& room, const std::string& event_id, int64_t seq,
                        int64_t at_ms, size_t viewers, bool viewers_event);
// One delivery as GET /api/livestream/webhooks/deliveries shows it (the endpoint without its
// query, which may hold a token; the body parsed back).
nlohmann::json deliveryView(const OutboxDelivery& delivery);
nlohmann::json createdView(const RoomRecord& room, const std::string& host_token);

// Links of a room on this server (`base` from linkBase): the page viewers open, and the host's
// page with the host token in the URL fragment (never sent to a server, unlike a query).
std::string watchUrl(std::string_view base, std::string_view room_id);
std::string studioUrl(std::string_view base, std::string_view room_id, std::string_view host_token);
// A rendered public view (a JSON object, as the join cache keeps it) with "watch_url" added.
std::string withWatchUrl(std::string_view view_json, std::string_view watch_url);

}  // namespace liveroom::api

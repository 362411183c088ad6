// The room as every store keeps it (same fields in SQLite, MongoDB, ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/media_endpoints.hpp"
#include "common/room_mode.hpp"
#include "common/room_status.hpp"

namespace liveroom {

struct RoomRecord {
  std::string room_id;  // "live_" + base62
  std::string title;
  std::string host;
  RoomMode mode = RoomMode::webrtc;
  RoomStatus status = RoomStatus::active;
  bool live = false;       // a broadcaster is publishing right now
  std::string provider;    // the StreamProvider that created it: "cloudflare" | "local"
  std::string session_id;  // the provider's live input uid
  IngestEndpoints ingest;  // secrets: host only
  PlaybackEndpoints playback;
  std::string host_token_hash;  // lowercase hex SHA-256 of the host token
  int64_t created_at_ms = 0;    // Unix epoch milliseconds
  int64_t updated_at_ms = 0;
  std::optional<int64_t> ended_at_ms;
  std::string visibility = "public";          // "public" (listed) | "unlisted" (by link or id only)
  std::optional<int64_t> live_changed_at_ms;  // when `live` last changed; none: never went live
  std::optional<std::string> ended_reason;    // why it ended: "host" | "idle" | "empty" | "max_duration"
  // Viewers as the instance carrying the room's media last stored them (RoomStore::setViewers),
  // so every instance on the store shows the room's count; 0 when none was stored.
  size_t viewers = 0;
  bool operator==(const RoomRecord&) const = default;
};

}  // namespace liveroom

// A room's status: `active` until it is ended (by its host, a timer, or the chain), then `ended`
// for good. Whether a broadcaster is on air right now is the room's separate `live` flag.
// Stores keep the words below; toString/parse are the only conversions.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace liveroom {

enum class RoomStatus { active, ended };

inline std::string_view toString(RoomStatus s) { return s == RoomStatus::active ? "active" : "ended"; }

inline std::optional<RoomStatus> parseRoomStatus(std::string_view s) {
  if (s == "active") return RoomStatus::active;
  if (s == "ended") return RoomStatus::ended;
  return std::nullopt;
}

// In JSON, the word (never the enum's number).
NLOHMANN_JSON_SERIALIZE_ENUM(RoomStatus, {{RoomStatus::active, "active"}, {RoomStatus::ended, "ended"}})

}  // namespace liveroom

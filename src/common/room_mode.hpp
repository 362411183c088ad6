// How a room carries media. `webrtc`: WHIP in, WHEP out. `broadcast`: RTMPS/SRT in
// (OBS), HLS/DASH out, recorded. Cloudflare pairs ingest and playback this way.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace liveroom {

enum class RoomMode { webrtc, broadcast };

inline std::string_view toString(RoomMode m) { return m == RoomMode::webrtc ? "webrtc" : "broadcast"; }

inline std::optional<RoomMode> parseRoomMode(std::string_view s) {
  if (s == "webrtc") return RoomMode::webrtc;
  if (s == "broadcast") return RoomMode::broadcast;
  return std::nullopt;
}

// In JSON, the word (never the enum's number).
NLOHMANN_JSON_SERIALIZE_ENUM(RoomMode, {{RoomMode::webrtc, "webrtc"}, {RoomMode::broadcast, "broadcast"}})

}  // namespace liveroom

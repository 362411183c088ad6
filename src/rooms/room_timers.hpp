// Rooms end by themselves (named timers, like LiveKit's empty/departure timeouts): a room that
// never went live ends after `idle`, one whose broadcaster left after `empty`, any room after
// `max_duration`. Decided from the stored times only (created_at, live_changed_at), so the
// timers survive a restart and hold across processes on one store. Pure: the scan that applies
// them is RoomService::endExpired.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "store/room_record.hpp"

namespace liveroom::rooms {

struct RoomTimers {
  std::chrono::seconds idle{3600};               // never went live; 0: off
  std::chrono::seconds empty{900};               // the broadcaster left and nobody came back; 0: off
  std::chrono::seconds max_duration{12 * 3600};  // whatever happens; 0: off
  // Whether a provider reports its rooms' live flag (the idle and empty timers need it): the
  // embedded media server always does, Cloudflare only with its webhook configured. Unset: all.
  std::function<bool(std::string_view provider)> knows_live;

  bool any() const { return idle.count() > 0 || empty.count() > 0 || max_duration.count() > 0; }
};

// The ended_reason of the timer that has run out for an active room at `now_ms` ("max_duration",
// "empty", "idle"), or nullopt.
std::optional<std::string> expiredTimer(const RoomRecord& room, int64_t now_ms, const RoomTimers& timers);

}  // namespace liveroom::rooms

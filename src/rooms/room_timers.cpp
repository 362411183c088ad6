// Auto-end timers (see room_timers.hpp).
#include "rooms/room_timers.hpp"

namespace liveroom::rooms {

namespace {
int64_t ms(std::chrono::seconds s) { return std::chrono::duration_cast<std::chrono::milliseconds>(s).count(); }
}  // namespace

std::optional<std::string> expiredTimer(const RoomRecord& room, int64_t now_ms, const RoomTimers& timers) {
  if (room.status != RoomStatus::active) return std::nullopt;
  if (timers.max_duration.count() > 0 && now_ms - room.created_at_ms >= ms(timers.max_duration)) {
    return "max_duration";
  }
  if (room.live || (timers.knows_live && !timers.knows_live(room.provider))) return std::nullopt;
  if (room.live_changed_at_ms) {
    if (timers.empty.count() > 0 && now_ms - *room.live_changed_at_ms >= ms(timers.empty)) return "empty";
  } else if (timers.idle.count() > 0 && now_ms - room.created_at_ms >= ms(timers.idle)) {
    return "idle";
  }
  return std::nullopt;
}

}  // namespace liveroom::rooms

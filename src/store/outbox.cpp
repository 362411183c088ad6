// Names and ids of webhook events (see outbox.hpp).
#include "store/outbox.hpp"

#include <fmt/format.h>

namespace liveroom {

const char* webhookEventName(RoomEventType type) noexcept {
  switch (type) {
    case RoomEventType::kCreated:
      return "room.created";
    case RoomEventType::kUpdated:
      return "room.updated";
    case RoomEventType::kLive:
      return "room.live";
    case RoomEventType::kOffline:
      return "room.offline";
    case RoomEventType::kEnded:
      return "room.ended";
    case RoomEventType::kViewers:
      return "room.viewers";
  }
  return "room.unknown";
}

std::string webhookEventId(std::string_view room_id, int64_t seq) { return fmt::format("evt_{}_{}", room_id, seq); }

}  // namespace liveroom

// The one seam room changes go through.
//   In  (RoomEvents): what stream providers report about their live inputs — the embedded media
//       server's broadcaster/viewer events, Cloudflare's webhook — fed by the providers and the
//       API; RoomService implements it.
//   Out (RoomChangeListener): every change of a room as this process makes it (create, title,
//       live, viewers, end — by the API, a provider or a timer), read by the event stream the
//       pages follow (and later by webhooks). The join cache is updated before listeners hear.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "rooms/room_cache.hpp"

namespace liveroom::rooms {

class RoomEvents {
 public:
  virtual ~RoomEvents() = default;
  // A broadcaster started (true) or stopped (false) publishing to a provider's live input.
  virtual void onLive(std::string_view input_uid, bool live) = 0;
  // How many viewers a live input has now.
  virtual void onViewers(std::string_view input_uid, size_t viewers) = 0;
};

enum class RoomChangeKind { kCreated, kTitle, kLive, kViewers, kEnded };
const char* toString(RoomChangeKind kind) noexcept;

struct RoomChange {
  RoomChangeKind kind;
  std::shared_ptr<const RoomSnapshot> room;  // the room after the change (its public view)
};

class RoomChangeListener {
 public:
  virtual ~RoomChangeListener() = default;
  // Called on the thread that made the change (often the blocking pool): do not block.
  virtual void onRoomChanged(const RoomChange& change) = 0;
};

}  // namespace liveroom::rooms

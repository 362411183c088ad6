// The read cache that serves joins: per room, a snapshot holding the public view already
// rendered (by a renderer the api layer injects), so a join is a lookup and a write.
// Entries are fresh for a short TTL. This process replaces entries on every change it
// makes (update, end, live), so the TTL only bounds how long a change made by *another*
// process stays unseen. Only public data is kept: no secrets sit in this memory.
#pragma once

#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace liveroom::rooms {

struct RoomSnapshot {
  std::string room_id;
  bool ended = false;
  std::string public_view;  // rendered once per change of the room
  // The room's live input (its uid is in the public WHEP URL) and stream provider: a WHEP POST
  // names the input, and is checked against this instead of the store.
  std::string input_uid;
  std::string provider;
  bool live = false;
  // Its playback WHEP URL (local rooms: it names the instance that carries the media).
  std::string whep_url;
};

class RoomCache {
 public:
  using Clock = std::chrono::steady_clock;

  RoomCache(std::chrono::milliseconds ttl, size_t capacity);

  // The cached snapshot when present and fresh, else nullptr.
  std::shared_ptr<const RoomSnapshot> get(std::string_view room_id, Clock::time_point now) const;
  // The same, found by the room's live input uid.
  std::shared_ptr<const RoomSnapshot> getByInput(std::string_view input_uid, Clock::time_point now) const;
  void put(std::shared_ptr<const RoomSnapshot> room, Clock::time_point now);
  void erase(std::string_view room_id);
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const RoomSnapshot> room;
    Clock::time_point expires;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  void sweepLocked(Clock::time_point now);

  std::chrono::milliseconds ttl_;
  size_t capacity_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> by_input_;  // input uid -> room id
  Clock::time_point next_sweep_{};
};

}  // namespace liveroom::rooms

// The read cache that serves joins: per room, a snapshot holding the public view already
// rendered (by a renderer the api layer injects), so a join is a lookup and a write.
// Entries are fresh for a short TTL. This process replaces entries on every change it
// makes (update, end, live), so the TTL only bounds how long a change made by *another*
// process stays unseen. Only public data is kept: no secrets sit in this memory.
//
// Two rules keep a slow store from hurting joins or the truth:
//  - every snapshot says as of when it is true (`as_of`: before the store read that made it, or
//    after the write), and a put never replaces a newer one — a slow read that started before
//    an end cannot put the room back as active;
//  - an expired entry is still served for a while (`stale_for`) by lookup(), which hands one
//    caller at a time the job of refreshing it from the store: a join does not wait for the
//    store every TTL, and a store slower than the demand delays changes from other processes
//    instead of stalling every join.
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

  // stale_for: how long after it expires an entry may still be served by lookup().
  RoomCache(std::chrono::milliseconds ttl, size_t capacity,
            std::chrono::milliseconds stale_for = std::chrono::milliseconds(0));

  // The cached snapshot when present and fresh, else nullptr.
  std::shared_ptr<const RoomSnapshot> get(std::string_view room_id, Clock::time_point now) const;
  // The same, found by the room's live input uid.
  std::shared_ptr<const RoomSnapshot> getByInput(std::string_view input_uid, Clock::time_point now) const;

  struct Found {
    std::shared_ptr<const RoomSnapshot> room;  // null: not cached, or too old to serve
    bool refresh = false;                      // expired: this caller is to refresh it (then put, or refreshFailed)
  };
  // The snapshot when fresh or expired less than stale_for ago. The first caller to find it
  // expired gets refresh = true; others get it again only after stale_for (a refresh that hung).
  Found lookup(std::string_view room_id, Clock::time_point now);
  // Lets the next lookup() try the refresh again.
  void refreshFailed(std::string_view room_id);

  // Stores `room`, true as of `as_of`, unless the entry holds a snapshot true as of later.
  void put(std::shared_ptr<const RoomSnapshot> room, Clock::time_point now, Clock::time_point as_of);
  void put(std::shared_ptr<const RoomSnapshot> room, Clock::time_point now) { put(std::move(room), now, now); }
  void erase(std::string_view room_id);
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const RoomSnapshot> room;
    Clock::time_point expires;
    Clock::time_point as_of;
    Clock::time_point refreshing_until{};  // a lookup() took the refresh until then
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  void sweepLocked(Clock::time_point now);

  std::chrono::milliseconds ttl_;
  size_t capacity_;
  std::chrono::milliseconds stale_for_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> by_input_;  // input uid -> room id
  Clock::time_point next_sweep_{};
};

}  // namespace liveroom::rooms

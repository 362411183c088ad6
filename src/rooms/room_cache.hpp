// The read cache that serves joins: room records by id, each fresh for a short TTL.
// This process replaces entries on every change it makes (update, end, live), so the
// TTL only bounds how long a change made by *another* process can stay unseen.
#pragma once

#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/room_record.hpp"

namespace liveroom::rooms {

class RoomCache {
 public:
  using Clock = std::chrono::steady_clock;

  RoomCache(std::chrono::milliseconds ttl, size_t capacity);

  // The cached room when present and fresh, else nullptr.
  std::shared_ptr<const RoomRecord> get(std::string_view room_id, Clock::time_point now) const;
  void put(std::shared_ptr<const RoomRecord> room, Clock::time_point now);
  void erase(std::string_view room_id);
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const RoomRecord> room;
    Clock::time_point expires;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  void evictLocked(Clock::time_point now);

  std::chrono::milliseconds ttl_;
  size_t capacity_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
};

}  // namespace liveroom::rooms

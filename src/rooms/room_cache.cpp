// TTL cache of room records (see room_cache.hpp).
#include "rooms/room_cache.hpp"

#include <mutex>

namespace liveroom::rooms {

RoomCache::RoomCache(std::chrono::milliseconds ttl, size_t capacity) : ttl_(ttl), capacity_(capacity) {}

std::shared_ptr<const RoomRecord> RoomCache::get(std::string_view room_id, Clock::time_point now) const {
  std::shared_lock lock(mutex_);
  auto it = entries_.find(room_id);
  if (it == entries_.end() || it->second.expires <= now) return nullptr;
  return it->second.room;
}

void RoomCache::put(std::shared_ptr<const RoomRecord> room, Clock::time_point now) {
  if (ttl_.count() <= 0 || capacity_ == 0) return;
  std::unique_lock lock(mutex_);
  if (entries_.size() >= capacity_) evictLocked(now);
  std::string key = room->room_id;
  entries_.insert_or_assign(std::move(key), Entry{std::move(room), now + ttl_});
}

void RoomCache::erase(std::string_view room_id) {
  std::unique_lock lock(mutex_);
  if (auto it = entries_.find(room_id); it != entries_.end()) entries_.erase(it);
}

size_t RoomCache::size() const {
  std::shared_lock lock(mutex_);
  return entries_.size();
}

void RoomCache::evictLocked(Clock::time_point now) {
  // Drop what has expired; if everything is fresh, start over: a full cache is a burst
  // of distinct rooms, and the store answers the misses.
  std::erase_if(entries_, [now](const auto& kv) { return kv.second.expires <= now; });
  if (entries_.size() >= capacity_) entries_.clear();
}

}  // namespace liveroom::rooms

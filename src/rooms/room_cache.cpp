// TTL cache of room snapshots (see room_cache.hpp).
#include "rooms/room_cache.hpp"

#include <mutex>

namespace liveroom::rooms {

RoomCache::RoomCache(std::chrono::milliseconds ttl, size_t capacity) : ttl_(ttl), capacity_(capacity) {}

std::shared_ptr<const RoomSnapshot> RoomCache::get(std::string_view room_id, Clock::time_point now) const {
  std::shared_lock lock(mutex_);
  auto it = entries_.find(room_id);
  if (it == entries_.end() || it->second.expires <= now) return nullptr;
  return it->second.room;
}

std::shared_ptr<const RoomSnapshot> RoomCache::getByInput(std::string_view input_uid, Clock::time_point now) const {
  std::shared_lock lock(mutex_);
  auto index = by_input_.find(input_uid);
  if (index == by_input_.end()) return nullptr;
  auto it = entries_.find(index->second);
  if (it == entries_.end() || it->second.expires <= now || it->second.room->input_uid != input_uid) return nullptr;
  return it->second.room;
}

void RoomCache::put(std::shared_ptr<const RoomSnapshot> room, Clock::time_point now) {
  if (ttl_.count() <= 0 || capacity_ == 0) return;
  std::unique_lock lock(mutex_);
  // Expired entries go at most once per TTL (amortised), and whenever the cache is full,
  // so a burst of distinct rooms does not keep its memory after it has passed.
  if (now >= next_sweep_ || entries_.size() >= capacity_) sweepLocked(now);
  if (!room->input_uid.empty()) by_input_.insert_or_assign(room->input_uid, room->room_id);
  std::string key = room->room_id;
  entries_.insert_or_assign(std::move(key), Entry{std::move(room), now + ttl_});
}

void RoomCache::erase(std::string_view room_id) {
  std::unique_lock lock(mutex_);
  if (auto it = entries_.find(room_id); it != entries_.end()) {
    if (auto index = by_input_.find(it->second.room->input_uid); index != by_input_.end() && index->second == room_id) {
      by_input_.erase(index);
    }
    entries_.erase(it);
  }
}

size_t RoomCache::size() const {
  std::shared_lock lock(mutex_);
  return entries_.size();
}

void RoomCache::sweepLocked(Clock::time_point now) {
  next_sweep_ = now + ttl_;
  std::erase_if(entries_, [now](const auto& kv) { return kv.second.expires <= now; });
  // Everything still fresh and no room left: start over; the store answers the misses.
  if (entries_.size() >= capacity_) entries_.clear();
  std::erase_if(by_input_, [this](const auto& kv) {
    auto it = entries_.find(kv.second);
    return it == entries_.end() || it->second.room->input_uid != kv.first;
  });
}

}  // namespace liveroom::rooms

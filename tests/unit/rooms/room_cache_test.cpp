// The join read cache: freshness, replacement, eviction.
#include "rooms/room_cache.hpp"

#include <gtest/gtest.h>

namespace liveroom::rooms {
namespace {

std::shared_ptr<const RoomSnapshot> room(std::string id, std::string view = "t") {
  return std::make_shared<const RoomSnapshot>(RoomSnapshot{std::move(id), false, std::move(view)});
}

TEST(RoomCache, FreshThenExpired) {
  RoomCache cache(std::chrono::milliseconds(100), 10);
  auto t0 = RoomCache::Clock::now();
  cache.put(room("live_a"), t0);
  ASSERT_TRUE(cache.get("live_a", t0 + std::chrono::milliseconds(99)));
  EXPECT_FALSE(cache.get("live_a", t0 + std::chrono::milliseconds(100)));
  EXPECT_FALSE(cache.get("live_b", t0));
}

TEST(RoomCache, PutReplacesAndEraseRemoves) {
  RoomCache cache(std::chrono::milliseconds(1000), 10);
  auto t0 = RoomCache::Clock::now();
  cache.put(room("live_a", "old"), t0);
  cache.put(room("live_a", "new"), t0);
  EXPECT_EQ(cache.get("live_a", t0)->public_view, "new");
  cache.erase("live_a");
  EXPECT_FALSE(cache.get("live_a", t0));
}

TEST(RoomCache, CapacityIsBounded) {
  RoomCache cache(std::chrono::milliseconds(1000), 5);
  auto t0 = RoomCache::Clock::now();
  for (int i = 0; i < 50; ++i) cache.put(room("live_" + std::to_string(i)), t0);
  EXPECT_LE(cache.size(), 5u);
  EXPECT_TRUE(cache.get("live_49", t0));
}

TEST(RoomCache, ExpiredEntriesAreSweptOnLaterPuts) {
  RoomCache cache(std::chrono::milliseconds(100), 1000);
  auto t0 = RoomCache::Clock::now();
  for (int i = 0; i < 50; ++i) cache.put(room("live_" + std::to_string(i)), t0);
  EXPECT_EQ(cache.size(), 50u);
  cache.put(room("live_late"), t0 + std::chrono::milliseconds(500));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(RoomCache, ZeroTtlCachesNothing) {
  RoomCache cache(std::chrono::milliseconds(0), 5);
  auto t0 = RoomCache::Clock::now();
  cache.put(room("live_a"), t0);
  EXPECT_FALSE(cache.get("live_a", t0));
}

}  // namespace
}  // namespace liveroom::rooms

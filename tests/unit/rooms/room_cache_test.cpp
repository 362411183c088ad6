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

TEST(RoomCache, FoundByItsLiveInputWhileFresh) {
  RoomCache cache(std::chrono::milliseconds(100), 10);
  auto t0 = RoomCache::Clock::now();
  auto with_input = [](std::string id, std::string uid, bool ended) {
    return std::make_shared<const RoomSnapshot>(RoomSnapshot{std::move(id), ended, "v", std::move(uid), "local"});
  };
  cache.put(with_input("live_a", "uid1", false), t0);
  auto found = cache.getByInput("uid1", t0);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->room_id, "live_a");
  EXPECT_EQ(found->provider, "local");
  EXPECT_FALSE(cache.getByInput("uid2", t0));
  EXPECT_FALSE(cache.getByInput("uid1", t0 + std::chrono::milliseconds(100)));  // stale: the store answers
  // The room's new snapshot (ended) replaces the old under the same input.
  cache.put(with_input("live_a", "uid1", true), t0);
  EXPECT_TRUE(cache.getByInput("uid1", t0)->ended);
  // A room that moved to another input is not found by the old one.
  cache.put(with_input("live_a", "uid9", false), t0);
  EXPECT_FALSE(cache.getByInput("uid1", t0));
  EXPECT_TRUE(cache.getByInput("uid9", t0));
  cache.erase("live_a");
  EXPECT_FALSE(cache.getByInput("uid9", t0));
  // The index is swept with its rooms.
  for (int i = 0; i < 50; ++i) cache.put(with_input("live_" + std::to_string(i), "u" + std::to_string(i), false), t0);
  EXPECT_TRUE(cache.getByInput("u49", t0));
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

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

TEST(RoomCache, AReadThatBeganBeforeTheCachedChangeDoesNotReplaceIt) {
  RoomCache cache(std::chrono::milliseconds(1000), 10);
  auto t0 = RoomCache::Clock::now();
  using std::chrono::milliseconds;
  // A join's store read begins at t0; an end is stored and cached at t0 + 5; the slow read's
  // (older) room arrives at t0 + 9.
  cache.put(room("live_a", "ended"), t0 + milliseconds(5));
  cache.put(room("live_a", "active (read before the end)"), t0 + milliseconds(9), t0);
  EXPECT_EQ(cache.get("live_a", t0 + milliseconds(10))->public_view, "ended");
  cache.put(room("live_a", "read after"), t0 + milliseconds(12), t0 + milliseconds(6));
  EXPECT_EQ(cache.get("live_a", t0 + milliseconds(13))->public_view, "read after");
}

TEST(RoomCache, AnExpiredRoomIsServedWhileOneCallerRefreshesIt) {
  using std::chrono::milliseconds;
  RoomCache cache(milliseconds(100), 10, milliseconds(1000));
  auto t0 = RoomCache::Clock::now();
  cache.put(room("live_a", "v1"), t0);
  auto fresh = cache.lookup("live_a", t0 + milliseconds(50));
  EXPECT_EQ(fresh.room->public_view, "v1");
  EXPECT_FALSE(fresh.refresh);
  auto first = cache.lookup("live_a", t0 + milliseconds(150));
  EXPECT_EQ(first.room->public_view, "v1");
  EXPECT_TRUE(first.refresh) << "the first caller after expiry refreshes";
  EXPECT_FALSE(cache.lookup("live_a", t0 + milliseconds(160)).refresh) << "one refresh at a time";
  EXPECT_FALSE(cache.get("live_a", t0 + milliseconds(160))) << "get() is fresh only";
  cache.refreshFailed("live_a");
  EXPECT_TRUE(cache.lookup("live_a", t0 + milliseconds(170)).refresh) << "a failed refresh is tried again";
  cache.put(room("live_a", "v2"), t0 + milliseconds(180), t0 + milliseconds(170));
  auto after = cache.lookup("live_a", t0 + milliseconds(190));
  EXPECT_EQ(after.room->public_view, "v2");
  EXPECT_FALSE(after.refresh);
  // A refresh that never answers: after the stale window the room is not served at all.
  EXPECT_TRUE(cache.lookup("live_a", t0 + milliseconds(300)).refresh);
  EXPECT_FALSE(cache.lookup("live_a", t0 + milliseconds(1000)).refresh);
  EXPECT_FALSE(cache.lookup("live_a", t0 + milliseconds(1280)).room);
  EXPECT_FALSE(cache.lookup("live_b", t0).room);
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

TEST(RoomCache, PastItsTtlOnlyARoomBeingRefreshedOutlivesTheNextSweep) {
  RoomCache cache(std::chrono::milliseconds(100), 1000, std::chrono::milliseconds(1000));
  auto t0 = RoomCache::Clock::now();
  cache.put(room("live_hot"), t0);
  cache.put(room("live_once"), t0);
  // The hot room is asked for again as it expires: served stale while one caller refreshes it.
  ASSERT_TRUE(cache.lookup("live_hot", t0 + std::chrono::milliseconds(150)).refresh);
  cache.put(room("live_new"), t0 + std::chrono::milliseconds(250));  // past next sweep: sweeps
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.lookup("live_hot", t0 + std::chrono::milliseconds(260)).room) << "still served stale";
  EXPECT_FALSE(cache.lookup("live_once", t0 + std::chrono::milliseconds(260)).room) << "nobody asked: gone";
}

TEST(RoomCache, ZeroTtlCachesNothing) {
  RoomCache cache(std::chrono::milliseconds(0), 5);
  auto t0 = RoomCache::Clock::now();
  cache.put(room("live_a"), t0);
  EXPECT_FALSE(cache.get("live_a", t0));
}

}  // namespace
}  // namespace liveroom::rooms

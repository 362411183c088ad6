// WorkerLink: order, one wake per batch, a full ring drops, and two real threads.
#include "media/server/worker_link.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace liveroom::media {
namespace {

HandedPacketPtr packet(uint16_t n) {
  auto p = std::make_shared<HandedPacket>();
  p->size = n;
  return p;
}

TEST(WorkerLink, PacketsArriveInOrderAndOneWakeCoversABatch) {
  int wakes = 0;
  WorkerLink link([&](WorkerLink&) { ++wakes; });
  for (uint16_t i = 0; i < 10; ++i) ASSERT_TRUE(link.push(packet(i)));
  EXPECT_EQ(wakes, 1);  // the consumer has not drained yet: one wake is enough
  std::vector<uint16_t> got;
  EXPECT_EQ(link.drain([&](const HandedPacket& p) { got.push_back(p.size); }), 10u);
  ASSERT_EQ(got.size(), 10u);
  for (uint16_t i = 0; i < 10; ++i) EXPECT_EQ(got[i], i);
  // After a drain the next push wakes the consumer again.
  ASSERT_TRUE(link.push(packet(10)));
  EXPECT_EQ(wakes, 2);
  EXPECT_EQ(link.pushed(), 11u);
  EXPECT_EQ(link.dropped(), 0u);
}

TEST(WorkerLink, AFullRingDropsAndCounts) {
  WorkerLink link([](WorkerLink&) {});
  for (size_t i = 0; i < WorkerLink::kCapacity; ++i) ASSERT_TRUE(link.push(packet(1)));
  EXPECT_FALSE(link.push(packet(2)));
  EXPECT_EQ(link.dropped(), 1u);
  EXPECT_EQ(link.drain([](const HandedPacket&) {}), WorkerLink::kCapacity);
  EXPECT_TRUE(link.push(packet(3)));
}

TEST(WorkerLink, NothingIsLostOrReorderedBetweenTwoThreads) {
  // The consumer drains only when woken, as a worker does: a lost wake would strand packets.
  std::atomic<int> wakes_pending{0};
  WorkerLink link([&](WorkerLink&) { wakes_pending.fetch_add(1); });
  constexpr uint32_t kPackets = 200'000;
  std::vector<uint16_t> got;
  got.reserve(kPackets);
  std::thread consumer([&] {
    while (got.size() < kPackets) {
      if (wakes_pending.load() == 0) {
        std::this_thread::yield();
        continue;
      }
      wakes_pending.fetch_sub(1);
      link.drain([&](const HandedPacket& p) { got.push_back(p.size); });
    }
  });
  for (uint32_t i = 0; i < kPackets; ++i) {
    while (!link.push(packet(static_cast<uint16_t>(i)))) {
      std::this_thread::yield();  // full: the test wants every packet through
    }
  }
  consumer.join();
  ASSERT_EQ(got.size(), kPackets);
  for (uint32_t i = 0; i < got.size(); ++i) {
    if (got[i] != static_cast<uint16_t>(i)) FAIL() << "packet " << i << " out of order";
  }
}

}  // namespace
}  // namespace liveroom::media

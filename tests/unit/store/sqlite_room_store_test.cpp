// SQLite-specific behaviour of SqliteRoomStore (the conformance suite covers the rest).
#include "store/sqlite/sqlite_room_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <filesystem>
#include <thread>
#include <vector>

namespace liveroom {
namespace {

namespace fs = std::filesystem;

// Two servers starting on one fresh data dir open (create, switch to WAL, migrate) the same
// database at once; both must come up. Found by test_exposure.py under ASan: "database is locked"
// from PRAGMA journal_mode=WAL, which SQLite answers without waiting on its busy handler.
TEST(SqliteRoomStore, StoresOpeningOneFreshFileAtOnceAllSucceed) {
  const fs::path dir = fs::temp_directory_path() / ("liveroom_sqlite_race_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  constexpr int kThreads = 4;
  for (int round = 0; round < 25; ++round) {
    const std::string path = (dir / ("r" + std::to_string(round) + ".db")).string();
    std::barrier go(kThreads);
    std::atomic<int> failures{0};
    std::string failure;
    std::mutex failure_mutex;
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        go.arrive_and_wait();
        try {
          SqliteRoomStore store(path);
          EXPECT_TRUE(store.ping());
        } catch (const std::exception& e) {
          ++failures;
          std::lock_guard lock(failure_mutex);
          failure = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(failures.load(), 0) << "round " << round << ": " << failure;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace liveroom

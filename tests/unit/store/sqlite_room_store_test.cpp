// SQLite-specific behaviour of SqliteRoomStore (the conformance suite covers the rest).
#include "store/sqlite/sqlite_room_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
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

// A status or mode this version does not know (written by a newer one, or by hand) reads as an
// ended webrtc room: nothing more happens to it here, and the row is left as it is.
TEST(SqliteRoomStore, AStatusOrModeItDoesNotKnowReadsAsAnEndedWebrtcRoom) {
  const fs::path dir = fs::temp_directory_path() / ("liveroom_sqlite_words_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "rooms.db").string();
  {
    SqliteRoomStore store(path);
    RoomRecord room;
    room.room_id = "live_words";
    room.title = "t";
    room.host = "h";
    room.mode = RoomMode::broadcast;
    room.provider = "cloudflare";
    room.session_id = "uid";
    room.host_token_hash = std::string(64, '0');
    room.created_at_ms = room.updated_at_ms = 1'700'000'000'000;
    store.insert(room);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE rooms SET status = 'paused', mode = 'holographic'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  SqliteRoomStore store(path);
  const auto room = store.get("live_words");
  ASSERT_TRUE(room);
  EXPECT_EQ(room->status, RoomStatus::ended);
  EXPECT_EQ(room->mode, RoomMode::webrtc);
  EXPECT_EQ(room->title, "t") << "the rest of the row as it was";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace liveroom

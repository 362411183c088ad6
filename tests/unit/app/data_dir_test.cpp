// The data dir is made private, and files an older liveroom left readable are tightened.
#include "app/data_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace liveroom::app {
namespace {

namespace fs = std::filesystem;

mode_t modeOf(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
}

TEST(DataDir, CreatedPrivateAndOldFilesTightened) {
  const fs::path base = fs::temp_directory_path() / ("liveroom_datadir_test_" + std::to_string(::getpid()));
  fs::remove_all(base);
  const fs::path dir = base / "a" / "data";
  preparePrivateDataDir(dir);
  EXPECT_EQ(modeOf(dir), 0700u);

  ::chmod(dir.c_str(), 0755);
  for (const char* name :
       {"liveroom.db", "liveroom.db-wal", "liveroom.db-shm", "media-secret", "contract-31337-0xabc.db", "notes.txt"}) {
    std::ofstream(dir / name) << "x";
    ::chmod((dir / name).c_str(), 0644);
  }
  preparePrivateDataDir(dir);
  EXPECT_EQ(modeOf(dir), 0700u);
  for (const char* name :
       {"liveroom.db", "liveroom.db-wal", "liveroom.db-shm", "media-secret", "contract-31337-0xabc.db"}) {
    EXPECT_EQ(modeOf(dir / name), 0600u) << name;
  }
  EXPECT_EQ(modeOf(dir / "notes.txt"), 0644u);  // not ours: left alone
  fs::remove_all(base);
}

TEST(DataDir, ACreateFailureNamesTheReason) {
  EXPECT_THROW(preparePrivateDataDir("/proc/liveroom-cannot-be-here"), std::runtime_error);
}

}  // namespace
}  // namespace liveroom::app

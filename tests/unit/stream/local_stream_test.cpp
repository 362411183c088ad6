// The local provider's media secret file: private, stable, and the same for processes that
// start on one fresh data dir at once.
#include "stream/local/local_stream.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <barrier>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

namespace liveroom {
namespace {

namespace fs = std::filesystem;

class MediaSecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("liveroom_secret_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(MediaSecretTest, CreatedPrivateAndReadBack) {
  const fs::path file = dir_ / "media-secret";
  const std::string secret = LocalStream::loadOrCreateSecret(file);
  EXPECT_EQ(secret.size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(LocalStream::loadOrCreateSecret(file), secret);
  for (const auto& entry : fs::directory_iterator(dir_)) EXPECT_EQ(entry.path().filename(), "media-secret");
}

TEST_F(MediaSecretTest, ConcurrentStartsAgreeOnOneSecret) {
  // Many rounds of 8 starters racing on a fresh file: each round must end with one secret.
  for (int round = 0; round < 40; ++round) {
    const fs::path file = dir_ / ("media-secret-" + std::to_string(round));
    constexpr int kThreads = 8;
    std::barrier go(kThreads);
    std::vector<std::string> got(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        go.arrive_and_wait();
        got[i] = LocalStream::loadOrCreateSecret(file);
      });
    }
    for (auto& t : threads) t.join();
    std::set<std::string> distinct(got.begin(), got.end());
    ASSERT_EQ(distinct.size(), 1u) << "round " << round;
    std::ifstream in(file);
    std::string on_disk;
    in >> on_disk;
    EXPECT_EQ(on_disk, got[0]);
  }
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 40u);  // no temporary file left behind
}

TEST_F(MediaSecretTest, ACorruptFileIsAnErrorNotANewSecret) {
  const fs::path file = dir_ / "media-secret";
  std::ofstream(file) << "not hex";
  EXPECT_THROW(LocalStream::loadOrCreateSecret(file), std::runtime_error);
}

}  // namespace
}  // namespace liveroom

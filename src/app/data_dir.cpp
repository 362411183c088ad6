// Private data directory (see data_dir.hpp).
#include "app/data_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

#include <spdlog/spdlog.h>

namespace liveroom::app {

namespace fs = std::filesystem;

namespace {

bool isLiveroomFile(const std::string& name) {
  return name == "media-secret" || name.rfind("liveroom.db", 0) == 0 ||
         (name.rfind("contract-", 0) == 0 && name.find(".db") != std::string::npos);
}

}  // namespace

void preparePrivateDataDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) throw std::runtime_error("cannot read " + dir.string());
  if ((st.st_mode & 077) != 0) {
    if (st.st_uid == ::geteuid() && ::chmod(dir.c_str(), S_IRWXU) == 0) {
      spdlog::info("data dir {}: made private (0700): it holds publish keys", dir.string());
    } else {
      spdlog::warn("data dir {} is readable by others and not ours to change: it holds publish keys", dir.string());
    }
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!isLiveroomFile(name)) continue;
    struct stat fst {};
    if (::lstat(entry.path().c_str(), &fst) != 0 || !S_ISREG(fst.st_mode) || (fst.st_mode & 077) == 0) continue;
    if (fst.st_uid == ::geteuid() && ::chmod(entry.path().c_str(), S_IRUSR | S_IWUSR) == 0) {
      spdlog::info("{}: made private (0600)", entry.path().string());
    } else {
      spdlog::warn("{} is readable by others and not ours to change", entry.path().string());
    }
  }
}

}  // namespace liveroom::app

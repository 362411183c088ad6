#include "metrics/process.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace liveroom::metrics {

namespace {

std::optional<uint64_t> number(std::string_view s) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string readFile(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<ProcStat> parseProcStat(std::string_view text) {
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  // Fields from 3 (state) on, split on spaces; field n is at index n - 3.
  std::string_view rest = text.substr(close + 1);
  uint64_t fields[22] = {};  // fields 3..24
  bool have[22] = {};
  size_t index = 0;
  while (!rest.empty() && index < 22) {
    const size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = rest.find_first_of(" \n");
    const std::string_view field = rest.substr(0, end);
    if (auto v = number(field)) {
      fields[index] = *v;
      have[index] = true;
    }
    ++index;
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  // utime 14, stime 15, starttime 22, vsize 23, rss 24.
  for (int n : {14, 15, 22, 23, 24}) {
    if (!have[n - 3]) return std::nullopt;
  }
  ProcStat s;
  s.utime_ticks = fields[14 - 3];
  s.stime_ticks = fields[15 - 3];
  s.start_ticks = fields[22 - 3];
  s.vsize_bytes = fields[23 - 3];
  s.rss_pages = fields[24 - 3];
  return s;
}

std::optional<uint64_t> parseBootTime(std::string_view proc_stat) {
  size_t at = 0;
  while (at < proc_stat.size()) {
    const size_t end = proc_stat.find('\n', at);
    std::string_view line = proc_stat.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (line.starts_with("btime ")) return number(line.substr(6));
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return std::nullopt;
}

void addProcessMetrics(Scrape& scrape) {
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (const auto stat = parseProcStat(readFile("/proc/self/stat")); stat && ticks > 0 && page > 0) {
    scrape.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                   static_cast<double>(stat->utime_ticks + stat->stime_ticks) / static_cast<double>(ticks));
    scrape.gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                 static_cast<double>(stat->rss_pages) * static_cast<double>(page));
    scrape.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                 static_cast<double>(stat->vsize_bytes));
    if (const auto boot = parseBootTime(readFile("/proc/stat"))) {
      scrape.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                   static_cast<double>(*boot) + static_cast<double>(stat->start_ticks) / static_cast<double>(ticks));
    }
  }
  std::error_code ec;
  size_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
  // The directory's own descriptor, open while it is read, is not one of ours.
  if (!ec && fds > 0)
    scrape.gauge("process_open_fds", "Number of open file descriptors.", static_cast<double>(fds - 1));
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    scrape.gauge("process_max_fds", "Maximum number of open file descriptors.", static_cast<double>(limit.rlim_cur));
  }
}

}  // namespace liveroom::metrics

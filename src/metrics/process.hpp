// The process's own figures in the names every Prometheus client library uses (process_cpu_
// seconds_total, process_resident_memory_bytes, ...), read from /proc.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "metrics/metrics.hpp"

namespace liveroom::metrics {

// The fields of /proc/<pid>/stat that matter here, in clock ticks and pages as the kernel gives.
struct ProcStat {
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  uint64_t start_ticks = 0;  // since boot
  uint64_t vsize_bytes = 0;
  uint64_t rss_pages = 0;
  bool operator==(const ProcStat&) const = default;
};

// Parses a /proc/<pid>/stat line (the command name may hold spaces and parentheses: fields are
// counted after its last ')'). Pure; nullopt when malformed.
std::optional<ProcStat> parseProcStat(std::string_view text);
// The "btime" line of /proc/stat (boot time, seconds since the epoch). Pure.
std::optional<uint64_t> parseBootTime(std::string_view proc_stat);

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds of this process.
void addProcessMetrics(Scrape& scrape);

}  // namespace liveroom::metrics

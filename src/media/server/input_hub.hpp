// InputHub: one input (a room's stream) as every media worker sees it. MediaServer's registry
// changes it under its own mutex (who publishes, on which worker, which workers hold viewers);
// the per-packet path reads only the atomics: the publisher's worker loads `viewer_workers`
// to know where to hand each packet. Shared (shared_ptr) by the registry and every worker's
// InputRouter of the input; its id is never reused, its uid may be (a room that comes back).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "media/router/media_source.hpp"

namespace liveroom::media {

struct InputHub {
  InputHub(std::string uid_, uint64_t id_, size_t workers)
      : uid(std::move(uid_)), id(id_), viewers_on(workers, 0), connected_on(workers, 0) {}

  const std::string uid;
  const uint64_t id;

  // Bit w: worker w holds viewers of this input (at most 64 workers).
  std::atomic<uint64_t> viewer_workers{0};
  // The current publisher's worker (-1: none) and generation (each new publisher, a new one).
  std::atomic<int> publisher_worker{-1};
  std::atomic<uint64_t> generation{0};
  // When the current publisher last sent media (steady clock, ns): a silent one may be replaced.
  std::atomic<int64_t> last_media_ns{0};

  // What publisher `generation` sends; null when it is not the current one any more.
  std::shared_ptr<const SourceDescription> description(uint64_t for_generation) const {
    std::lock_guard lock(description_mutex);
    return for_generation == description_generation ? current_description : nullptr;
  }
  std::shared_ptr<const SourceDescription> description() const {
    std::lock_guard lock(description_mutex);
    return current_description;
  }
  void setDescription(std::shared_ptr<const SourceDescription> d, uint64_t for_generation) {
    std::lock_guard lock(description_mutex);
    current_description = std::move(d);
    description_generation = for_generation;
  }

  // MediaServer's registry only (its mutex):
  std::string publisher_id;          // the current publisher's session id ("" none)
  std::string live_publisher_id;     // the publisher the listener last heard is live
  std::vector<size_t> viewers_on;    // viewer sessions per worker
  std::vector<size_t> connected_on;  // connected viewers per worker, as the workers last said
  size_t viewers_reported = 0;       // what the listener last heard
  size_t sessions = 0;               // publisher and viewers, every worker

 private:
  mutable std::mutex description_mutex;
  std::shared_ptr<const SourceDescription> current_description;
  uint64_t description_generation = 0;
};

inline int64_t steadyNanos(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace liveroom::media

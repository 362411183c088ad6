// WorkerLink: packets from one media worker (the publisher's) to another (its viewers'), without
// locks on the way: a single-producer single-consumer ring of shared packets. The publisher's
// worker copies a packet once (HandedPacket) and pushes the same copy to every worker that has
// viewers of the input; the consumer is woken by one post per batch (the first push after it
// last drained), so a busy consumer takes packets with no system call or lock per packet. A full
// ring drops the packet (real time: the consumer is hundreds of milliseconds behind) and counts it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include <boost/lockfree/spsc_queue.hpp>

#include "media/rtp/retransmission_buffer.hpp"
#include "media/sdp/negotiation.hpp"

namespace liveroom::media {

// One publisher packet on its way to other workers; immutable once pushed.
struct HandedPacket {
  uint64_t input_id = 0;    // InputHub::id
  uint64_t generation = 0;  // the publisher it came from (InputHub::generation)
  sdp::MediaKind kind = sdp::MediaKind::kVideo;
  uint8_t layer = 0;
  bool key_frame_start = false;
  uint16_t size = 0;
  std::array<uint8_t, rtp::RetransmissionBuffer::kMaxPacketSize> bytes{};
};
using HandedPacketPtr = std::shared_ptr<const HandedPacket>;

class WorkerLink {
 public:
  static constexpr size_t kCapacity = 4096;

  // `wake` makes the consumer call drain() on this link soon (posts onto its loop); called from
  // the producer.
  explicit WorkerLink(std::function<void(WorkerLink&)> wake) : ring_(kCapacity), wake_(std::move(wake)) {}
  WorkerLink(const WorkerLink&) = delete;
  WorkerLink& operator=(const WorkerLink&) = delete;

  // Producer thread. False when the ring is full (the packet is dropped).
  bool push(HandedPacketPtr packet) {
    if (!ring_.push(std::move(packet))) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    pushed_.fetch_add(1, std::memory_order_relaxed);
    // The flag is cleared before the consumer pops: a push it might miss finds the flag clear.
    if (!armed_.exchange(true, std::memory_order_acq_rel)) wake_(*this);
    return true;
  }

  // Consumer thread: hands every queued packet to `take`, in order; returns how many.
  template <typename Take>
  size_t drain(Take&& take) {
    armed_.store(false, std::memory_order_seq_cst);
    size_t n = 0;
    HandedPacketPtr packet;
    while (ring_.pop(packet)) {
      take(*packet);
      packet.reset();
      ++n;
    }
    return n;
  }

  uint64_t pushed() const noexcept { return pushed_.load(std::memory_order_relaxed); }
  uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  boost::lockfree::spsc_queue<HandedPacketPtr> ring_;
  std::function<void(WorkerLink&)> wake_;
  std::atomic<bool> armed_{false};
  std::atomic<uint64_t> pushed_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace liveroom::media

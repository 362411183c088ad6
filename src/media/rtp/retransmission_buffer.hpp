// RTP retransmission buffer of one outgoing track: the last packets by sequence number,
// held about one second, so a viewer's NACK is answered from memory instead of asking
// the publisher. Fixed slots whose storage is reused: no allocation per packet once warm.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace liveroom::media::rtp {

class RetransmissionBuffer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxPacketSize = 1500;

  // `slots` is rounded up to a power of two; a packet is kept until its slot is reused
  // or it is older than `max_age`.
  explicit RetransmissionBuffer(size_t slots = 1024, std::chrono::milliseconds max_age = std::chrono::seconds(1));

  // Stores a copy (packets above kMaxPacketSize are not kept).
  void insert(uint16_t sequence_number, const uint8_t* data, size_t size, Clock::time_point now);
  // The stored packet with this sequence number when still held and fresh.
  std::optional<std::span<const uint8_t>> get(uint16_t sequence_number, Clock::time_point now) const;

 private:
  struct Slot {
    bool used = false;
    uint16_t sequence_number = 0;
    Clock::time_point stored{};
    std::vector<uint8_t> bytes;
  };
  std::vector<Slot> slots_;
  size_t mask_;
  std::chrono::milliseconds max_age_;
};

}  // namespace liveroom::media::rtp

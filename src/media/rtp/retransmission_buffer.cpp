// RTP retransmission buffer (see retransmission_buffer.hpp).
#include "media/rtp/retransmission_buffer.hpp"

#include <bit>

namespace liveroom::media::rtp {

RetransmissionBuffer::RetransmissionBuffer(size_t slots, std::chrono::milliseconds max_age)
    : slots_(std::bit_ceil(std::max<size_t>(slots, 1))), mask_(slots_.size() - 1), max_age_(max_age) {
  for (auto& slot : slots_) slot.bytes.reserve(kMaxPacketSize);
}

void RetransmissionBuffer::insert(uint16_t sequence_number, const uint8_t* data, size_t size, Clock::time_point now) {
  if (size > kMaxPacketSize) return;
  Slot& slot = slots_[sequence_number & mask_];
  slot.used = true;
  slot.sequence_number = sequence_number;
  slot.stored = now;
  slot.bytes.assign(data, data + size);  // within the reserved capacity: no allocation
}

std::optional<std::span<const uint8_t>> RetransmissionBuffer::get(uint16_t sequence_number,
                                                                  Clock::time_point now) const {
  const Slot& slot = slots_[sequence_number & mask_];
  if (!slot.used || slot.sequence_number != sequence_number || now - slot.stored > max_age_) return std::nullopt;
  return std::span<const uint8_t>(slot.bytes.data(), slot.bytes.size());
}

}  // namespace liveroom::media::rtp

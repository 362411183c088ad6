// The VP8 payload descriptor's picture numbering (RFC 7741 §4.2): PictureID (7 or 15 bits),
// TL0PICIDX and KEYIDX. A receiver uses them to find which frames a frame refers to, so a stream
// that switches sources (a simulcast layer change, a broadcaster reconnecting) must keep them
// continuous, as it keeps sequence numbers and timestamps. Pure, bounds-checked, in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace liveroom::media::rtp {

struct Vp8Numbering {
  std::optional<uint16_t> picture_id;  // 7- or 15-bit value
  bool long_picture_id = false;        // M bit: 15 bits
  std::optional<uint8_t> tl0_pic_idx;
  std::optional<uint8_t> key_idx;  // 5 bits
};

// The numbering fields present in `payload`'s descriptor; nullopt when it is too short.
std::optional<Vp8Numbering> readVp8Numbering(std::span<const uint8_t> payload) noexcept;
// Overwrites the fields present in the descriptor with `n`'s values (same widths). False when the
// descriptor is too short.
bool writeVp8Numbering(std::span<uint8_t> payload, const Vp8Numbering& n) noexcept;

}  // namespace liveroom::media::rtp

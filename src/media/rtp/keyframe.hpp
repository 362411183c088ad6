// Does this RTP payload start a key frame? Read from the payload format alone: VP8 (RFC 7741:
// the first packet of a frame, partition 0, whose payload header says key frame) and H.264
// (RFC 6184: an SPS or IDR slice, alone, in a STAP-A, or the first FU-A fragment). A simulcast
// viewer switches layers only here, so its decoder never sees a frame that refers to another
// layer's pictures. Pure, bounds-checked, no allocation.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace liveroom::media::rtp {

bool isKeyFrameStart(std::string_view codec_name, std::span<const uint8_t> payload) noexcept;
bool isVp8KeyFrameStart(std::span<const uint8_t> payload) noexcept;
bool isH264KeyFrameStart(std::span<const uint8_t> payload) noexcept;

}  // namespace liveroom::media::rtp

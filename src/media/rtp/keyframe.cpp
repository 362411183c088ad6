// Key-frame detection in VP8 and H.264 payloads (see keyframe.hpp).
#include "media/rtp/keyframe.hpp"

#include <cctype>

namespace liveroom::media::rtp {

namespace {
bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

bool isH264KeyNal(uint8_t type) noexcept { return type == 5 || type == 7; }  // IDR slice, SPS
}  // namespace

bool isVp8KeyFrameStart(std::span<const uint8_t> p) noexcept {
  if (p.empty()) return false;
  size_t at = 1;
  const uint8_t first = p[0];
  const bool start_of_partition = (first & 0x10) != 0;
  const uint8_t partition = first & 0x07;
  if (first & 0x80) {  // X: extension byte
    if (p.size() <= at) return false;
    const uint8_t x = p[at++];
    if (x & 0x80) {  // I: PictureID, 7 or 15 bits
      if (p.size() <= at) return false;
      at += (p[at] & 0x80) ? 2 : 1;
    }
    if (x & 0x40) ++at;  // L: TL0PICIDX
    if (x & 0x30) ++at;  // T or K: TID/Y/KEYIDX
  }
  if (!start_of_partition || partition != 0 || p.size() <= at) return false;
  return (p[at] & 0x01) == 0;  // VP8 payload header P bit: 0 = key frame (RFC 6386 §9.1)
}

bool isH264KeyFrameStart(std::span<const uint8_t> p) noexcept {
  if (p.empty()) return false;
  const uint8_t type = p[0] & 0x1F;
  if (type >= 1 && type <= 23) return isH264KeyNal(type);
  if (type == 24) {  // STAP-A: [size16][NAL]...
    size_t at = 1;
    while (at + 2 < p.size()) {
      const size_t size = (static_cast<size_t>(p[at]) << 8) | p[at + 1];
      at += 2;
      if (size == 0 || at + size > p.size()) return false;
      if (isH264KeyNal(p[at] & 0x1F)) return true;
      at += size;
    }
    return false;
  }
  if (type == 28) {  // FU-A: the start fragment of an IDR slice
    if (p.size() < 2) return false;
    return (p[1] & 0x80) != 0 && isH264KeyNal(p[1] & 0x1F);
  }
  return false;
}

bool isKeyFrameStart(std::string_view codec_name, std::span<const uint8_t> payload) noexcept {
  if (iequals(codec_name, "VP8")) return isVp8KeyFrameStart(payload);
  if (iequals(codec_name, "H264")) return isH264KeyFrameStart(payload);
  return false;
}

}  // namespace liveroom::media::rtp

// Big-endian reads and writes of network byte order fields, shared by every packet parser
// and builder in media/ (STUN, RTP, RTCP). Byte shifts only: no unaligned loads, no UB.
#pragma once

#include <cstdint>
#include <vector>

namespace liveroom::media {

inline uint16_t read16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t read24(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | uint32_t{p[2]};
}
inline uint32_t read32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline uint64_t read64(const uint8_t* p) noexcept { return (uint64_t{read32(p)} << 32) | read32(p + 4); }

inline void write16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void write32(uint8_t* p, uint32_t v) noexcept {
  write16(p, static_cast<uint16_t>(v >> 16));
  write16(p + 2, static_cast<uint16_t>(v));
}

inline void append8(std::vector<uint8_t>& out, uint8_t v) { out.push_back(v); }
inline void append16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
inline void append24(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 16));
  append16(out, static_cast<uint16_t>(v));
}
inline void append32(std::vector<uint8_t>& out, uint32_t v) {
  append16(out, static_cast<uint16_t>(v >> 16));
  append16(out, static_cast<uint16_t>(v));
}

}  // namespace liveroom::media

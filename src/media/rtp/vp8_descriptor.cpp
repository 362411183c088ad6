// VP8 payload descriptor numbering (see vp8_descriptor.hpp).
#include "media/rtp/vp8_descriptor.hpp"

namespace liveroom::media::rtp {

namespace {

// Offsets of the fields in the descriptor, or nullopt if it is truncated.
struct Layout {
  std::optional<size_t> picture_id;
  bool long_picture_id = false;
  std::optional<size_t> tl0;
  std::optional<size_t> tk;  // TID/Y/KEYIDX byte
  bool has_key_idx = false;
};

std::optional<Layout> layoutOf(std::span<const uint8_t> p) noexcept {
  Layout l;
  if (p.empty()) return std::nullopt;
  if ((p[0] & 0x80) == 0) return l;  // no extension: no numbering
  if (p.size() < 2) return std::nullopt;
  const uint8_t x = p[1];
  size_t at = 2;
  if (x & 0x80) {  // I
    if (p.size() <= at) return std::nullopt;
    l.picture_id = at;
    l.long_picture_id = (p[at] & 0x80) != 0;
    at += l.long_picture_id ? 2 : 1;
  }
  if (x & 0x40) l.tl0 = at++;  // L
  if (x & 0x30) {              // T or K
    l.tk = at++;
    l.has_key_idx = (x & 0x10) != 0;
  }
  if (p.size() < at) return std::nullopt;
  return l;
}

}  // namespace

std::optional<Vp8Numbering> readVp8Numbering(std::span<const uint8_t> p) noexcept {
  const auto l = layoutOf(p);
  if (!l) return std::nullopt;
  Vp8Numbering n;
  if (l->picture_id) {
    const size_t at = *l->picture_id;
    n.long_picture_id = l->long_picture_id;
    n.picture_id = n.long_picture_id ? static_cast<uint16_t>(((p[at] & 0x7F) << 8) | p[at + 1])
                                     : static_cast<uint16_t>(p[at] & 0x7F);
  }
  if (l->tl0) n.tl0_pic_idx = p[*l->tl0];
  if (l->tk && l->has_key_idx) n.key_idx = static_cast<uint8_t>(p[*l->tk] & 0x1F);
  return n;
}

bool writeVp8Numbering(std::span<uint8_t> p, const Vp8Numbering& n) noexcept {
  const auto l = layoutOf(p);
  if (!l) return false;
  if (l->picture_id && n.picture_id) {
    const size_t at = *l->picture_id;
    if (l->long_picture_id) {
      p[at] = static_cast<uint8_t>(0x80 | ((*n.picture_id >> 8) & 0x7F));
      p[at + 1] = static_cast<uint8_t>(*n.picture_id & 0xFF);
    } else {
      p[at] = static_cast<uint8_t>(*n.picture_id & 0x7F);
    }
  }
  if (l->tl0 && n.tl0_pic_idx) p[*l->tl0] = *n.tl0_pic_idx;
  if (l->tk && l->has_key_idx && n.key_idx) {
    p[*l->tk] = static_cast<uint8_t>((p[*l->tk] & 0xE0) | (*n.key_idx & 0x1F));
  }
  return true;
}

}  // namespace liveroom::media::rtp

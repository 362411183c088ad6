// An independent, deliberately plain decoder of transport-wide congestion control feedback
// (RTPFB FMT 15, draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), written from the
// draft and not from src/: the fuzz targets check the server's parser and writer against it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace liveroom::fuzz::twcc {

enum Symbol : uint8_t { kNotReceived = 0, kSmallDelta = 1, kLargeDelta = 2 };

struct Feedback {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  uint16_t base_sequence = 0;
  uint16_t status_count = 0;
  int32_t reference_time = 0;  // signed 24 bits, 64 ms units
  uint8_t feedback_count = 0;
  std::vector<uint8_t> symbols;  // one per status
  std::vector<int32_t> deltas;   // one per received status, 250 us units
  size_t used = 0;               // FCI bytes the chunks and deltas took
};

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// `body`: the bytes after the 4-byte RTCP header, padding excluded. nullopt when malformed
// (truncated chunks or deltas, a reserved symbol).
inline std::optional<Feedback> decode(const uint8_t* body, size_t size) {
  if (size < 16) return std::nullopt;
  Feedback f;
  f.sender_ssrc = be32(body);
  f.media_ssrc = be32(body + 4);
  f.base_sequence = be16(body + 8);
  f.status_count = be16(body + 10);
  const uint32_t ref = uint32_t{body[12]} << 16 | uint32_t{body[13]} << 8 | body[14];
  f.reference_time = ref >= 0x800000 ? static_cast<int32_t>(ref) - 0x1000000 : static_cast<int32_t>(ref);
  f.feedback_count = body[15];
  size_t pos = 16;
  while (f.symbols.size() < f.status_count) {
    if (size - pos < 2) return std::nullopt;
    const uint16_t chunk = be16(body + pos);
    pos += 2;
    if ((chunk & 0x8000) == 0) {  // run length
      const uint8_t symbol = static_cast<uint8_t>((chunk >> 13) & 0x3);
      const size_t run = chunk & 0x1FFF;
      if (symbol == 3 && run > 0) return std::nullopt;
      for (size_t i = 0; i < run && f.symbols.size() < f.status_count; ++i) f.symbols.push_back(symbol);
    } else if ((chunk & 0x4000) == 0) {  // 14 one-bit symbols
      for (int bit = 13; bit >= 0 && f.symbols.size() < f.status_count; --bit) {
        f.symbols.push_back(static_cast<uint8_t>((chunk >> bit) & 1));
      }
    } else {  // 7 two-bit symbols
      for (int i = 6; i >= 0 && f.symbols.size() < f.status_count; --i) {
        const uint8_t symbol = static_cast<uint8_t>((chunk >> (2 * i)) & 0x3);
        if (symbol == 3) return std::nullopt;
        f.symbols.push_back(symbol);
      }
    }
  }
  for (uint8_t symbol : f.symbols) {
    if (symbol == kSmallDelta) {
      if (size - pos < 1) return std::nullopt;
      f.deltas.push_back(body[pos]);
      pos += 1;
    } else if (symbol == kLargeDelta) {
      if (size - pos < 2) return std::nullopt;
      f.deltas.push_back(static_cast<int16_t>(be16(body + pos)));
      pos += 2;
    }
  }
  f.used = pos;
  return f;
}

}  // namespace liveroom::fuzz::twcc

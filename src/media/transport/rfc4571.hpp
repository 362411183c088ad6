// RFC 4571 framing: RTP, RTCP, STUN and DTLS over a TCP connection (ICE-TCP, RFC 6544) as
// frames of a 16-bit big-endian length followed by that many bytes. Rfc4571Reader reassembles
// frames from whatever pieces TCP delivers (split across reads, several in one read); frames
// over its limit are skipped whole and counted, so a hostile length prefix costs nothing but
// the bytes it makes us read. Pure: no I/O, no allocation after construction.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace liveroom::media {

class Rfc4571Reader {
 public:
  static constexpr size_t kMaxFrameLength = 65535;

  // Frames longer than `max_frame` (and empty ones) are dropped; at most kMaxFrameLength.
  explicit Rfc4571Reader(size_t max_frame) : max_frame_(max_frame > kMaxFrameLength ? kMaxFrameLength : max_frame) {
    frame_.reserve(max_frame_);
  }

  // Calls `on_frame(uint8_t* data, size_t size)` for each complete frame in order; `data` is
  // valid only during the call (the callee may modify it). Stops early, returning false, when
  // `on_frame` returns false (the connection is being closed).
  template <typename OnFrame>
  bool feed(const uint8_t* data, size_t size, OnFrame&& on_frame) {
    size_t i = 0;
    while (i < size) {
      if (header_bytes_ < 2) {
        length_ = static_cast<uint16_t>((length_ << 8) | data[i++]);
        if (++header_bytes_ < 2) continue;
        if (length_ == 0 || length_ > max_frame_) {
          ++dropped_;
          skip_ = length_;
          frame_.clear();
          if (skip_ == 0) resetHeader();
        }
        continue;
      }
      if (skip_ > 0) {
        const size_t n = std::min(skip_, size - i);
        skip_ -= n;
        i += n;
        if (skip_ == 0) resetHeader();
        continue;
      }
      const size_t n = std::min<size_t>(length_ - frame_.size(), size - i);
      frame_.insert(frame_.end(), data + i, data + i + n);
      i += n;
      if (frame_.size() == length_) {
        resetHeader();
        const bool go_on = on_frame(frame_.data(), frame_.size());
        frame_.clear();
        if (!go_on) return false;
      }
    }
    return true;
  }

  uint64_t droppedFrames() const noexcept { return dropped_; }
  // True between frames (nothing of a frame or its length read yet).
  bool atBoundary() const noexcept { return header_bytes_ == 0; }

 private:
  void resetHeader() noexcept {
    header_bytes_ = 0;
    length_ = 0;
  }

  size_t max_frame_;
  std::vector<uint8_t> frame_;
  uint16_t length_ = 0;
  int header_bytes_ = 0;
  size_t skip_ = 0;
  uint64_t dropped_ = 0;
};

// Appends one frame (length prefix + bytes). Throws std::length_error over 65535 bytes.
inline void appendRfc4571Frame(std::vector<uint8_t>& out, const uint8_t* data, size_t size) {
  if (size > Rfc4571Reader::kMaxFrameLength) throw std::length_error("RFC 4571 frame over 65535 bytes");
  out.push_back(static_cast<uint8_t>(size >> 8));
  out.push_back(static_cast<uint8_t>(size & 0xFF));
  out.insert(out.end(), data, data + size);
}

}  // namespace liveroom::media

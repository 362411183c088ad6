// Per-viewer, per-track RTP rewriting, done in place on the packet the viewer gets:
// payload type and header-extension ids mapped to what the viewer negotiated, the
// viewer's own SSRC, and sequence numbers / timestamps that stay continuous when the
// publisher's stream changes (a reconnect brings a new SSRC and new random bases), so
// the viewer's decoder just sees one stream with a gap. No allocation.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "media/rtp/rtp_packet.hpp"

namespace liveroom::media {

class RtpRewriter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr uint8_t kDrop = 0;  // in maps: 0 = not negotiated by the viewer

  struct Config {
    uint32_t ssrc = 0;                         // the viewer-side SSRC (announced in the WHEP answer)
    uint32_t clock_rate = 0;                   // 90000 video, 48000 Opus: turns wall time into timestamp ticks
    std::array<uint8_t, 128> payload_types{};  // publisher PT -> viewer PT (kDrop: not sent)
    std::array<uint8_t, 256> extension_ids{};  // publisher ext id -> viewer ext id (kDrop: stripped)
    bool vp8 = false;                          // keep the VP8 descriptor's PictureID/TL0PICIDX/KEYIDX continuous too
  };

  explicit RtpRewriter(const Config& config);

  // New payload-type / extension maps and clock rate (a new publisher with other payload
  // types); the viewer's SSRC and the sequence/timestamp continuity are kept.
  void setMapping(const std::array<uint8_t, 128>& payload_types, const std::array<uint8_t, 256>& extension_ids,
                  uint32_t clock_rate, bool vp8 = false);
  uint32_t ssrc() const noexcept { return config_.ssrc; }
  uint32_t clockRate() const noexcept { return config_.clock_rate; }

  // The RTP timestamp the viewer's stream has at `now` (last sent timestamp advanced by the
  // wall time since), for sender reports; nullopt before the first packet.
  std::optional<uint32_t> timestampAt(Clock::time_point now) const;

  // Rewrites `packet` for the viewer; false when the viewer must not get it (payload type
  // it did not negotiate, or a late packet of a previous publisher stream).
  bool rewrite(rtp::RtpPacket& packet, Clock::time_point now);

  // The publisher-side sequence number of a viewer-side one in the current stream, to
  // answer a viewer's NACK from the publisher track's retransmission buffer.
  std::optional<uint16_t> publisherSequence(uint16_t viewer_sequence) const;

 private:
  Config config_;
  bool started_ = false;
  uint32_t source_ssrc_ = 0;
  uint16_t seq_offset_ = 0;  // viewer = publisher + offset (mod 2^16)
  uint32_t ts_offset_ = 0;
  uint16_t highest_out_seq_ = 0;
  uint16_t first_out_seq_of_source_ = 0;
  uint32_t last_out_ts_ = 0;
  Clock::time_point last_out_time_{};
  // VP8 numbering: viewer = publisher + offset (mod the field's width); the last values sent.
  uint16_t picture_id_offset_ = 0;
  uint8_t tl0_offset_ = 0;
  uint8_t key_idx_offset_ = 0;
  std::optional<uint16_t> last_picture_id_;
  std::optional<uint8_t> last_tl0_;
  std::optional<uint8_t> last_key_idx_;
};

}  // namespace liveroom::media

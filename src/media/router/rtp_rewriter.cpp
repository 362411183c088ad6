// Per-viewer RTP rewriting (see rtp_rewriter.hpp).
#include "media/router/rtp_rewriter.hpp"

#include "media/rtp/vp8_descriptor.hpp"

namespace liveroom::media {

namespace {
// RFC 3550 serial-number arithmetic: a is after b (within half the space).
bool seqNewer(uint16_t a, uint16_t b) { return a != b && static_cast<uint16_t>(a - b) < 0x8000; }
}  // namespace

RtpRewriter::RtpRewriter(const Config& config) : config_(config) {}

void RtpRewriter::setMapping(const std::array<uint8_t, 128>& payload_types,
                             const std::array<uint8_t, 256>& extension_ids, uint32_t clock_rate, bool vp8) {
  config_.payload_types = payload_types;
  config_.extension_ids = extension_ids;
  config_.clock_rate = clock_rate;
  config_.vp8 = vp8;
}

std::optional<uint32_t> RtpRewriter::timestampAt(Clock::time_point now) const {
  if (!started_ || last_out_time_ == Clock::time_point{}) return std::nullopt;
  const auto elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(now - last_out_time_).count();
  const int64_t ticks = elapsed_us * static_cast<int64_t>(config_.clock_rate) / 1000000;
  return static_cast<uint32_t>(last_out_ts_ + static_cast<uint32_t>(ticks));
}

bool RtpRewriter::rewrite(rtp::RtpPacket& packet, Clock::time_point now) {
  uint8_t viewer_pt = config_.payload_types[packet.payloadType() & 0x7F];
  if (viewer_pt == kDrop) return false;

  const uint16_t in_seq = packet.sequenceNumber();
  const uint32_t in_ts = packet.timestamp();
  if (!started_ || packet.ssrc() != source_ssrc_) {
    if (started_) {
      // A new publisher stream: continue right after what the viewer last got, with the
      // timestamp advanced by the wall time that passed (at least one tick).
      auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_out_time_).count();
      uint64_t ticks = elapsed_ms > 0 ? static_cast<uint64_t>(elapsed_ms) * config_.clock_rate / 1000 : 1;
      seq_offset_ = static_cast<uint16_t>(highest_out_seq_ + 1 - in_seq);
      ts_offset_ = static_cast<uint32_t>(last_out_ts_ + (ticks ? ticks : 1) - in_ts);
      // VP8: the new source's pictures continue the numbering the viewer has seen.
      if (config_.vp8) {
        if (const auto in = rtp::readVp8Numbering(packet.payload())) {
          if (in->picture_id && last_picture_id_) {
            picture_id_offset_ = static_cast<uint16_t>(*last_picture_id_ + 1 - *in->picture_id);
          }
          if (in->tl0_pic_idx && last_tl0_) tl0_offset_ = static_cast<uint8_t>(*last_tl0_ + 1 - *in->tl0_pic_idx);
          if (in->key_idx && last_key_idx_) key_idx_offset_ = static_cast<uint8_t>(*last_key_idx_ + 1 - *in->key_idx);
        }
      }
    }
    started_ = true;
    source_ssrc_ = packet.ssrc();
    first_out_seq_of_source_ = static_cast<uint16_t>(in_seq + seq_offset_);
    highest_out_seq_ = static_cast<uint16_t>(first_out_seq_of_source_ - 1);
  }

  const uint16_t out_seq = static_cast<uint16_t>(in_seq + seq_offset_);
  // A reordered packet from before this stream's first one would collide with numbers
  // the viewer already got from the previous stream: drop it.
  if (seqNewer(first_out_seq_of_source_, out_seq)) return false;

  const uint32_t out_ts = in_ts + ts_offset_;
  packet.setPayloadType(viewer_pt);
  packet.setSsrc(config_.ssrc);
  packet.setSequenceNumber(out_seq);
  packet.setTimestamp(out_ts);
  packet.remapExtensionIds(config_.extension_ids);
  std::optional<rtp::Vp8Numbering> vp8;
  if (config_.vp8) {
    vp8 = rtp::readVp8Numbering(packet.payload());
    if (vp8) {
      if (vp8->picture_id) {
        const uint16_t mask = vp8->long_picture_id ? 0x7FFF : 0x7F;
        vp8->picture_id = static_cast<uint16_t>((*vp8->picture_id + picture_id_offset_) & mask);
      }
      if (vp8->tl0_pic_idx) vp8->tl0_pic_idx = static_cast<uint8_t>(*vp8->tl0_pic_idx + tl0_offset_);
      if (vp8->key_idx) vp8->key_idx = static_cast<uint8_t>((*vp8->key_idx + key_idx_offset_) & 0x1F);
      rtp::writeVp8Numbering(packet.payload(), *vp8);
    }
  }
  if (seqNewer(out_seq, highest_out_seq_)) {
    highest_out_seq_ = out_seq;
    last_out_ts_ = out_ts;
    last_out_time_ = now;
    if (vp8) {
      if (vp8->picture_id) last_picture_id_ = vp8->picture_id;
      if (vp8->tl0_pic_idx) last_tl0_ = vp8->tl0_pic_idx;
      if (vp8->key_idx) last_key_idx_ = vp8->key_idx;
    }
  }
  return true;
}

std::optional<uint16_t> RtpRewriter::publisherSequence(uint16_t viewer_sequence) const {
  if (!started_ || seqNewer(first_out_seq_of_source_, viewer_sequence) || seqNewer(viewer_sequence, highest_out_seq_)) {
    return std::nullopt;  // not sent in the current stream
  }
  return static_cast<uint16_t>(viewer_sequence - seq_offset_);
}

}  // namespace liveroom::media

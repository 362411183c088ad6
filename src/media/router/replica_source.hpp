// ReplicaSource: a publisher as the viewers on another media worker see it. It is fed the
// packets the publisher's worker hands over (once per worker, not per viewer) and keeps what a
// viewer asks of its source: the tracks and their layers' state (SSRC, first and last packet,
// bitrate per second), a retransmission buffer per video layer (NACKs are answered here, on the
// viewer's own worker), and a way to ask the publisher's worker for key frames. Built from the
// publisher's SourceDescription; `generation` names that publisher (a new one gets a new
// replica). The replica's worker only.
#pragma once

#include <array>
#include <functional>
#include <memory>

#include "media/router/media_source.hpp"
#include "media/rtp/rtp_packet.hpp"

namespace liveroom::media {

class ReplicaSource final : public MediaSource {
 public:
  // Asks the publisher's worker for a key frame of `layer` (-1: every layer).
  using KeyFrameRequest = std::function<void(int layer)>;
  // Requests for one layer closer together than this become one, sent when the interval ends
  // (the publisher's worker spaces them out too; this keeps a crowd joining at once from posting
  // one each).
  static constexpr std::chrono::milliseconds kKeyFrameRequestSpacing{50};

  ReplicaSource(std::shared_ptr<const SourceDescription> description, uint64_t generation, KeyFrameRequest request);

  uint64_t generation() const noexcept { return generation_; }
  const SourceDescription& description() const noexcept { return *description_; }

  // A packet the publisher's worker forwarded (media or a restored retransmission) of `kind`,
  // layer `layer`.
  void onPacket(sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet, Clock::time_point now);
  // Each layer's bitrate over the time since the last call (about a second).
  void updateBitrates(Clock::time_point now);

  const PublisherTrack* track(sdp::MediaKind kind) const override;
  void requestKeyFrame(Clock::time_point now, int layer) override;
  // Sends the requests held back by the spacing once it has passed (the worker's timer).
  void flushKeyFrameRequests(Clock::time_point now);

 private:
  std::shared_ptr<const SourceDescription> description_;
  uint64_t generation_;
  KeyFrameRequest request_;
  std::optional<PublisherTrack> video_;
  std::optional<PublisherTrack> audio_;
  Clock::time_point last_bitrate_update_{};
  // [0]: every layer, [1..3]: layers 0..2 (more layers are not spaced here).
  std::array<Clock::time_point, 4> last_request_{};
  std::array<bool, 4> pending_{};
};

}  // namespace liveroom::media

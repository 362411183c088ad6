// MediaSource: what a viewer needs of the stream it watches — the publisher's tracks (codec,
// extension ids, simulcast layers and their state), its recent video packets (to answer NACKs)
// and key frames. A PublisherSession is the source of its own worker's viewers; a ReplicaSource
// stands in for it on every other media worker (see media/server/media_worker.hpp). One thread
// only: the worker's.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "media/rtp/nack_generator.hpp"
#include "media/rtp/receive_stats.hpp"
#include "media/rtp/retransmission_buffer.hpp"
#include "media/sdp/negotiation.hpp"

namespace liveroom::media {

// One RTP stream of a track: the only one, or one simulcast layer (its rid).
struct PublisherLayer {
  using Clock = std::chrono::steady_clock;
  std::string rid;                         // "" without simulcast
  bool paused = false;                     // offered as "~rid"
  uint32_t ssrc = 0;                       // learned from the first packet (simulcast: the one carrying its rid)
  uint32_t rtx_ssrc = 0;                   // learned: the repaired-rtp-stream-id (simulcast), else the first RTX stream
  std::optional<rtp::ReceiveStats> stats;  // the publisher's worker only
  std::unique_ptr<rtp::RetransmissionBuffer> buffer;  // video only
  std::optional<rtp::NackGenerator> nack;             // when the publisher negotiated "nack" (its worker only)
  uint64_t rtx_received = 0;                          // retransmissions restored from its RTX stream
  Clock::time_point last_keyframe_request{};
  bool keyframe_request_pending = false;
  // Received bitrate over the last report interval (about a second): how layers are ranked.
  uint64_t bitrate_bps = 0;
  uint64_t bytes_since_report = 0;
  Clock::time_point first_packet{};
  Clock::time_point last_packet{};
};

struct PublisherTrack {
  sdp::MediaKind kind = sdp::MediaKind::kVideo;
  sdp::CodecChoice codec;              // in the publisher's payload-type space
  std::vector<sdp::ExtMap> extmaps;    // the publisher's negotiated extension ids
  std::vector<PublisherLayer> layers;  // one, or the simulcast layers in the offer's order
  uint8_t rid_extension = 0;           // rtp-stream-id extension id (0: not negotiated)
  uint8_t repaired_rid_extension = 0;  // repaired-rtp-stream-id

  bool simulcast() const noexcept { return layers.size() > 1 || (!layers.empty() && !layers[0].rid.empty()); }
  sdp::PublisherCodec publisherCodec() const { return {codec.name, codec.fmtp}; }
};

// What a publisher's offer says it sends, per kind: immutable, shared between media workers.
struct SourceDescription {
  struct Layer {
    std::string rid;
    bool paused = false;
  };
  struct Track {
    sdp::MediaKind kind = sdp::MediaKind::kVideo;
    sdp::CodecChoice codec;
    std::vector<sdp::ExtMap> extmaps;
    std::vector<Layer> layers;  // one without simulcast
  };
  std::optional<Track> video;
  std::optional<Track> audio;

  const std::optional<Track>& track(sdp::MediaKind kind) const {
    return kind == sdp::MediaKind::kVideo ? video : audio;
  }
  // For negotiating a viewer's offer against this publisher.
  std::optional<sdp::PublisherCodec> codec(sdp::MediaKind kind) const;
};

// The first accepted section of each kind of a publisher's offer.
SourceDescription describeSource(const std::vector<sdp::MediaDecision>& decisions);
// A track's state, empty: a retransmission buffer per video layer; a NACK generator per layer
// when `request_retransmissions` and the codec negotiated "nack".
PublisherTrack makePublisherTrack(const SourceDescription::Track& description, bool request_retransmissions);

class MediaSource {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~MediaSource() = default;

  virtual const PublisherTrack* track(sdp::MediaKind kind) const = 0;
  // The publisher-side packet of `layer` with this sequence number, if still buffered (video).
  std::optional<std::span<const uint8_t>> storedPacket(sdp::MediaKind kind, size_t layer, uint16_t sequence,
                                                       Clock::time_point now) const;
  // A key frame of `layer` (-1: every layer), from the publisher's encoder.
  virtual void requestKeyFrame(Clock::time_point now, int layer) = 0;
};

}  // namespace liveroom::media

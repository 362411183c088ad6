// What viewers need of a publisher (see media_source.hpp).
#include "media/router/media_source.hpp"

#include <algorithm>

namespace liveroom::media {

namespace {
bool hasFeedback(const sdp::CodecChoice& codec, std::string_view fb) {
  return std::find(codec.rtcp_fb.begin(), codec.rtcp_fb.end(), fb) != codec.rtcp_fb.end();
}

uint8_t extensionId(const std::vector<sdp::ExtMap>& extmaps, std::string_view uri) {
  for (const sdp::ExtMap& e : extmaps) {
    if (e.uri == uri && e.id > 0 && e.id < 256) return static_cast<uint8_t>(e.id);
  }
  return 0;
}
}  // namespace

std::optional<sdp::PublisherCodec> SourceDescription::codec(sdp::MediaKind kind) const {
  const std::optional<Track>& t = track(kind);
  if (!t) return std::nullopt;
  return sdp::PublisherCodec{t->codec.name, t->codec.fmtp};
}

SourceDescription describeSource(const std::vector<sdp::MediaDecision>& decisions) {
  SourceDescription out;
  for (const sdp::MediaDecision& d : decisions) {
    if (!d.accepted || !d.codec) continue;
    if (d.kind != sdp::MediaKind::kVideo && d.kind != sdp::MediaKind::kAudio) continue;
    std::optional<SourceDescription::Track>& slot = d.kind == sdp::MediaKind::kVideo ? out.video : out.audio;
    if (slot) continue;
    SourceDescription::Track& t = slot.emplace();
    t.kind = d.kind;
    t.codec = *d.codec;
    t.extmaps = d.extmaps;
    if (d.simulcast.empty()) {
      t.layers.emplace_back();
    } else {
      for (const auto& s : d.simulcast) t.layers.push_back({s.rid, s.paused});
    }
  }
  return out;
}

PublisherTrack makePublisherTrack(const SourceDescription::Track& description, bool request_retransmissions) {
  PublisherTrack t;
  t.kind = description.kind;
  t.codec = description.codec;
  t.extmaps = description.extmaps;
  t.rid_extension = extensionId(t.extmaps, sdp::kExtRtpStreamId);
  t.repaired_rid_extension = extensionId(t.extmaps, sdp::kExtRepairedRtpStreamId);
  for (const SourceDescription::Layer& l : description.layers) {
    PublisherLayer& layer = t.layers.emplace_back();
    layer.rid = l.rid;
    layer.paused = l.paused;
    if (t.kind == sdp::MediaKind::kVideo) layer.buffer = std::make_unique<rtp::RetransmissionBuffer>();
    if (request_retransmissions && hasFeedback(t.codec, "nack")) layer.nack.emplace();
  }
  return t;
}

std::optional<std::span<const uint8_t>> MediaSource::storedPacket(sdp::MediaKind kind, size_t layer, uint16_t sequence,
                                                                  Clock::time_point now) const {
  const PublisherTrack* t = track(kind);
  if (t == nullptr || layer >= t->layers.size() || !t->layers[layer].buffer) return std::nullopt;
  return t->layers[layer].buffer->get(sequence, now);
}

}  // namespace liveroom::media

// A publisher seen from another media worker (see replica_source.hpp).
#include "media/router/replica_source.hpp"

namespace liveroom::media {

ReplicaSource::ReplicaSource(std::shared_ptr<const SourceDescription> description, uint64_t generation,
                             KeyFrameRequest request)
    : description_(std::move(description)), generation_(generation), request_(std::move(request)) {
  // NACKs are the publisher's worker's business: no generator here.
  if (description_->video) video_.emplace(makePublisherTrack(*description_->video, false));
  if (description_->audio) audio_.emplace(makePublisherTrack(*description_->audio, false));
}

const PublisherTrack* ReplicaSource::track(sdp::MediaKind kind) const {
  const std::optional<PublisherTrack>& t = kind == sdp::MediaKind::kVideo ? video_ : audio_;
  return t ? &*t : nullptr;
}

void ReplicaSource::onPacket(sdp::MediaKind kind, size_t layer_index, const rtp::RtpPacket& packet,
                             Clock::time_point now) {
  std::optional<PublisherTrack>& t = kind == sdp::MediaKind::kVideo ? video_ : audio_;
  if (!t || layer_index >= t->layers.size()) return;
  PublisherLayer& layer = t->layers[layer_index];
  layer.ssrc = packet.ssrc();
  layer.bytes_since_report += packet.size();
  if (layer.first_packet == Clock::time_point{}) layer.first_packet = now;
  layer.last_packet = now;
  if (layer.buffer) layer.buffer->insert(packet.sequenceNumber(), packet.data(), packet.size(), now);
}

void ReplicaSource::updateBitrates(Clock::time_point now) {
  const bool measured = last_bitrate_update_ != Clock::time_point{} && now > last_bitrate_update_;
  const double seconds = measured ? std::chrono::duration<double>(now - last_bitrate_update_).count() : 0;
  for (std::optional<PublisherTrack>* t : {&video_, &audio_}) {
    if (!*t) continue;
    for (PublisherLayer& layer : (*t)->layers) {
      if (measured)
        layer.bitrate_bps = static_cast<uint64_t>(static_cast<double>(layer.bytes_since_report) * 8 / seconds);
      layer.bytes_since_report = 0;
    }
  }
  last_bitrate_update_ = now;
}

void ReplicaSource::requestKeyFrame(Clock::time_point now, int layer) {
  const size_t slot = layer < 0 ? 0 : static_cast<size_t>(layer) + 1;
  if (slot < last_request_.size()) {
    if (last_request_[slot] != Clock::time_point{} && now - last_request_[slot] < kKeyFrameRequestSpacing) {
      pending_[slot] = true;
      return;
    }
    last_request_[slot] = now;
    pending_[slot] = false;
  }
  if (request_) request_(layer);
}

void ReplicaSource::flushKeyFrameRequests(Clock::time_point now) {
  for (size_t slot = 0; slot < pending_.size(); ++slot) {
    if (!pending_[slot] || now - last_request_[slot] < kKeyFrameRequestSpacing) continue;
    requestKeyFrame(now, static_cast<int>(slot) - 1);
  }
}

}  // namespace liveroom::media

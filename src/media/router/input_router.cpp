// Fan-out of one input on one worker (see input_router.hpp).
#include "media/router/input_router.hpp"

#include <exception>

namespace liveroom::media {

size_t InputRouter::connectedViewers() const {
  return static_cast<size_t>(
      std::count_if(viewers_.begin(), viewers_.end(), [](const ViewerSession* v) { return v->connected(); }));
}

void InputRouter::remove(const Session* session) {
  if (publisher_ == session) publisher_ = nullptr;
  viewers_.erase(std::remove(viewers_.begin(), viewers_.end(), session), viewers_.end());
}

void InputRouter::attachViewers() {
  const MediaSource* from = source();
  if (from == nullptr) return;
  for (ViewerSession* viewer : viewers_) viewer->attachSource(*from);
}

void InputRouter::forward(sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet,
                          Session::Clock::time_point now, bool key_frame_start) {
  forwardLocal(kind, layer, packet, now, key_frame_start);
  if (remote_ != nullptr) remote_->handOff(kind, layer, packet, key_frame_start);
}

void InputRouter::forwardLocal(sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet,
                               Session::Clock::time_point now, bool key_frame_start) {
  if (viewers_.empty()) {
    // Nobody to send to; kept all the same for the first viewer to come (see replayRecentKeyFrame).
    if (kind == sdp::MediaKind::kVideo) remember(layer, packet, key_frame_start, now);
    return;
  }
  if (kind != sdp::MediaKind::kVideo || packet.size() > rtp::RetransmissionBuffer::kMaxPacketSize) {
    sendToViewers(kind, layer, packet, now, key_frame_start);
    return;
  }
  if (layer >= held_.size()) held_.resize(layer + 1);
  HeldFrame& frame = held_[layer];
  if (!frame.packets.empty()) {
    const rtp::RtpPacket& last = frame.packets.back();
    if (packet.ssrc() == last.ssrc() && static_cast<int16_t>(packet.sequenceNumber() - last.sequenceNumber()) <= 0) {
      // Older than what is held (a late retransmission): on its way at once, the frame stays.
      sendToViewers(kind, layer, packet, now, key_frame_start);
      return;
    }
    if (packet.timestamp() != last.timestamp() || packet.ssrc() != last.ssrc()) release(layer, now);
  }
  if (frame.packets.empty() && packet.marker()) {  // a whole frame in one packet
    sendToViewers(kind, layer, packet, now, key_frame_start);
    return;
  }
  if (frame.bytes.empty()) frame.bytes.resize(kMaxHeldPackets);
  if (frame.packets.empty()) frame.since = now;
  const size_t slot = frame.packets.size();
  frame.packets.push_back(packet.copyTo(frame.bytes[slot].data()));
  frame.key_frame_start.push_back(key_frame_start);
  if (packet.marker() || frame.packets.size() == kMaxHeldPackets) release(layer, now);
}

void InputRouter::release(size_t layer, Session::Clock::time_point now) {
  HeldFrame& frame = held_[layer];
  for (size_t i = 0; i < frame.packets.size(); ++i) remember(layer, frame.packets[i], frame.key_frame_start[i], now);
  // Viewer by viewer: each one's packets of the frame leave in a row.
  for (ViewerSession* viewer : viewers_) {
    for (size_t i = 0; i < frame.packets.size(); ++i) {
      try {
        viewer->sendMedia(sdp::MediaKind::kVideo, layer, frame.packets[i], now, frame.key_frame_start[i]);
      } catch (const std::exception& e) {
        viewer->fail(std::string("internal error while forwarding: ") + e.what());
        break;
      }
    }
  }
  frame.packets.clear();
  frame.key_frame_start.clear();
}

void InputRouter::releaseHeld(Session::Clock::time_point now, Session::Clock::duration at_least) {
  for (size_t layer = 0; layer < held_.size(); ++layer) {
    if (!held_[layer].packets.empty() && now - held_[layer].since >= at_least) release(layer, now);
  }
}

size_t InputRouter::heldPackets() const noexcept {
  size_t n = 0;
  for (const HeldFrame& frame : held_) n += frame.packets.size();
  return n;
}

void InputRouter::dropHeld() {
  for (HeldFrame& frame : held_) {
    frame.packets.clear();
    frame.key_frame_start.clear();
  }
  for (RecentFrames& recent : recent_) recent.active = false;  // another publisher's
}

void InputRouter::remember(size_t layer, const rtp::RtpPacket& packet, bool key_frame_start,
                           Session::Clock::time_point now) {
  if (layer >= recent_.size()) recent_.resize(layer + 1);
  RecentFrames& r = recent_[layer];
  if (key_frame_start) {
    r.active = true;
    r.since = now;
    r.packets.clear();
    r.key_frame_start.clear();
  }
  if (!r.active) return;
  const size_t slot = r.packets.size();
  if (slot == kMaxRecentPackets || now - r.since > recent_key_frame_age_ ||
      packet.size() > rtp::RetransmissionBuffer::kMaxPacketSize) {
    r.active = false;  // too long to replay, or a packet we could not keep: wait for the next key frame
    return;
  }
  if (r.bytes.size() <= slot) r.bytes.resize(slot + 1);
  r.bytes[slot].resize(packet.size());  // keeps its capacity from earlier key frames
  r.packets.push_back(packet.copyTo(r.bytes[slot].data()));
  r.key_frame_start.push_back(key_frame_start);
}

bool InputRouter::replayRecentKeyFrame(ViewerSession& viewer, Session::Clock::time_point now) {
  const MediaSource* from = source();
  const PublisherTrack* video = from != nullptr ? from->track(sdp::MediaKind::kVideo) : nullptr;
  if (video == nullptr || video->layers.size() != 1 || recent_.empty()) return false;
  RecentFrames& r = recent_[0];
  if (!r.active || r.packets.empty() || now - r.since > recent_key_frame_age_) return false;
  try {
    for (size_t i = 0; i < r.packets.size(); ++i) {
      viewer.sendMedia(sdp::MediaKind::kVideo, 0, r.packets[i], now, r.key_frame_start[i]);
    }
  } catch (const std::exception& e) {
    viewer.fail(std::string("internal error while forwarding: ") + e.what());
  }
  return true;
}

void InputRouter::sendToViewers(sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet,
                                Session::Clock::time_point now, bool key_frame_start) {
  if (kind == sdp::MediaKind::kVideo) remember(layer, packet, key_frame_start, now);
  for (ViewerSession* viewer : viewers_) {
    // One viewer's failure ends that viewer (retired on the worker's next tick), not the fan-out.
    try {
      viewer->sendMedia(kind, layer, packet, now, key_frame_start);
    } catch (const std::exception& e) {
      viewer->fail(std::string("internal error while forwarding: ") + e.what());
    }
  }
}

void InputRouter::requestKeyFrame(Session::Clock::time_point now, int layer) {
  if (publisher_ != nullptr) {
    if (publisher_->connected()) publisher_->requestKeyFrame(now, layer);
  } else if (replica_) {
    replica_->requestKeyFrame(now, layer);
  }
}

}  // namespace liveroom::media

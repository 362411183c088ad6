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

// InputRouter: one live input (a room's stream): at most one publisher and any number of
// viewers. Fans each publisher packet out to every connected viewer and relays what viewers
// ask of the publisher (key frames, retransmissions). Holds non-owning pointers; the
// MediaServer owns the sessions and detaches them here before they go. Media thread only.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "media/router/publisher_session.hpp"
#include "media/router/viewer_session.hpp"

namespace liveroom::media {

class InputRouter {
 public:
  explicit InputRouter(std::string uid) : uid_(std::move(uid)) {}

  const std::string& uid() const noexcept { return uid_; }
  PublisherSession* publisher() const noexcept { return publisher_; }
  const std::vector<ViewerSession*>& viewers() const noexcept { return viewers_; }
  bool empty() const noexcept { return publisher_ == nullptr && viewers_.empty(); }
  size_t connectedViewers() const;

  void setPublisher(PublisherSession* publisher) { publisher_ = publisher; }
  void addViewer(ViewerSession* viewer) { viewers_.push_back(viewer); }
  void remove(const Session* session);

  // One packet of publisher layer `layer` (0 without simulcast) to every viewer.
  void forward(sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet, Session::Clock::time_point now,
               bool key_frame_start);
  // A key frame of `layer` (-1: every layer) from the publisher.
  void requestKeyFrame(Session::Clock::time_point now, int layer = -1);

 private:
  std::string uid_;
  PublisherSession* publisher_ = nullptr;
  std::vector<ViewerSession*> viewers_;
};

}  // namespace liveroom::media

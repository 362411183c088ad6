// InputRouter: one live input (a room's stream) on one media worker: the publisher when it is on
// this worker, else a ReplicaSource standing in for it, and the viewers on this worker. Fans
// each publisher packet out to every viewer here and, through its RemoteFanout, once to every
// other worker that has viewers of the input; relays what viewers ask of the publisher (key
// frames, retransmissions). Holds non-owning session pointers; the worker owns the sessions and
// detaches them here before they go. The worker's thread only.
//
// Video goes out a frame at a time: a layer's packets are held until the frame's last one (the
// marker bit; or a packet of the next frame, 32 packets, or the worker's tick) and then sent
// viewer by viewer, so each viewer's packets of one frame leave in a row and the send batch
// hands them to the kernel as one UDP GSO message. A viewer cannot decode a frame before its
// last packet, so holding its first ones costs no latency; audio and out-of-order packets (late
// retransmissions) are not held.
//
// It also keeps what it sent of the video since the latest key frame, for half a second: a viewer
// that connects then gets that key frame and what followed at once, instead of asking the
// publisher for a new one (which a browser encoder may ignore for 300 ms after the last).
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "media/router/publisher_session.hpp"
#include "media/router/replica_source.hpp"
#include "media/rtp/retransmission_buffer.hpp"
#include "media/router/viewer_session.hpp"

namespace liveroom::media {

class InputRouter {
 public:
  // Where a publisher's packets go beyond this worker (see MediaWorker).
  class RemoteFanout {
   public:
    virtual ~RemoteFanout() = default;
    virtual void handOff(sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet, bool key_frame_start) = 0;
  };

  static constexpr std::chrono::milliseconds kRecentKeyFrameAge{500};

  explicit InputRouter(std::string uid, RemoteFanout* remote = nullptr,
                       std::chrono::milliseconds recent_key_frame_age = kRecentKeyFrameAge)
      : uid_(std::move(uid)), remote_(remote), recent_key_frame_age_(recent_key_frame_age) {}

  const std::string& uid() const noexcept { return uid_; }
  // The publisher, when it is on this worker.
  PublisherSession* publisher() const noexcept { return publisher_; }
  // What the viewers here watch: the publisher, or its replica, or nothing yet.
  MediaSource* source() const noexcept {
    return publisher_ != nullptr ? static_cast<MediaSource*>(publisher_) : replica_.get();
  }
  ReplicaSource* replica() const noexcept { return replica_.get(); }
  const std::vector<ViewerSession*>& viewers() const noexcept { return viewers_; }
  bool empty() const noexcept { return publisher_ == nullptr && viewers_.empty(); }
  size_t connectedViewers() const;

  void setPublisher(PublisherSession* publisher) {
    publisher_ = publisher;
    if (publisher != nullptr) replica_.reset();
    dropHeld();
  }
  // A publisher on another worker (null: none), replacing the one before.
  void setReplica(std::unique_ptr<ReplicaSource> replica) {
    replica_ = std::move(replica);
    dropHeld();
  }
  void addViewer(ViewerSession* viewer) { viewers_.push_back(viewer); }
  void remove(const Session* session);
  // Points every viewer here at the current source.
  void attachViewers();

  // One packet of publisher layer `layer` (0 without simulcast): to every viewer here, and to the
  // other workers (the publisher's worker only).
  void forward(sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet, Session::Clock::time_point now,
               bool key_frame_start);
  // To the viewers here only (a packet handed over from the publisher's worker).
  void forwardLocal(sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet, Session::Clock::time_point now,
                    bool key_frame_start);
  // A key frame of `layer` (-1: every layer) from the publisher, wherever it is.
  void requestKeyFrame(Session::Clock::time_point now, int layer = -1);
  // Sends what has been held for `at_least` or longer (a frame whose last packet never came).
  void releaseHeld(Session::Clock::time_point now, Session::Clock::duration at_least);
  // Video packets held now (every layer).
  size_t heldPackets() const noexcept;
  // A viewer that just connected: sends it the latest key frame and what followed, if that key
  // frame went out less than the recent key frame age ago (kRecentKeyFrameAge unless told; one
  // video layer only: a simulcast viewer's layer is chosen later). False when there is none: ask
  // the publisher for a key frame.
  bool replayRecentKeyFrame(ViewerSession& viewer, Session::Clock::time_point now);

  static constexpr size_t kMaxRecentPackets = 256;

  static constexpr size_t kMaxHeldPackets = 32;  // per layer; a larger frame goes in parts

 private:
  struct HeldFrame {
    // Copies (the caller's packet is gone after forwardLocal), each parsed once.
    std::vector<std::array<uint8_t, rtp::RetransmissionBuffer::kMaxPacketSize>> bytes;
    std::vector<rtp::RtpPacket> packets;
    std::vector<bool> key_frame_start;
    Session::Clock::time_point since{};
  };
  // What went out since a layer's latest key frame (copies sized to each packet).
  struct RecentFrames {
    std::vector<std::vector<uint8_t>> bytes;
    std::vector<rtp::RtpPacket> packets;
    std::vector<bool> key_frame_start;
    Session::Clock::time_point since{};
    bool active = false;  // from a key frame on, until too old or too long
  };
  void remember(size_t layer, const rtp::RtpPacket& packet, bool key_frame_start, Session::Clock::time_point now);
  void sendToViewers(sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet, Session::Clock::time_point now,
                     bool key_frame_start);
  void release(size_t layer, Session::Clock::time_point now);
  void dropHeld();

  std::string uid_;
  RemoteFanout* remote_;
  std::chrono::milliseconds recent_key_frame_age_;
  PublisherSession* publisher_ = nullptr;
  std::unique_ptr<ReplicaSource> replica_;
  std::vector<ViewerSession*> viewers_;
  std::vector<HeldFrame> held_;       // by video layer
  std::vector<RecentFrames> recent_;  // by video layer
};

}  // namespace liveroom::media

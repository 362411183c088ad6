// MediaWorker: one media thread of the embedded media server, with its own io_context, its own
// ports (PacketMux: a UDP port and an ICE-TCP port of its own), its sessions and, per input with
// sessions here, an InputRouter. A publisher's packets reach the viewers on its worker directly
// and every other worker holding viewers of the input through a WorkerLink, once per worker;
// there a ReplicaSource stands in for the publisher (NACKs answered from its buffer, key-frame
// requests posted back). MediaServer (the registry) places sessions and calls the methods below
// on the worker's thread (post()); the worker tells it of sessions that end and of what the
// rooms' listener must hear through WorkerHost. Nothing inside takes a lock except the hub's
// description (once per publisher per worker).
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "media/dtls/dtls_transport.hpp"
#include "media/router/input_router.hpp"
#include "media/sdp/answer_builder.hpp"
#include "media/server/input_hub.hpp"
#include "media/server/media_sessions.hpp"
#include "media/server/worker_link.hpp"
#include "media/transport/packet_mux.hpp"

namespace liveroom::media {

class MediaWorker;

// What a worker tells the registry (MediaServer). Called on the worker's thread.
class WorkerHost {
 public:
  virtual ~WorkerHost() = default;
  virtual void onSessionGone(size_t worker, const std::string& session_id) = 0;
  virtual void onPublisherLive(InputHub& hub, const std::string& session_id, bool live) = 0;
  virtual void onViewersHere(InputHub& hub, size_t worker, size_t connected) = 0;
  virtual void onSessionFailed() = 0;
  virtual MediaWorker& worker(size_t index) = 0;
};

struct MediaWorkerOptions {
  size_t index = 0;
  PacketMuxOptions mux;
  std::vector<std::string> advertised_addresses;  // empty: every interface address (see MediaServer)
  uint64_t remb_bps = 10'000'000;
  bool publisher_nack = true;
  uint64_t viewer_retransmit_bps = 2'000'000;
  std::chrono::milliseconds ice_connect_timeout{10'000};
  // A viewer that connects this soon after a key frame gets it replayed (InputRouter).
  std::chrono::milliseconds recent_key_frame_age = InputRouter::kRecentKeyFrameAge;
  // The time as the worker and its sessions read it (MediaServerOptions::clock).
  Session::ClockFunction clock = [] { return Session::Clock::now(); };
};

class MediaWorker final : private SessionEvents {
 public:
  using Clock = Session::Clock;

  // Binds the worker's ports (throws std::runtime_error naming them) and starts its thread.
  MediaWorker(MediaWorkerOptions options, WorkerHost& host, const DtlsContext& dtls);
  ~MediaWorker() override;
  MediaWorker(const MediaWorker&) = delete;
  MediaWorker& operator=(const MediaWorker&) = delete;

  size_t index() const noexcept { return options_.index; }
  uint16_t udpPort() const noexcept { return udp_port_; }
  std::optional<uint16_t> tcpPort() const noexcept { return tcp_port_; }
  bool ipv6() const noexcept { return ipv6_; }
  const std::vector<std::string>& advertisedAddresses() const noexcept { return addresses_; }
  // The worker whose thread calls this, or null.
  static MediaWorker* current() noexcept;

  // Runs `f` on the worker's thread.
  template <typename F>
  void post(F&& f) {
    boost::asio::post(ioc_, std::forward<F>(f));
  }

  // --- on the worker's thread ---------------------------------------------------------------
  struct PublisherSetup {
    std::string id;
    std::shared_ptr<InputHub> hub;
    uint64_t generation = 0;
    std::shared_ptr<const SourceDescription> source;
    WebRtcTransport::RemoteParameters remote;
    std::string client_key;
  };
  struct ViewerSetup {
    std::string id;
    std::shared_ptr<InputHub> hub;
    std::vector<ViewerTrack> tracks;
    WebRtcTransport::RemoteParameters remote;
    std::string client_key;
  };
  // A new session and its SDP answer; throws (std::invalid_argument for a bad offer).
  SessionAnswer createPublisher(PublisherSetup setup, const sdp::SessionDescription& offer,
                                std::vector<sdp::AnswerSection> sections);
  SessionAnswer createViewer(ViewerSetup setup, const sdp::SessionDescription& offer,
                             std::vector<sdp::AnswerSection> sections);
  Session* find(const std::string& session_id);
  // Ends a session here (DELETE, a replaced publisher, the room's end): false when not here.
  bool end(const std::string& session_id);
  void endInput(uint64_t hub_id);
  // Ends every session of one role (shutdown: viewers first, then publishers); from then on
  // the worker makes no new session.
  void endAll(Session::Role role);
  // The sdpfrag of an ICE-restart reply (our new credentials and candidates).
  std::string iceRestartFragment(Session& session) const;

  struct Stats {
    size_t sessions = 0;
    size_t publishers = 0;
    size_t viewers = 0;  // viewer sessions here (connected or not)
    size_t inputs = 0;
    uint64_t retransmissions = 0;
    uint64_t retransmissions_refused = 0;
    uint64_t publisher_nacked = 0;
    uint64_t publisher_recovered = 0;
    uint64_t handoff_sent = 0;      // packets pushed to other workers (one per packet per worker)
    uint64_t handoff_dropped = 0;   // a full link
    uint64_t handoff_received = 0;  // packets taken from other workers' links
    // Every session this worker ever held, since start (open ones plus those gone).
    MediaCounters counters;
    PacketMux::Stats transport;
  };
  Stats collectStats() const;
  // The last stats the worker's timer took (every 250 ms), for callers on another worker's thread.
  Stats snapshot() const;

  // Stops the loop after closing every session (no events); joins the thread.
  void stop();

 private:
  struct LocalInput final : InputRouter::RemoteFanout {
    LocalInput(MediaWorker& w, std::shared_ptr<InputHub> h)
        : worker(w), hub(std::move(h)), router(hub->uid, this, w.options_.recent_key_frame_age) {}
    void handOff(sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet, bool key_frame_start) override {
      worker.handOff(*hub, generation, kind, layer, packet, key_frame_start);
    }
    MediaWorker& worker;
    std::shared_ptr<InputHub> hub;
    InputRouter router;
    uint64_t generation = 0;  // of the publisher here, if any
  };

  void onSessionConnected(Session& session) override;
  void onSessionClosed(Session& session, const std::string& reason) override;

  LocalInput& input(const std::shared_ptr<InputHub>& hub);
  LocalInput* inputOf(const Session& session);
  void dropInputIfEmpty(LocalInput& input);
  // Replaces the input's replica with one of publisher `generation` (when still current) and
  // points the viewers here at it.
  void refreshReplica(LocalInput& input, uint64_t generation);
  void handOff(InputHub& hub, uint64_t generation, sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet,
               bool key_frame_start);
  void drain(WorkerLink& link);
  void take(const HandedPacket& packet, Clock::time_point now);
  void askPublisherForKeyFrame(const std::shared_ptr<InputHub>& hub, int layer);
  Session& adopt(std::unique_ptr<Session> session, const std::string& client_key, uint64_t hub_id);
  SessionAnswer answerFor(Session& session, const sdp::SessionDescription& offer,
                          std::vector<sdp::AnswerSection> sections) const;
  std::vector<sdp::LocalCandidate> candidates() const;
  void retire(Session& session);
  void logRepairs(const PublisherSession& publisher) const;
  void reportViewers(LocalInput& input);
  void scheduleTimer();
  void onTimer();

  MediaWorkerOptions options_;
  WorkerHost& host_;
  const DtlsContext& dtls_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<PacketMux> mux_;
  uint16_t udp_port_ = 0;
  std::optional<uint16_t> tcp_port_;
  bool ipv6_ = false;
  std::vector<std::string> addresses_;
  std::unordered_map<std::string, std::unique_ptr<Session>> sessions_;
  std::unordered_map<uint64_t, std::unique_ptr<LocalInput>> inputs_;  // by InputHub::id
  std::unordered_map<const Session*, uint64_t> input_of_;             // each session's input
  std::vector<std::unique_ptr<Session>> retired_;
  std::vector<Session*> scratch_;
  std::vector<std::unique_ptr<WorkerLink>> links_;  // to worker w, made on first use
  uint64_t handoff_received_ = 0;
  MediaCounters retired_counters_;  // of sessions gone
  bool closing_ = false;            // endAll ran (shutdown): no new sessions
  boost::asio::steady_timer timer_;
  uint64_t timer_ticks_ = 0;
  mutable std::mutex snapshot_mutex_;
  Stats snapshot_;
  std::thread thread_;
};

// Adds one worker's figures to a total (buffer sizes: the largest).
void addWorkerStats(MediaWorker::Stats& total, const MediaWorker::Stats& s);

}  // namespace liveroom::media

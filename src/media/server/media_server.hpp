// MediaServer: the embedded WHIP/WHEP media server: a registry in front of N media workers
// (MediaWorker: a thread with its own io_context, ports, sessions), like mediasoup's workers
// in-process. The HTTP side calls the thread-safe methods below from any thread: offers are
// parsed and negotiated on the caller's thread (offer_negotiation.hpp, pure), admitted against
// the limits under the registry's mutex, and the session is made on the least-loaded worker, which answers through
// the callback (on its thread). A room's viewers spread over every worker; its publisher's
// worker hands each packet once to each worker holding viewers (see media_worker.hpp). It
// knows nothing of rooms: an input is a uid.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include <mutex>

#include "common/error.hpp"
#include "media/dtls/dtls_transport.hpp"
#include "media/server/input_hub.hpp"
#include "media/server/media_sessions.hpp"
#include "media/server/media_worker.hpp"

namespace liveroom::media {

// Its errors carry codes of common/error.hpp (codes::kInvalidSdp, kPublisherExists, ...).

struct MediaServerOptions {
  // 0.0.0.0: every IPv4 address, and every IPv6 one when the host has IPv6 (see PacketMux).
  std::string bind_address = "0.0.0.0";
  // Media threads, each with its own ports (1..64).
  size_t workers = 1;
  // UDP; worker i takes port + i; 0: any free port for each (tests).
  uint16_t port = 8189;
  // ICE-TCP (RFC 6544 passive candidates) for networks that block UDP; nullopt: off; 0: each
  // worker's UDP port number if free, else any; else worker i takes tcp_port + i.
  std::optional<uint16_t> tcp_port;
  // Addresses put in answers as host candidates (IPv4 or IPv6); empty: every address of the
  // machine's interfaces (loopback last) when bound to 0.0.0.0, else the bound address.
  std::vector<std::string> advertised_addresses;
  // REMB sent to publishers that negotiated goog-remb: a cap for their encoder, not a target.
  uint64_t remb_bps = 10'000'000;
  // A publisher silent this long may be replaced by a new one (a crashed tab, a lost
  // network) instead of the new one getting publisher_exists until consent expires.
  std::chrono::seconds publisher_takeover_after{5};
  // Limits on what strangers can make the server hold. 0: no limit.
  size_t max_sessions = 4000;            // WHIP + WHEP sessions at once
  size_t max_sessions_per_input = 0;     // on one input (a room), its publisher included
  size_t max_sessions_per_client = 100;  // created by one client address (see publish/play)
  // A session whose peer never completes ICE is dropped after this long.
  std::chrono::milliseconds ice_connect_timeout{10'000};
  // Ask publishers to resend lost packets (NACK, RTX); off only to measure what it buys.
  bool publisher_nack = true;
  // What one viewer's NACKs may make the server resend (RetransmissionLimiter).
  uint64_t viewer_retransmit_bps = 2'000'000;
  size_t socket_buffer_bytes = 8 << 20;  // SO_RCVBUF/SO_SNDBUF of the UDP sockets (0: system default)
  bool udp_gso = true;                   // UDP GSO where the kernel has it (see SendBatch)
  // A viewer that connects this soon after a key frame gets that key frame and what followed at
  // once (InputRouter); later, the publisher is asked for a new one.
  std::chrono::milliseconds recent_key_frame_age = InputRouter::kRecentKeyFrameAge;
  // A viewer goes to a worker that already carries its room (and can replay the latest key frame
  // to it) when that worker has at most this many sessions more than the least loaded.
  size_t viewer_placement_slack = 2;
  // Where every session, worker and the registry read the time (steady_clock): tests step it
  // instead of sleeping through rate-limit windows. Sockets and DTLS retransmissions keep their
  // own (real) timers.
  Session::ClockFunction clock = [] { return Session::Clock::now(); };
};

class MediaServer final : public MediaSessions, private WorkerHost {
 public:
  // Called on a media worker's thread, one call at a time, in order: do not block (post
  // elsewhere for I/O). A room's viewer count is the sum over every worker.
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void onPublisherLive(const std::string& input_uid, bool live) = 0;
    virtual void onViewerCount(const std::string& input_uid, size_t viewers) = 0;
  };

  // Binds every worker's ports and starts their threads. Throws std::runtime_error naming the
  // address when a port cannot be bound. `listener` may be null and must outlive this.
  MediaServer(MediaServerOptions options, Listener* listener);
  ~MediaServer() override;  // closes every session, stops the threads

  MediaServer(const MediaServer&) = delete;
  MediaServer& operator=(const MediaServer&) = delete;

  size_t workerCount() const noexcept { return workers_.size(); }
  uint16_t port() const noexcept { return workers_.front()->udpPort(); }  // the first worker's
  std::optional<uint16_t> tcpPort() const noexcept { return workers_.front()->tcpPort(); }
  std::vector<uint16_t> ports() const;     // UDP, per worker
  std::vector<uint16_t> tcpPorts() const;  // ICE-TCP, per worker (empty: off)
  const std::vector<std::string>& advertisedAddresses() const noexcept {
    return workers_.front()->advertisedAddresses();
  }

  // MediaSessions (see media_sessions.hpp).
  void publish(std::string input_uid, std::string offer, AnswerCallback done, std::string client_key = {}) override;
  void play(std::string input_uid, std::string offer, AnswerCallback done, std::string client_key = {}) override;
  void patch(std::string session_id, std::optional<std::string> if_match, std::string fragment,
             PatchCallback done) override;
  void remove(std::string session_id, std::function<void(bool)> done) override;
  void closeInput(std::string input_uid) override;
  std::vector<std::string> inputUids() override;

  // Ends every session through the normal path, so the listener hears what it would if each
  // peer had left (publishers not live, viewer counts down), then refuses new sessions. Blocks
  // until done; idempotent. The destructor calls it.
  void shutdown();

  struct Stats {
    size_t sessions = 0;
    size_t inputs = 0;
    uint64_t retransmissions = 0;          // packets resent on viewers' NACKs (sessions open now)
    uint64_t retransmissions_refused = 0;  // asked again within an RTT, or over the budget
    uint64_t publisher_nacked = 0;         // sequence numbers asked of publishers (sessions open now)
    uint64_t publisher_recovered = 0;      // of those, packets that came back
    uint64_t sessions_refused = 0;         // over a session limit, since start
    uint64_t sessions_failed = 0;          // ended by an internal error, since start
    // Every session since start (packets, bytes, NACKs, PLIs, retransmissions, loss).
    MediaCounters counters;
    // Every port together: unrouted datagrams, TCP connections, UDP datagrams and system calls
    // both ways, the kernel's drops (SO_RXQ_OVFL), sends dropped on a full buffer, the buffers.
    PacketMux::Stats transport;
    // Each worker's own figures (sessions, viewers, hand-offs between workers, its ports).
    std::vector<MediaWorker::Stats> workers;
  };
  // Asks every worker (blocks until they answer). From a worker's thread (a listener asking),
  // or after shutdown, other workers' figures are their last snapshot (at most 250 ms old).
  Stats stats();

 private:
  struct SessionEntry {
    size_t worker = 0;
    std::shared_ptr<InputHub> hub;
    Session::Role role = Session::Role::Viewer;
    std::string client_key;
  };

  // WorkerHost
  void onSessionGone(size_t worker, const std::string& session_id) override;
  void onPublisherLive(InputHub& hub, const std::string& session_id, bool live) override;
  void onViewersHere(InputHub& hub, size_t worker, size_t connected) override;
  void onSessionFailed() override { sessions_failed_.fetch_add(1); }
  MediaWorker& worker(size_t index) override { return *workers_[index]; }

  // Registry (mutex_ held): throws media_busy / too_many_sessions when one more session would
  // break a limit; the least-loaded worker (for a viewer of `viewer_of`, one that carries that
  // input if not much busier); a new entry.
  void admit(size_t sessions_on_input, const std::string& client_key, bool replaces_one);
  size_t pickWorker(const InputHub* viewer_of = nullptr) const;
  std::shared_ptr<InputHub> hubFor(const std::string& input_uid);
  void registerSession(const std::string& id, size_t worker, const std::shared_ptr<InputHub>& hub, Session::Role role,
                       const std::string& client_key);
  // Undoes registerSession for a session its worker could not make.
  void forget(const std::string& id);
  void forgetLocked(const std::string& id);
  void doPublish(std::string input_uid, const std::string& offer_text, AnswerCallback& done, std::string client_key);
  void doPlay(std::string input_uid, const std::string& offer_text, AnswerCallback& done, std::string client_key);
  // Makes a registered session on its worker (`create` there), answers `done`; forgets it on failure.
  template <typename Setup, typename Create>
  void makeOnWorker(size_t worker, const char* what, Setup setup, std::shared_ptr<const sdp::SessionDescription> offer,
                    std::vector<sdp::AnswerSection> sections, AnswerCallback done, Create create);
  // Runs `f` on every worker and waits for all of them.
  template <typename F>
  void onEveryWorker(F f);

  MediaServerOptions options_;
  Listener* listener_;
  DtlsContext dtls_;  // one SSL_CTX for every session of every worker (SSL_new per session)
  std::vector<std::unique_ptr<MediaWorker>> workers_;

  std::mutex mutex_;  // the registry:
  std::unordered_map<std::string, SessionEntry> sessions_;
  std::unordered_map<std::string, std::shared_ptr<InputHub>> hubs_;
  std::unordered_map<std::string, size_t> sessions_by_client_;
  std::vector<size_t> sessions_on_worker_;
  uint64_t next_hub_id_ = 1;
  bool shutting_down_ = false;

  std::mutex notify_mutex_;  // the listener hears one event at a time, in order
  std::atomic<uint64_t> sessions_refused_{0};
  std::atomic<uint64_t> sessions_failed_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace liveroom::media

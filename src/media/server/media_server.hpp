// MediaServer: the embedded WHIP/WHEP media server behind one UDP port, run on one media
// thread with its own io_context (a mediasoup worker, in-process). The HTTP side calls the
// thread-safe methods below from any thread; each posts onto the media thread and answers
// through its callback, called on the media thread. Sessions, inputs and routing live only on
// that thread, so nothing inside takes a lock. It knows nothing of rooms: an input is a uid.
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

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/error.hpp"
#include "media/dtls/dtls_transport.hpp"
#include "media/router/input_router.hpp"
#include "media/router/publisher_session.hpp"
#include "media/router/session.hpp"
#include "media/sdp/answer_builder.hpp"
#include "media/transport/packet_mux.hpp"

namespace liveroom::media {

// Error codes of the media server (liveroom::Error::code()); api/errors.cpp maps them.
namespace codes {
inline constexpr const char* kInvalidSdp = "invalid_sdp";                  // 400
inline constexpr const char* kSessionNotFound = "session_not_found";       // 404
inline constexpr const char* kPublisherExists = "publisher_exists";        // 409
inline constexpr const char* kPreconditionFailed = "precondition_failed";  // 412
inline constexpr const char* kUnsupportedCodec = "unsupported_codec";      // 422
inline constexpr const char* kMediaUnavailable = "media_unavailable";      // 503
inline constexpr const char* kMediaBusy = "media_busy";                    // 503: a session limit
inline constexpr const char* kTooManySessions = "too_many_sessions";       // 429: one address's limit
}  // namespace codes

struct MediaServerOptions {
  // 0.0.0.0: every IPv4 address, and every IPv6 one when the host has IPv6 (see PacketMux).
  std::string bind_address = "0.0.0.0";
  uint16_t port = 8189;  // UDP; 0: any free port (tests)
  // ICE-TCP (RFC 6544 passive candidates) for networks that block UDP; nullopt: off; 0: the UDP
  // port's number if free, else any.
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
};

struct SessionAnswer {
  std::string session_id;  // 32 hex digits, unguessable: the Location names it
  std::string etag;
  std::string sdp;
};

class MediaServer final : private SessionEvents {
 public:
  // Called on the media thread: do not block (post elsewhere for I/O).
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void onPublisherLive(const std::string& input_uid, bool live) = 0;
    virtual void onViewerCount(const std::string& input_uid, size_t viewers) = 0;
  };

  using AnswerCallback = std::function<void(std::variant<SessionAnswer, Error>)>;
  // A PATCH's outcome: the (new) ETag, and after an ICE restart the sdpfrag with our new
  // credentials (the 200 body); empty for a trickle (204).
  struct PatchResult {
    std::string etag;
    std::string fragment;
  };
  using PatchCallback = std::function<void(std::variant<PatchResult, Error>)>;

  // Binds the UDP port and starts the media thread. Throws std::runtime_error naming the
  // address when the port cannot be bound. `listener` may be null and must outlive this.
  MediaServer(MediaServerOptions options, Listener* listener);
  ~MediaServer() override;  // closes every session, stops the thread

  MediaServer(const MediaServer&) = delete;
  MediaServer& operator=(const MediaServer&) = delete;

  uint16_t port() const noexcept { return port_; }
  std::optional<uint16_t> tcpPort() const noexcept { return tcp_port_; }
  const std::vector<std::string>& advertisedAddresses() const noexcept { return addresses_; }

  // WHIP: a publisher's offer for `input_uid` -> answer, or invalid_sdp, unsupported_codec,
  // publisher_exists; media_busy over the total or per-input session limit, too_many_sessions
  // over the limit of `client_key` (the requester's address; empty: not counted).
  void publish(std::string input_uid, std::string offer, AnswerCallback done, std::string client_key = {});
  // WHEP: a viewer's offer. Without a publisher yet the viewer waits (gets media once one
  // connects); with one, a viewer that cannot receive its codec gets unsupported_codec. Limits
  // as for publish.
  void play(std::string input_uid, std::string offer, AnswerCallback done, std::string client_key = {});
  // Trickle ICE (application/trickle-ice-sdpfrag): candidates are accepted (an ICE-lite agent
  // learns addresses from the checks anyway); new ice-ufrag/ice-pwd restart ICE (the result
  // carries our new credentials); a stale If-Match is precondition_failed; an unknown session
  // session_not_found.
  void patch(std::string session_id, std::optional<std::string> if_match, std::string fragment, PatchCallback done);
  // Ends a session (DELETE); false when unknown.
  void remove(std::string session_id, std::function<void(bool)> done);
  // Ends every session of an input (the room ended).
  void closeInput(std::string input_uid);

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
    // The ports: unrouted datagrams, TCP connections, UDP datagrams and system calls both ways,
    // the kernel's drops (SO_RXQ_OVFL), sends dropped on a full buffer, the buffers granted.
    PacketMux::Stats transport;
  };
  // Answers from the media thread (blocks until it does); from the media thread itself, or after
  // shutdown, answers at once.
  Stats stats();

 private:
  void onSessionConnected(Session& session) override;
  void onSessionClosed(Session& session, const std::string& reason) override;

  using OfferHandler = SessionAnswer (MediaServer::*)(const std::string& input_uid, const std::string& offer,
                                                      const std::string& client_key);
  // Runs `handler` on the media thread and answers `done` with its answer or error.
  void answerOnMediaThread(const char* what, OfferHandler handler, std::string input_uid, std::string offer,
                           AnswerCallback done, std::string client_key);
  // Throws media_busy / too_many_sessions when one more session would break a limit.
  void admit(const std::string& input_uid, const std::string& client_key, bool replaces_one);
  // Registers a new session (limits bookkeeping, ICE timeout) and returns it.
  Session& adopt(std::unique_ptr<Session> session, const std::string& client_key);
  Stats collectStats() const;
  // The SDP answer of a new session (its ICE credentials, fingerprint and our candidates).
  SessionAnswer answerFor(Session& session, const sdp::SessionDescription& offer,
                          std::vector<sdp::AnswerSection> sections) const;
  SessionAnswer doPublish(const std::string& input_uid, const std::string& offer, const std::string& client_key);
  SessionAnswer doPlay(const std::string& input_uid, const std::string& offer, const std::string& client_key);
  PatchResult doPatch(const std::string& session_id, const std::optional<std::string>& if_match,
                      const std::string& fragment);
  // Detaches a closed session from its input, tells the listener, destroys it later.
  void retire(Session& session);
  // What loss repair did for a publisher that leaves (one log line per video layer).
  void logRepairs(const PublisherSession& publisher) const;
  InputRouter& router(const std::string& input_uid);
  void dropRouterIfEmpty(const std::string& input_uid);
  std::vector<sdp::LocalCandidate> candidates() const;
  void scheduleTimer();
  void onTimer();
  void notifyViewers(const InputRouter& router);

  MediaServerOptions options_;
  Listener* listener_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<PacketMux> mux_;
  uint16_t port_ = 0;
  std::optional<uint16_t> tcp_port_;
  bool ipv6_ = false;
  std::vector<std::string> addresses_;
  DtlsContext dtls_;  // one SSL_CTX for every session (SSL_new per session)
  std::unordered_map<std::string, std::unique_ptr<Session>> sessions_;
  std::unordered_map<std::string, std::unique_ptr<InputRouter>> routers_;
  std::vector<std::unique_ptr<Session>> retired_;
  std::vector<Session*> scratch_;
  std::unordered_map<std::string, size_t> sessions_by_client_;
  uint64_t sessions_refused_ = 0;
  uint64_t sessions_failed_ = 0;
  bool shutting_down_ = false;        // media thread only
  std::atomic<bool> stopped_{false};  // the media thread has finished
  boost::asio::steady_timer timer_;
  uint64_t timer_ticks_ = 0;
  std::thread thread_;
};

// The machine's interface addresses (up, not link-local), IPv4 first, then IPv6 when `ipv6`,
// loopback last.
std::vector<std::string> localInterfaceAddresses(bool ipv6 = false);

}  // namespace liveroom::media

// Session: one WHIP publisher's or WHEP viewer's peer connection on the media server: its
// WebRtcTransport plus the ids the HTTP side knows it by (session id in the Location URL,
// ETag). PublisherSession and ViewerSession add the media roles; the owner (MediaServer)
// learns of connection and loss through SessionEvents. Lives on the media thread.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/random.hpp"
#include "media/webrtc/webrtc_transport.hpp"

namespace liveroom::media {

class Session;

// What one session (or many, summed) moved and asked for since it began: the media counters of
// /metrics. Transport figures come from WebRtcTransport; the rest from the role.
struct MediaCounters {
  WebRtcTransport::Counters transport;       // packets and bytes both ways
  uint64_t nacks_received = 0;               // sequence numbers viewers asked to have again
  uint64_t retransmissions = 0;              // packets resent to viewers on those NACKs
  uint64_t retransmissions_refused = 0;      // NACKs not answered (asked again within an RTT, or over budget)
  uint64_t key_frame_requests_received = 0;  // PLI/FIR from viewers
  uint64_t plis_sent = 0;                    // key-frame requests sent to publishers
  uint64_t nacks_sent = 0;                   // sequence numbers asked of publishers (missing on the way in)
  uint64_t recovered = 0;                    // of those, packets that came back
  uint64_t lost = 0;                         // publishers' packets given up on (never came back)
  MediaCounters& operator+=(const MediaCounters& o) noexcept;
};

class SessionEvents {
 public:
  virtual ~SessionEvents() = default;
  virtual void onSessionConnected(Session& session) = 0;
  // The peer left (ICE consent expired, DTLS close_notify or failure). Not called for close().
  virtual void onSessionClosed(Session& session, const std::string& reason) = 0;
};

class Session : protected WebRtcTransport::Listener {
 public:
  using Clock = std::chrono::steady_clock;
  // Where the session reads the time (the media server's clock: MediaServerOptions::clock).
  using ClockFunction = WebRtcTransport::ClockFunction;
  enum class Role { Publisher, Viewer };

  ~Session() override = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Role role() const noexcept { return role_; }
  const std::string& id() const noexcept { return id_; }
  const std::string& inputUid() const noexcept { return input_uid_; }
  const std::string& etag() const noexcept { return etag_; }
  // The peer's ICE credentials from its offer (a PATCH with others is an ICE restart).
  const std::string& remoteUfrag() const noexcept { return remote_ufrag_; }
  const std::string& remotePwd() const noexcept { return remote_pwd_; }
  WebRtcTransport& transport() noexcept { return *transport_; }
  const WebRtcTransport& transport() const noexcept { return *transport_; }
  bool connected() const noexcept { return transport_->state() == WebRtcTransport::State::Connected; }
  bool closed() const noexcept { return closed_; }
  // Whether the transport ever connected (a viewer is counted from then until it goes).
  bool everConnected() const noexcept { return ever_connected_; }
  // When the peer last sent RTP or RTCP (or the session was created).
  Clock::time_point lastMedia() const noexcept { return last_media_; }

  // Local close: DTLS close_notify, no SessionEvents.
  void close();
  // Close after an internal error in this session alone (an exception on the media thread):
  // like close(), and the owner retires it on its next timer tick.
  void fail(std::string reason);
  const std::optional<std::string>& failure() const noexcept { return failure_; }
  // Who asked for the session (the WHIP/WHEP client's address key), for per-address limits.
  const std::string& clientKey() const noexcept { return client_key_; }
  void setClientKey(std::string key) { client_key_ = std::move(key); }
  void tick(Clock::time_point now) { transport_->tick(now); }
  // Since the session began: its transport's packets and bytes, plus what its role counts.
  virtual MediaCounters counters() const;
  // The worker's timer (every 50 ms): what the role sends on its own — a publisher its
  // transport-cc feedback, NACKs and deferred key-frame requests — and, with `report` (every
  // second), its RTCP reports.
  virtual void onTimer(Clock::time_point now, bool report) = 0;

  // The first bundled m-section of the answer, which an ICE-restart reply names (its mid).
  struct BundleHead {
    std::string kind_name;
    std::string proto;
    std::string mid;
  };
  const BundleHead& bundleHead() const noexcept { return bundle_head_; }
  void setBundleHead(BundleHead head) { bundle_head_ = std::move(head); }
  // ICE restart with the peer's new credentials: the transport takes fresh local ones, and the
  // session a new ETag. False when the session is closed.
  bool restartIce(const std::string& remote_ufrag, const std::string& remote_pwd);

 protected:
  Session(Role role, std::string id, std::string input_uid, SessionEvents& events, PacketMux& mux,
          const DtlsContext& dtls, WebRtcTransport::RemoteParameters remote, ClockFunction clock);

  Clock::time_point now() const { return clock_(); }

  void touch(Clock::time_point now) noexcept { last_media_ = now; }
  // WebRtcTransport::Listener (onRtp/onRtcp are the roles' business).
  void onTransportConnected() override;
  void onTransportClosed(const std::string& reason) override;

 private:
  Role role_;
  std::string id_;
  std::string input_uid_;
  std::string etag_;
  std::string remote_ufrag_;
  std::string remote_pwd_;
  SessionEvents& events_;
  ClockFunction clock_;
  bool closed_ = false;
  bool ever_connected_ = false;
  std::optional<std::string> failure_;
  std::string client_key_;
  Clock::time_point last_media_;
  BundleHead bundle_head_;
  std::unique_ptr<WebRtcTransport> transport_;
};

// A random SSRC, never 0 (common/random: throws if OpenSSL's RNG fails). Session ids and ETags
// are common/random's randomHex.
uint32_t randomSsrc();

}  // namespace liveroom::media

// PublisherSession: a WHIP publisher. Its RTP is recorded (receive statistics, transport-wide
// arrival times, a retransmission buffer for video) and handed to its InputRouter for fan-out;
// RTCP goes back to it: transport-cc feedback (so the browser's bandwidth estimate ramps up),
// receiver reports, REMB, NACKs for lost packets (NackGenerator; the repairs come back on its
// RTX stream, restored here, or as plain retransmissions) and key-frame requests (PLI,
// rate-limited; also when a gap cannot be repaired in time). Media thread only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "media/router/media_source.hpp"
#include "media/router/session.hpp"
#include "media/rtcp/transport_cc.hpp"
#include "media/rtp/nack_generator.hpp"
#include "media/rtp/receive_stats.hpp"
#include "media/rtp/retransmission_buffer.hpp"
#include "media/sdp/negotiation.hpp"
#include "media/srtp/srtp_session.hpp"

namespace liveroom::media {

class InputRouter;

class PublisherSession final : public Session, public MediaSource {
 public:
  // Minimum spacing of key-frame requests to the encoder, however many viewers ask.
  static constexpr std::chrono::milliseconds kKeyFrameInterval{250};

  // `source`: what the publisher's offer says it sends (describeSource of its accepted sections).
  PublisherSession(
      std::string id, std::string input_uid, SessionEvents& events, PacketMux& mux, const DtlsContext& dtls,
      WebRtcTransport::RemoteParameters remote, const SourceDescription& source, InputRouter& router, uint64_t remb_bps,
      bool request_retransmissions = true, ClockFunction clock = [] { return Clock::now(); });

  using Clock = Session::Clock;
  const PublisherTrack* track(sdp::MediaKind kind) const override;
  MediaCounters counters() const override;
  // PLI to the encoder of `layer` (every layer when -1) now, or, when one went out less than
  // kKeyFrameInterval ago, as soon as the interval has passed (flushKeyFrameRequest): a viewer
  // joining right after another still gets its key frame promptly instead of waiting for its own
  // decoder to ask again.
  void requestKeyFrame(Clock::time_point now, int layer = -1) override;
  void flushKeyFrameRequest(Clock::time_point now);

  void onTimer(Clock::time_point now, bool report) override;
  // Periodic RTCP (onTimer).
  void sendTransportFeedback();
  // NACKs for the gaps due now, and a key frame when one cannot be repaired in time.
  void sendNacks(Clock::time_point now);
  void sendReports(Clock::time_point now);

 private:
  void onRtp(rtp::RtpPacket& packet) override;
  void onRtcp(const uint8_t* data, size_t size) override;
  PublisherTrack* trackFor(uint8_t payload_type);
  // The layer a packet belongs to: by SSRC once known, else by its (repaired) rid extension.
  PublisherLayer* layerFor(PublisherTrack& track, const rtp::RtpPacket& packet, bool rtx);
  void onMediaPacket(PublisherTrack& track, PublisherLayer& layer, rtp::RtpPacket& packet, Clock::time_point now,
                     bool retransmission);
  void sendPli(PublisherLayer& layer, Clock::time_point now);
  void sendNacks(PublisherTrack& track, PublisherLayer& layer, Clock::time_point now);
  void sendRtcp();

  InputRouter& router_;
  uint64_t remb_bps_;
  uint32_t rtcp_ssrc_;
  std::optional<PublisherTrack> video_;
  std::optional<PublisherTrack> audio_;
  uint64_t plis_sent_ = 0;
  uint8_t transport_cc_id_ = 0;  // the publisher's transport-wide-cc extension id (0: not negotiated)
  bool send_remb_ = false;
  rtcp::TransportCcRecorder transport_cc_;
  std::vector<uint8_t> rtcp_;     // reused for every RTCP packet we send
  std::vector<uint16_t> nacked_;  // reused: the sequence numbers of one NACK round
  Clock::time_point last_report_{};
};

}  // namespace liveroom::media

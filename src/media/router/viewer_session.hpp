// ViewerSession: a WHEP viewer. Gets the publisher's RTP through its InputRouter, rewritten per
// track (payload types and extension ids to what it negotiated, its own SSRC, continuous
// sequence numbers and timestamps across publisher reconnects) in a buffer of its own: no
// allocation per packet. Its PLI/FIR become (rate-limited) key-frame requests to the
// publisher; its NACKs are answered from the publisher track's retransmission buffer, each
// packet at most once per round-trip time and within a byte budget (RetransmissionLimiter), on
// the viewer's RTX stream when it negotiated one (RFC 4588) and on the media SSRC otherwise; it
// gets sender reports, and its receiver reports give the round-trip time. Media thread only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "media/router/rtp_rewriter.hpp"
#include "media/router/session.hpp"
#include "media/rtp/retransmission_buffer.hpp"
#include "media/rtp/retransmission_limiter.hpp"
#include "media/sdp/answer_builder.hpp"
#include "media/sdp/negotiation.hpp"
#include "media/rtcp/report.hpp"
#include "media/sdp/session_description.hpp"
#include "media/srtp/srtp_session.hpp"

namespace liveroom::media {

class InputRouter;
class PublisherSession;

struct ViewerTrack {
  sdp::MediaKind kind = sdp::MediaKind::kVideo;
  sdp::MediaSection offered;  // the viewer's m-section, to match each new publisher's codec
  sdp::MediaDecision decision;
  sdp::SendTrack send;
  std::optional<RtpRewriter> rewriter;
  bool mapped = false;                 // the current publisher's codec maps onto one of the viewer's
  rtp::RetransmissionLimiter limiter;  // what this viewer's NACKs may make us resend
  uint8_t rtx_payload_type = 0;        // the viewer's RTX PT for the mapped codec (0: resend on the media SSRC)
  uint16_t rtx_sequence = 0;           // of the RTX stream (send.rtx_ssrc)
  uint32_t packets_sent = 0;
  uint32_t octets_sent = 0;
};

class ViewerSession final : public Session {
 public:
  ViewerSession(std::string id, std::string input_uid, SessionEvents& events, PacketMux& mux,
                const DtlsCertificate& certificate, WebRtcTransport::RemoteParameters remote,
                std::vector<ViewerTrack> tracks, InputRouter& router,
                rtp::RetransmissionLimiter::Options retransmit = {});

  const std::vector<ViewerTrack>& tracks() const noexcept { return tracks_; }
  // Maps every track onto what `publisher` sends (a track whose codec the viewer cannot
  // receive stays silent).
  void attachPublisher(const PublisherSession& publisher);
  // Forwards one publisher packet of `kind` (copied, rewritten, protected, sent).
  void sendMedia(sdp::MediaKind kind, const uint8_t* data, size_t size, Clock::time_point now);
  void sendReports(Clock::time_point now);
  // Resends and refusals of this viewer's NACKs, all tracks together.
  rtp::RetransmissionLimiter::Stats retransmissionStats() const;

 private:
  void onRtp(rtp::RtpPacket&) override {}  // a viewer sends no media we use
  void onRtcp(const uint8_t* data, size_t size) override;
  ViewerTrack* track(sdp::MediaKind kind);
  ViewerTrack* trackBySsrc(uint32_t ssrc);
  void retransmit(ViewerTrack& track, uint16_t viewer_sequence, Clock::time_point now);
  // Round-trip samples from the viewer's report blocks about our streams.
  void takeRoundTrip(const rtcp::ReportBlock& block);
  bool forward(ViewerTrack& track, const uint8_t* data, size_t size, Clock::time_point now,
               bool retransmission = false);

  InputRouter& router_;
  uint32_t rtcp_ssrc_;
  std::vector<ViewerTrack> tracks_;
  std::array<uint8_t, rtp::RetransmissionBuffer::kMaxPacketSize + SrtpSession::kMaxRtpTrailer> buffer_{};
  std::vector<uint8_t> rtcp_;
};

}  // namespace liveroom::media

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

#include "media/router/layer_selector.hpp"
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
class MediaSource;

struct ViewerTrack {
  sdp::MediaKind kind = sdp::MediaKind::kVideo;
  sdp::MediaSection offered;  // the viewer's codecs (sdp::codecsForMatching), to match each new publisher's
  sdp::MediaDecision decision;
  sdp::SendTrack send;
  std::optional<RtpRewriter> rewriter;
  bool mapped = false;                 // the current publisher's codec maps onto one of the viewer's
  rtp::RetransmissionLimiter limiter;  // what this viewer's NACKs may make us resend
  uint8_t rtx_payload_type = 0;        // the viewer's RTX PT for the mapped codec (0: resend on the media SSRC)
  uint16_t rtx_sequence = 0;           // of the RTX stream (send.rtx_ssrc)
  uint32_t packets_sent = 0;
  uint32_t octets_sent = 0;
  uint64_t nacked_not_held = 0;  // NACKed packets we never had (lost on the way in) or no longer hold
  // Simulcast: the publisher layer being sent, the one to switch to at its next key frame, and
  // how the choice is made (the viewer's receiver reports).
  int current_layer = -1;
  int target_layer = -1;
  LayerSelector selector;
  std::chrono::steady_clock::time_point last_choice{};
  uint32_t octets_at_last_report = 0;
  std::chrono::steady_clock::time_point last_report{};
};

class ViewerSession final : public Session {
 public:
  ViewerSession(
      std::string id, std::string input_uid, SessionEvents& events, PacketMux& mux, const DtlsContext& dtls,
      WebRtcTransport::RemoteParameters remote, std::vector<ViewerTrack> tracks, InputRouter& router,
      rtp::RetransmissionLimiter::Options retransmit = {}, ClockFunction clock = [] { return Clock::now(); });

  const std::vector<ViewerTrack>& tracks() const noexcept { return tracks_; }
  // Maps every track onto what `publisher` sends (a track whose codec the viewer cannot
  // receive stays silent).
  void attachSource(const MediaSource& publisher);
  // Forwards one publisher packet of `kind` from publisher layer `layer` (copied, rewritten,
  // protected, sent) if it is the layer this viewer gets; a simulcast viewer moves to another
  // layer only at a packet that starts a key frame (`key_frame_start`).
  void sendMedia(sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet, Clock::time_point now,
                 bool key_frame_start = false);
  // The simulcast layer this viewer's video gets now (-1: none yet, or no video).
  int currentLayer() const noexcept;
  void onTimer(Clock::time_point now, bool report) override {
    if (report) sendReports(now);
  }
  void sendReports(Clock::time_point now);
  // Resends and refusals of this viewer's NACKs, all tracks together.
  rtp::RetransmissionLimiter::Stats retransmissionStats() const;
  // NACKed packets the server did not have, all tracks together.
  uint64_t nackedNotHeld() const;
  MediaCounters counters() const override;

 private:
  void onRtp(rtp::RtpPacket&) override {}  // a viewer sends no media we use
  void onRtcp(const uint8_t* data, size_t size) override;
  ViewerTrack* track(sdp::MediaKind kind);
  ViewerTrack* trackBySsrc(uint32_t ssrc);
  void retransmit(ViewerTrack& track, uint16_t viewer_sequence, Clock::time_point now);
  // Round-trip samples and (video) loss from the viewer's report blocks about our streams.
  void takeReportBlock(const rtcp::ReportBlock& block, Clock::time_point now);
  // Simulcast: picks the layer for `track` from the publisher's layers now.
  void chooseLayer(ViewerTrack& track, Clock::time_point now);
  bool forward(ViewerTrack& track, const rtp::RtpPacket& source, Clock::time_point now, bool retransmission = false);

  InputRouter& router_;
  uint32_t rtcp_ssrc_;
  std::vector<ViewerTrack> tracks_;
  std::array<uint8_t, rtp::RetransmissionBuffer::kMaxPacketSize + SrtpSession::kMaxRtpTrailer> buffer_{};
  std::vector<uint8_t> rtcp_;
  uint64_t nacks_received_ = 0;
  uint64_t key_frame_requests_ = 0;
};

}  // namespace liveroom::media

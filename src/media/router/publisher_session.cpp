// WHIP publisher: record, fan out, feed back (see publisher_session.hpp).
#include "media/router/publisher_session.hpp"

#include <algorithm>

#include "media/byte_io.hpp"
#include "media/rtcp/feedback.hpp"
#include "media/rtcp/report.hpp"
#include "media/router/input_router.hpp"
#include "media/rtp/rtx.hpp"

namespace liveroom::media {

namespace {
bool hasFeedback(const sdp::CodecChoice& codec, std::string_view fb) {
  return std::find(codec.rtcp_fb.begin(), codec.rtcp_fb.end(), fb) != codec.rtcp_fb.end();
}
}  // namespace

PublisherSession::PublisherSession(std::string id, std::string input_uid, SessionEvents& events, PacketMux& mux,
                                   const DtlsCertificate& certificate, WebRtcTransport::RemoteParameters remote,
                                   const std::vector<sdp::MediaDecision>& decisions, InputRouter& router,
                                   uint64_t remb_bps, bool request_retransmissions)
    : Session(Role::Publisher, std::move(id), std::move(input_uid), events, mux, certificate, std::move(remote)),
      router_(router),
      remb_bps_(remb_bps),
      rtcp_ssrc_(randomSsrc()) {
  rtcp_.reserve(1500);
  for (const sdp::MediaDecision& d : decisions) {
    if (!d.accepted || !d.codec) continue;
    std::optional<PublisherTrack>& slot = d.kind == sdp::MediaKind::kVideo ? video_ : audio_;
    if (slot) continue;
    PublisherTrack& t = slot.emplace();
    t.kind = d.kind;
    t.codec = *d.codec;
    t.extmaps = d.extmaps;
    if (d.kind == sdp::MediaKind::kVideo) t.buffer = std::make_unique<rtp::RetransmissionBuffer>();
    if (request_retransmissions && hasFeedback(t.codec, "nack")) t.nack.emplace();
    for (const sdp::ExtMap& e : d.extmaps) {
      if (e.uri == sdp::kExtTransportWideCc && e.id > 0 && e.id < 256) transport_cc_id_ = static_cast<uint8_t>(e.id);
    }
    if (hasFeedback(t.codec, "goog-remb")) send_remb_ = true;
  }
}

const PublisherTrack* PublisherSession::track(sdp::MediaKind kind) const {
  const std::optional<PublisherTrack>& t = kind == sdp::MediaKind::kVideo ? video_ : audio_;
  return t ? &*t : nullptr;
}

PublisherTrack* PublisherSession::trackFor(uint8_t payload_type) {
  if (video_ && video_->codec.payload_type == payload_type) return &*video_;
  if (audio_ && audio_->codec.payload_type == payload_type) return &*audio_;
  return nullptr;  // RTX (probing padding, retransmissions we never asked for) or unknown
}

void PublisherSession::onRtp(rtp::RtpPacket& packet) {
  const Clock::time_point now = Clock::now();
  touch(now);
  if (transport_cc_id_ != 0) {
    // Every packet counts for congestion control, RTX padding probes included.
    if (auto ext = packet.findExtension(transport_cc_id_); ext && ext->size() >= 2) {
      transport_cc_.onPacket(read16(ext->data()), now);
    }
  }
  // A retransmission on the video track's RTX stream (RFC 4588): restore the packet it repairs.
  // Until the media stream's SSRC is known there is nothing to repair.
  if (video_ && video_->codec.rtx_payload_type && packet.payloadType() == *video_->codec.rtx_payload_type) {
    if (video_->ssrc == 0) return;
    auto restored = rtp::restoreFromRtx(packet, static_cast<uint8_t>(video_->codec.payload_type), video_->ssrc);
    if (!restored) return;  // a padding-only bandwidth probe
    ++video_->rtx_received;
    onMediaPacket(*video_, *restored, now, true);
    return;
  }
  PublisherTrack* t = trackFor(packet.payloadType());
  if (t == nullptr) return;
  onMediaPacket(*t, packet, now, false);
}

void PublisherSession::onMediaPacket(PublisherTrack& t, rtp::RtpPacket& packet, Clock::time_point now,
                                     bool retransmission) {
  if (retransmission) {
    // Only packets we are missing are worth forwarding; a repeat is dropped here.
    if (!t.nack || !t.nack->onPacket(packet.sequenceNumber(), now)) return;
  } else {
    if (!t.stats || t.ssrc != packet.ssrc()) {
      t.ssrc = packet.ssrc();
      t.stats.emplace(t.ssrc, t.codec.clock_rate);
      if (t.nack) t.nack.emplace();  // a new stream (encoder restart): its own sequence space
    }
    if (t.nack) t.nack->onPacket(packet.sequenceNumber(), now);
  }
  t.stats->onPacket(packet.sequenceNumber(), packet.timestamp(), now);
  if (t.buffer) t.buffer->insert(packet.sequenceNumber(), packet.data(), packet.size(), now);
  router_.forward(t.kind, packet, now);
}

void PublisherSession::onRtcp(const uint8_t* data, size_t size) {
  const Clock::time_point now = Clock::now();
  touch(now);
  rtcp::RtcpCompoundReader reader(data, size);
  while (auto p = reader.next()) {
    if (p->packet_type != rtcp::type::kSenderReport) continue;
    auto sr = rtcp::SenderReport::parse(*p);
    if (!sr) continue;
    for (std::optional<PublisherTrack>* t : {&video_, &audio_}) {
      if (*t && (*t)->stats && (*t)->ssrc == sr->ssrc) (*t)->stats->onSenderReport(sr->ntp_timestamp, now);
    }
  }
}

void PublisherSession::requestKeyFrame(Clock::time_point now) {
  if (!video_ || video_->ssrc == 0 || !connected()) return;
  if (video_->last_keyframe_request != Clock::time_point{} && now - video_->last_keyframe_request < kKeyFrameInterval) {
    video_->keyframe_request_pending = true;
    return;
  }
  video_->last_keyframe_request = now;
  video_->keyframe_request_pending = false;
  rtcp_.clear();
  rtcp::appendPli(rtcp_, rtcp_ssrc_, video_->ssrc);
  sendRtcp();
}

void PublisherSession::flushKeyFrameRequest(Clock::time_point now) {
  if (video_ && video_->keyframe_request_pending) requestKeyFrame(now);
}

std::optional<std::span<const uint8_t>> PublisherSession::storedPacket(sdp::MediaKind kind, uint16_t sequence,
                                                                       Clock::time_point now) const {
  const PublisherTrack* t = track(kind);
  if (t == nullptr || !t->buffer) return std::nullopt;
  return t->buffer->get(sequence, now);
}

void PublisherSession::sendTransportFeedback() {
  if (!connected()) return;
  const uint32_t media_ssrc = video_ && video_->ssrc != 0 ? video_->ssrc : (audio_ ? audio_->ssrc : 0);
  while (transport_cc_.hasPending()) {
    rtcp_.clear();
    if (transport_cc_.appendFeedback(rtcp_, rtcp_ssrc_, media_ssrc) == 0) break;
    sendRtcp();
  }
}

void PublisherSession::sendNacks(Clock::time_point now) {
  if (!connected()) return;
  bool key_frame = false;
  for (std::optional<PublisherTrack>* slot : {&video_, &audio_}) {
    if (!*slot || !(*slot)->nack || (*slot)->ssrc == 0) continue;
    PublisherTrack& t = **slot;
    nacked_.clear();
    t.nack->collect(now, nacked_);
    if (!nacked_.empty()) {
      rtcp_.clear();
      rtcp::appendNack(rtcp_, rtcp_ssrc_, t.ssrc, nacked_);
      sendRtcp();
    }
    if (t.nack->takeKeyFrameRequest() && t.kind == sdp::MediaKind::kVideo) key_frame = true;
  }
  if (key_frame) requestKeyFrame(now);
}

void PublisherSession::sendReports(Clock::time_point now) {
  if (!connected()) return;
  std::array<rtcp::ReportBlock, 2> blocks{};
  size_t count = 0;
  std::array<uint32_t, 2> ssrcs{};
  for (std::optional<PublisherTrack>* t : {&video_, &audio_}) {
    if (!*t || !(*t)->stats) continue;
    if (auto block = (*t)->stats->reportBlock(now)) {
      ssrcs[count] = (*t)->ssrc;
      blocks[count++] = *block;
    }
  }
  if (count == 0) return;
  rtcp_.clear();
  rtcp::appendReceiverReport(rtcp_, rtcp_ssrc_, {blocks.data(), count});
  if (send_remb_) rtcp::appendRemb(rtcp_, rtcp_ssrc_, remb_bps_, {ssrcs.data(), count});
  sendRtcp();
}

void PublisherSession::sendRtcp() {
  const size_t len = rtcp_.size();
  rtcp_.resize(len + SrtpSession::kMaxRtcpTrailer);
  transport().sendRtcp(rtcp_.data(), len, rtcp_.size());
}

}  // namespace liveroom::media

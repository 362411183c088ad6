// WHIP publisher: record, fan out, feed back (see publisher_session.hpp).
#include "media/router/publisher_session.hpp"

#include <algorithm>

#include "media/byte_io.hpp"
#include "media/rtcp/feedback.hpp"
#include "media/rtcp/report.hpp"
#include "media/router/input_router.hpp"
#include "media/rtp/keyframe.hpp"
#include "media/rtp/rtx.hpp"

namespace liveroom::media {

namespace {
uint8_t extensionId(const std::vector<sdp::ExtMap>& extmaps, std::string_view uri) {
  for (const sdp::ExtMap& e : extmaps) {
    if (e.uri == uri && e.id > 0 && e.id < 256) return static_cast<uint8_t>(e.id);
  }
  return 0;
}

bool hasFeedback(const sdp::CodecChoice& codec, std::string_view fb) {
  return std::find(codec.rtcp_fb.begin(), codec.rtcp_fb.end(), fb) != codec.rtcp_fb.end();
}
}  // namespace

PublisherSession::PublisherSession(std::string id, std::string input_uid, SessionEvents& events, PacketMux& mux,
                                   const DtlsContext& dtls, WebRtcTransport::RemoteParameters remote,
                                   const SourceDescription& source, InputRouter& router, uint64_t remb_bps,
                                   bool request_retransmissions, ClockFunction clock)
    : Session(Role::Publisher, std::move(id), std::move(input_uid), events, mux, dtls, std::move(remote),
              std::move(clock)),
      router_(router),
      remb_bps_(remb_bps),
      rtcp_ssrc_(randomSsrc()) {
  rtcp_.reserve(1500);
  for (const std::optional<SourceDescription::Track>* d : {&source.video, &source.audio}) {
    if (!*d) continue;
    std::optional<PublisherTrack>& slot = (*d)->kind == sdp::MediaKind::kVideo ? video_ : audio_;
    slot.emplace(makePublisherTrack(**d, request_retransmissions));
    if (uint8_t twcc = extensionId((*d)->extmaps, sdp::kExtTransportWideCc)) transport_cc_id_ = twcc;
    if (hasFeedback((*d)->codec, "goog-remb")) send_remb_ = true;
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

PublisherLayer* PublisherSession::layerFor(PublisherTrack& t, const rtp::RtpPacket& packet, bool rtx) {
  if (!t.simulcast()) {
    PublisherLayer& only = t.layers.front();
    if (!rtx) return &only;
    if (only.ssrc == 0 || packet.ssrc() == only.ssrc) return nullptr;  // nothing to repair yet / not RTX
    // The first RTX stream after the media stream names it; RTX on any other SSRC is dropped.
    if (only.rtx_ssrc == 0) only.rtx_ssrc = packet.ssrc();
    return packet.ssrc() == only.rtx_ssrc ? &only : nullptr;
  }
  for (PublisherLayer& layer : t.layers) {
    if ((rtx ? layer.rtx_ssrc : layer.ssrc) == packet.ssrc() && packet.ssrc() != 0) return &layer;
  }
  // RFC 8852: the first packets of each stream name it; learn the SSRC from them.
  const uint8_t id = rtx ? t.repaired_rid_extension : t.rid_extension;
  if (id == 0) return nullptr;
  const auto ext = packet.findExtension(id);
  if (!ext || ext->empty()) return nullptr;
  const std::string_view rid(reinterpret_cast<const char*>(ext->data()), ext->size());
  for (PublisherLayer& layer : t.layers) {
    if (layer.rid != rid) continue;
    if (rtx) {
      layer.rtx_ssrc = packet.ssrc();
    } else if (layer.ssrc != packet.ssrc()) {
      layer.ssrc = packet.ssrc();  // a new stream for this layer: fresh sequence space
      layer.stats.reset();
    }
    return &layer;
  }
  return nullptr;  // a rid we did not accept
}

void PublisherSession::onRtp(rtp::RtpPacket& packet) {
  const Clock::time_point now = this->now();
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
    PublisherLayer* layer = layerFor(*video_, packet, true);
    if (layer == nullptr || layer->ssrc == 0) return;
    auto restored = rtp::restoreFromRtx(packet, static_cast<uint8_t>(video_->codec.payload_type), layer->ssrc);
    if (!restored) return;  // a padding-only bandwidth probe
    ++layer->rtx_received;
    onMediaPacket(*video_, *layer, *restored, now, true);
    return;
  }
  PublisherTrack* t = trackFor(packet.payloadType());
  if (t == nullptr) return;
  PublisherLayer* layer = layerFor(*t, packet, false);
  if (layer == nullptr) return;  // a simulcast stream not named yet
  onMediaPacket(*t, *layer, packet, now, false);
}

void PublisherSession::onMediaPacket(PublisherTrack& t, PublisherLayer& layer, rtp::RtpPacket& packet,
                                     Clock::time_point now, bool retransmission) {
  if (retransmission) {
    // Forwarded when it fills a gap, or when it is ahead of everything so far: the sender resent
    // a packet whose original is lost or still on its way (a bandwidth probe made of old packets
    // can arrive before the gap behind it is seen). A repeat of what we have is dropped.
    if (!layer.nack || layer.nack->onPacket(packet.sequenceNumber(), now, true) == rtp::NackGenerator::Arrival::kOld) {
      return;
    }
  } else {
    if (!layer.stats || layer.ssrc != packet.ssrc()) {
      layer.ssrc = packet.ssrc();
      layer.stats.emplace(layer.ssrc, t.codec.clock_rate);
      if (layer.nack) layer.nack.emplace();    // a new stream (encoder restart): its own sequence space
      if (!t.simulcast()) layer.rtx_ssrc = 0;  // and its own RTX stream, learned again
    }
    if (layer.nack) layer.nack->onPacket(packet.sequenceNumber(), now);
  }
  // Ask at once for gaps that have outlived the reordering window: every millisecond of repair
  // is a millisecond the viewers' jitter buffers must wait (they do not know our uplink's RTT).
  if (layer.nack && layer.nack->missing() > 0) sendNacks(t, layer, now);
  layer.stats->onPacket(packet.sequenceNumber(), packet.timestamp(), now);
  layer.bytes_since_report += packet.size();
  if (layer.first_packet == Clock::time_point{}) layer.first_packet = now;
  layer.last_packet = now;
  if (layer.buffer) layer.buffer->insert(packet.sequenceNumber(), packet.data(), packet.size(), now);
  const size_t index = static_cast<size_t>(&layer - t.layers.data());
  const bool key_frame_start = t.kind == sdp::MediaKind::kVideo && rtp::isKeyFrameStart(t.codec.name, packet.payload());
  router_.forward(t.kind, index, packet, now, key_frame_start);
}

void PublisherSession::onRtcp(const uint8_t* data, size_t size) {
  const Clock::time_point now = this->now();
  touch(now);
  rtcp::RtcpCompoundReader reader(data, size);
  while (auto p = reader.next()) {
    if (p->packet_type != rtcp::type::kSenderReport) continue;
    auto sr = rtcp::SenderReport::parse(*p);
    if (!sr) continue;
    for (std::optional<PublisherTrack>* t : {&video_, &audio_}) {
      if (!*t) continue;
      for (PublisherLayer& layer : (*t)->layers) {
        if (layer.stats && layer.ssrc == sr->ssrc) layer.stats->onSenderReport(sr->ntp_timestamp, now);
      }
    }
  }
}

void PublisherSession::sendPli(PublisherLayer& layer, Clock::time_point now) {
  if (layer.ssrc == 0) return;
  if (layer.last_keyframe_request != Clock::time_point{} && now - layer.last_keyframe_request < kKeyFrameInterval) {
    layer.keyframe_request_pending = true;
    return;
  }
  layer.last_keyframe_request = now;
  layer.keyframe_request_pending = false;
  rtcp_.clear();
  rtcp::appendPli(rtcp_, rtcp_ssrc_, layer.ssrc);
  sendRtcp();
  ++plis_sent_;
}

MediaCounters PublisherSession::counters() const {
  MediaCounters c = Session::counters();
  c.plis_sent = plis_sent_;
  for (const std::optional<PublisherTrack>* t : {&video_, &audio_}) {
    if (!*t) continue;
    for (const PublisherLayer& layer : (*t)->layers) {
      if (!layer.nack) continue;
      c.nacks_sent += layer.nack->stats().requested;
      c.recovered += layer.nack->stats().recovered;
      c.lost += layer.nack->stats().given_up;
    }
  }
  return c;
}

void PublisherSession::requestKeyFrame(Clock::time_point now, int layer) {
  if (!video_ || !connected()) return;
  if (layer >= 0) {
    if (static_cast<size_t>(layer) < video_->layers.size()) sendPli(video_->layers[static_cast<size_t>(layer)], now);
    return;
  }
  for (PublisherLayer& l : video_->layers) sendPli(l, now);
}

void PublisherSession::onTimer(Clock::time_point now, bool report) {
  sendTransportFeedback();
  sendNacks(now);
  flushKeyFrameRequest(now);
  if (report) sendReports(now);
}

void PublisherSession::flushKeyFrameRequest(Clock::time_point now) {
  if (!video_ || !connected()) return;
  for (PublisherLayer& l : video_->layers) {
    if (l.keyframe_request_pending) sendPli(l, now);
  }
}

void PublisherSession::sendTransportFeedback() {
  if (!connected()) return;
  uint32_t media_ssrc = 0;
  for (std::optional<PublisherTrack>* t : {&video_, &audio_}) {
    if (media_ssrc == 0 && *t && (*t)->layers.front().ssrc != 0) media_ssrc = (*t)->layers.front().ssrc;
  }
  while (transport_cc_.hasPending()) {
    rtcp_.clear();
    if (transport_cc_.appendFeedback(rtcp_, rtcp_ssrc_, media_ssrc) == 0) break;
    sendRtcp();
  }
}

void PublisherSession::sendNacks(PublisherTrack& t, PublisherLayer& layer, Clock::time_point now) {
  if (!layer.nack || layer.ssrc == 0 || !connected()) return;
  nacked_.clear();
  layer.nack->collect(now, nacked_);
  if (!nacked_.empty()) {
    rtcp_.clear();
    rtcp::appendNack(rtcp_, rtcp_ssrc_, layer.ssrc, nacked_);
    sendRtcp();
  }
  // A gap that cannot be repaired in time: that layer's viewers need a key frame instead.
  if (layer.nack->takeKeyFrameRequest() && t.kind == sdp::MediaKind::kVideo) {
    requestKeyFrame(now, static_cast<int>(&layer - t.layers.data()));
  }
}

void PublisherSession::sendNacks(Clock::time_point now) {
  if (!connected()) return;
  for (std::optional<PublisherTrack>* slot : {&video_, &audio_}) {
    if (!*slot) continue;
    for (PublisherLayer& layer : (*slot)->layers) sendNacks(**slot, layer, now);
  }
}

void PublisherSession::sendReports(Clock::time_point now) {
  if (!connected()) return;
  std::vector<rtcp::ReportBlock> blocks;
  std::vector<uint32_t> ssrcs;
  for (std::optional<PublisherTrack>* t : {&video_, &audio_}) {
    if (!*t) continue;
    for (PublisherLayer& layer : (*t)->layers) {
      // The layer's bitrate over the interval since the last report (about a second).
      if (last_report_ != Clock::time_point{} && now > last_report_) {
        const double seconds = std::chrono::duration<double>(now - last_report_).count();
        layer.bitrate_bps = static_cast<uint64_t>(static_cast<double>(layer.bytes_since_report) * 8 / seconds);
      }
      layer.bytes_since_report = 0;
      if (!layer.stats) continue;
      if (auto block = layer.stats->reportBlock(now)) {
        ssrcs.push_back(layer.ssrc);
        blocks.push_back(*block);
      }
    }
  }
  last_report_ = now;
  if (blocks.empty()) return;
  rtcp_.clear();
  rtcp::appendReceiverReport(rtcp_, rtcp_ssrc_, blocks);
  if (send_remb_) rtcp::appendRemb(rtcp_, rtcp_ssrc_, remb_bps_, ssrcs);
  sendRtcp();
}

void PublisherSession::sendRtcp() {
  const size_t len = rtcp_.size();
  rtcp_.resize(len + SrtpSession::kMaxRtcpTrailer);
  transport().sendRtcp(rtcp_.data(), len, rtcp_.size());
}

}  // namespace liveroom::media

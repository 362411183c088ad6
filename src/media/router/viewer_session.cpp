// WHEP viewer: rewrite and send, relay key-frame requests, answer NACKs (see viewer_session.hpp).
#include "media/router/viewer_session.hpp"

#include <cstring>

#include <spdlog/spdlog.h>

#include "media/rtcp/feedback.hpp"
#include "media/rtcp/report.hpp"
#include "media/router/input_router.hpp"
#include "media/router/media_source.hpp"
#include "media/rtp/rtx.hpp"

namespace liveroom::media {

namespace {

// NTP time (RFC 3550 §4): seconds since 1900 in the high word, fraction in the low word.
uint64_t ntpNow() {
  constexpr uint64_t kUnixToNtp = 2208988800ULL;
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count();
  const uint64_t seconds = static_cast<uint64_t>(us / 1000000) + kUnixToNtp;
  const uint64_t fraction = (static_cast<uint64_t>(us % 1000000) << 32) / 1000000;
  return (seconds << 32) | fraction;
}

}  // namespace

ViewerSession::ViewerSession(std::string id, std::string input_uid, SessionEvents& events, PacketMux& mux,
                             const DtlsContext& dtls, WebRtcTransport::RemoteParameters remote,
                             std::vector<ViewerTrack> tracks, InputRouter& router,
                             rtp::RetransmissionLimiter::Options retransmit, ClockFunction clock)
    : Session(Role::Viewer, std::move(id), std::move(input_uid), events, mux, dtls, std::move(remote),
              std::move(clock)),
      router_(router),
      rtcp_ssrc_(randomSsrc()),
      tracks_(std::move(tracks)) {
  for (ViewerTrack& t : tracks_) {
    t.limiter = rtp::RetransmissionLimiter(retransmit);
    t.rtx_sequence = static_cast<uint16_t>(randomSsrc());
  }
  rtcp_.reserve(1500);
}

rtp::RetransmissionLimiter::Stats ViewerSession::retransmissionStats() const {
  rtp::RetransmissionLimiter::Stats total;
  for (const ViewerTrack& t : tracks_) {
    const auto& s = t.limiter.stats();
    total.sent += s.sent;
    total.sent_bytes += s.sent_bytes;
    total.repeats += s.repeats;
    total.over_budget += s.over_budget;
  }
  return total;
}

MediaCounters ViewerSession::counters() const {
  MediaCounters c = Session::counters();
  c.nacks_received = nacks_received_;
  const auto r = retransmissionStats();
  c.retransmissions = r.sent;
  c.retransmissions_refused = r.repeats + r.over_budget;
  c.key_frame_requests_received = key_frame_requests_;
  return c;
}

uint64_t ViewerSession::nackedNotHeld() const {
  uint64_t n = 0;
  for (const ViewerTrack& t : tracks_) n += t.nacked_not_held;
  return n;
}

ViewerTrack* ViewerSession::track(sdp::MediaKind kind) {
  for (ViewerTrack& t : tracks_) {
    if (t.kind == kind) return &t;
  }
  return nullptr;
}

ViewerTrack* ViewerSession::trackBySsrc(uint32_t ssrc) {
  for (ViewerTrack& t : tracks_) {
    if (t.send.ssrc == ssrc) return &t;
  }
  return nullptr;
}

void ViewerSession::attachSource(const MediaSource& publisher) {
  for (ViewerTrack& t : tracks_) {
    const PublisherTrack* source = publisher.track(t.kind);
    t.mapped = false;
    if (source == nullptr) continue;
    const sdp::CodecMatch match = sdp::matchViewerCodec(t.offered, source->publisherCodec());
    if (!match.ok()) {
      spdlog::info("media: viewer {} of input {}: {}", id().substr(0, 8), inputUid(), match.error);
      continue;
    }
    std::array<uint8_t, 128> payload_types{};
    payload_types[static_cast<size_t>(source->codec.payload_type) & 0x7F] =
        static_cast<uint8_t>(match.codec->payload_type);
    std::array<uint8_t, 256> extension_ids{};
    for (const sdp::ExtMap& mine : t.decision.extmaps) {
      // The mid extension would carry the publisher's mid, which may name another of the
      // viewer's sections: strip it (the viewer demuxes by the SSRCs in our answer); so are the
      // publisher's stream ids.
      if (mine.uri == sdp::kExtSdesMid || mine.uri == sdp::kExtRtpStreamId ||
          mine.uri == sdp::kExtRepairedRtpStreamId) {
        continue;
      }
      for (const sdp::ExtMap& theirs : source->extmaps) {
        if (theirs.uri == mine.uri && theirs.id > 0 && theirs.id < 256) {
          extension_ids[static_cast<size_t>(theirs.id)] = static_cast<uint8_t>(mine.id);
        }
      }
    }
    const bool vp8 = source->codec.isVp8();
    if (t.rewriter) {
      t.rewriter->setMapping(payload_types, extension_ids, source->codec.clock_rate, vp8);
    } else {
      RtpRewriter::Config config;
      config.ssrc = t.send.ssrc;
      config.clock_rate = source->codec.clock_rate;
      config.payload_types = payload_types;
      config.extension_ids = extension_ids;
      config.vp8 = vp8;
      t.rewriter.emplace(config);
    }
    t.rtx_payload_type =
        t.send.rtx_ssrc && match.codec->rtx_payload_type ? static_cast<uint8_t>(*match.codec->rtx_payload_type) : 0;
    t.mapped = true;
  }
}

void ViewerSession::sendMedia(sdp::MediaKind kind, size_t layer, const rtp::RtpPacket& packet, Clock::time_point now,
                              bool key_frame_start) {
  if (!connected() || closed()) return;
  ViewerTrack* t = track(kind);
  if (t == nullptr) return;
  const MediaSource* publisher = router_.source();
  const PublisherTrack* source = publisher != nullptr ? publisher->track(kind) : nullptr;
  if (source == nullptr || !source->simulcast()) {
    t->current_layer = 0;
    forward(*t, packet, now);
    return;
  }
  if ((t->target_layer < 0 && now - t->last_choice >= std::chrono::milliseconds(20)) ||
      now - t->last_choice >= std::chrono::milliseconds(500)) {
    chooseLayer(*t, now);
  }
  const int from = static_cast<int>(layer);
  if (from != t->current_layer) {
    if (from != t->target_layer || !key_frame_start) return;
    t->current_layer = from;  // the switch: the rewriter continues the viewer's stream seamlessly
  }
  forward(*t, packet, now);
}

int ViewerSession::currentLayer() const noexcept {
  for (const ViewerTrack& t : tracks_) {
    if (t.kind == sdp::MediaKind::kVideo) return t.current_layer;
  }
  return -1;
}

void ViewerSession::chooseLayer(ViewerTrack& t, Clock::time_point now) {
  t.last_choice = now;
  const MediaSource* publisher = router_.source();
  const PublisherTrack* source = publisher != nullptr ? publisher->track(t.kind) : nullptr;
  if (source == nullptr) return;
  // The first choice waits until every layer offered (not paused) has shown up, or half a second
  // after the first did: choosing among what arrived first would pick whatever came first.
  if (t.current_layer < 0) {
    Clock::time_point first{};
    bool all_here = true;
    for (const PublisherLayer& l : source->layers) {
      if (l.first_packet == Clock::time_point{}) {
        all_here = all_here && l.paused;
      } else if (first == Clock::time_point{} || l.first_packet < first) {
        first = l.first_packet;
      }
    }
    if (!all_here && (first == Clock::time_point{} || now - first < std::chrono::milliseconds(500))) return;
  }
  std::vector<LayerSelector::Layer> layers;
  layers.reserve(source->layers.size());
  for (const PublisherLayer& l : source->layers) {
    LayerSelector::Layer info;
    info.bitrate_bps = l.bitrate_bps;
    // Before a layer's first full second, the bytes it sent so far rank it (same interval for all).
    info.rank = l.bitrate_bps > 0 ? l.bitrate_bps : l.bytes_since_report * 8;
    info.active = l.ssrc != 0 && l.last_packet != Clock::time_point{} && now - l.last_packet < std::chrono::seconds(1);
    layers.push_back(info);
  }
  const int target = t.selector.choose(layers, t.current_layer, now);
  if (target == t.target_layer) return;
  t.target_layer = target;
  if (target >= 0 && target != t.current_layer) router_.requestKeyFrame(now, target);
}

bool ViewerSession::forward(ViewerTrack& t, const rtp::RtpPacket& source, Clock::time_point now, bool retransmission) {
  const size_t size = source.size();
  if (!t.mapped || !t.rewriter || size > rtp::RetransmissionBuffer::kMaxPacketSize) return false;
  // Our own copy to rewrite and protect in place; parsed once upstream, not again per viewer.
  std::optional<rtp::RtpPacket> packet = source.data() == buffer_.data() ? source : source.copyTo(buffer_.data());
  if (!t.rewriter->rewrite(*packet, now)) return false;
  if (retransmission && t.rtx_payload_type != 0 && t.send.rtx_ssrc) {
    // RFC 4588: on the RTX stream, the viewer-side sequence number as OSN (two more bytes, and
    // the SRTP trailer must still fit).
    if (size + 2 + SrtpSession::kMaxRtpTrailer > buffer_.size()) return false;
    auto rtx = rtp::wrapInRtx(*packet, size + 2, t.rtx_payload_type, *t.send.rtx_ssrc, t.rtx_sequence++);
    if (!rtx) return false;
    return transport().sendRtp(buffer_.data(), rtx->size(), buffer_.size());
  }
  if (!retransmission) {
    t.packets_sent += 1;
    t.octets_sent += static_cast<uint32_t>(packet->payloadSize());
  }
  return transport().sendRtp(buffer_.data(), size, buffer_.size());
}

void ViewerSession::retransmit(ViewerTrack& t, uint16_t viewer_sequence, Clock::time_point now) {
  const MediaSource* publisher = router_.source();
  if (publisher == nullptr || !t.rewriter) return;
  const auto source_sequence = t.rewriter->publisherSequence(viewer_sequence);
  if (!source_sequence) return;
  const auto stored =
      publisher->storedPacket(t.kind, static_cast<size_t>(std::max(0, t.current_layer)), *source_sequence, now);
  if (!stored) {
    ++t.nacked_not_held;
    return;
  }
  if (t.limiter.check(viewer_sequence, stored->size(), now) != rtp::RetransmissionLimiter::Verdict::kSend) return;
  if (stored->size() > rtp::RetransmissionBuffer::kMaxPacketSize) return;
  std::memcpy(buffer_.data(), stored->data(), stored->size());
  if (auto packet = rtp::RtpPacket::parse(buffer_.data(), stored->size())) forward(t, *packet, now, true);
}

void ViewerSession::takeReportBlock(const rtcp::ReportBlock& block, Clock::time_point now) {
  ViewerTrack* t = trackBySsrc(block.ssrc);
  if (t == nullptr) return;
  if (t->kind == sdp::MediaKind::kVideo) {
    // What we sent since the last report, and what the viewer says it lost of it.
    if (t->last_report != Clock::time_point{} && now > t->last_report) {
      const double seconds = std::chrono::duration<double>(now - t->last_report).count();
      const auto sent_bps =
          static_cast<uint64_t>(static_cast<double>(t->octets_sent - t->octets_at_last_report) * 8 / seconds);
      t->selector.onReport(block.fraction_lost / 256.0, sent_bps, now);
    }
    t->last_report = now;
    t->octets_at_last_report = t->octets_sent;
  }
  if (block.last_sr == 0) return;  // no sender report of ours reached the viewer yet
  // RFC 3550 §6.4.1: RTT = arrival - LSR - DLSR, in the middle 32 bits of NTP time (1/65536 s).
  const auto now_mid = static_cast<uint32_t>(ntpNow() >> 16);
  const uint32_t rtt_units = now_mid - block.last_sr - block.delay_since_last_sr;
  if (rtt_units > 65536u * 10u) return;  // negative or over 10 s: a clock step or a bogus block
  const auto rtt = std::chrono::microseconds(static_cast<int64_t>(rtt_units) * 1000000 / 65536);
  for (ViewerTrack& track : tracks_) track.limiter.addRttSample(rtt);  // one path for every track
}

void ViewerSession::onRtcp(const uint8_t* data, size_t size) {
  const Clock::time_point now = this->now();
  touch(now);
  rtcp::RtcpCompoundReader reader(data, size);
  while (auto p = reader.next()) {
    if (p->packet_type == rtcp::type::kReceiverReport) {
      if (const auto rr = rtcp::ReceiverReport::parse(*p)) {
        for (const rtcp::ReportBlock& block : rr->reportBlocks()) takeReportBlock(block, now);
      }
    } else if (p->packet_type == rtcp::type::kSenderReport) {
      if (const auto sr = rtcp::SenderReport::parse(*p)) {
        for (const rtcp::ReportBlock& block : sr->reportBlocks()) takeReportBlock(block, now);
      }
    } else if (p->packet_type == rtcp::type::kPayloadFeedback &&
               (p->count == rtcp::fmt::kPli || p->count == rtcp::fmt::kFir)) {
      ++key_frame_requests_;
      const int layer = currentLayer();
      router_.requestKeyFrame(now, layer >= 0 ? layer : -1);
    } else if (p->packet_type == rtcp::type::kTransportFeedback && p->count == rtcp::fmt::kNack) {
      const auto nack = rtcp::Nack::parse(*p);
      if (!nack) continue;
      ViewerTrack* t = trackBySsrc(nack->media_ssrc);
      if (t == nullptr) continue;
      nack->forEachLost([&](uint16_t seq) {
        ++nacks_received_;
        retransmit(*t, seq, now);
      });
      if (closed()) return;
    }
  }
}

void ViewerSession::sendReports(Clock::time_point now) {
  if (!connected()) return;
  rtcp_.clear();
  const uint64_t ntp = ntpNow();
  for (const ViewerTrack& t : tracks_) {
    if (!t.rewriter || t.packets_sent == 0) continue;
    const auto rtp_timestamp = t.rewriter->timestampAt(now);
    if (!rtp_timestamp) continue;
    rtcp::appendSenderReport(rtcp_, t.send.ssrc, ntp, *rtp_timestamp, t.packets_sent, t.octets_sent);
  }
  if (rtcp_.empty()) return;
  const size_t len = rtcp_.size();
  rtcp_.resize(len + SrtpSession::kMaxRtcpTrailer);
  transport().sendRtcp(rtcp_.data(), len, rtcp_.size());
}

}  // namespace liveroom::media

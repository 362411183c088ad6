// Writes the server's SDP answer (see answer_builder.hpp).
#include "media/sdp/answer_builder.hpp"

#include <stdexcept>
#include <string_view>

#include "common/random.hpp"

namespace liveroom::media::sdp {

namespace {

void requireValue(std::string_view value, std::string_view what, bool allow_empty = false) {
  if ((!allow_empty && value.empty()) || value.find_first_of("\r\n") != std::string_view::npos) {
    throw std::invalid_argument("buildAnswer: invalid " + std::string(what));
  }
}

uint64_t randomSessionId() {
  // Positive in a signed 64-bit integer, never 0.
  return (randomValue<uint64_t>() & 0x3fffffffffffffffULL) | 1;
}

class Writer {
 public:
  Writer& operator<<(std::string_view s) {
    out_.append(s);
    return *this;
  }
  Writer& operator<<(uint64_t n) {
    out_.append(std::to_string(n));
    return *this;
  }
  Writer& operator<<(int n) {
    out_.append(std::to_string(n));
    return *this;
  }
  Writer& operator<<(uint32_t n) { return *this << static_cast<uint64_t>(n); }
  Writer& operator<<(uint16_t n) { return *this << static_cast<uint64_t>(n); }
  void end() { out_.append("\r\n"); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void writeRejected(Writer& w, const MediaSection& offered) {
  w << "m=" << offered.kind_name << " 0 " << offered.proto << " " << offered.formats.front();
  w.end();
  w << "c=IN IP4 0.0.0.0";
  w.end();
  if (!offered.mid.empty()) {
    w << "a=mid:" << offered.mid;
    w.end();
  }
}

void writeSsrc(Writer& w, uint32_t ssrc, const SendTrack& t) {
  w << "a=ssrc:" << ssrc << " cname:" << t.cname;
  w.end();
  w << "a=ssrc:" << ssrc << " msid:" << t.stream_id << " " << t.track_id;
  w.end();
}

void writeCodec(Writer& w, const CodecChoice& c) {
  w << "a=rtpmap:" << c.payload_type << " " << c.name << "/" << c.clock_rate;
  if (c.channels != 0) w << "/" << c.channels;
  w.end();
  for (const std::string& fb : c.rtcp_fb) {
    w << "a=rtcp-fb:" << c.payload_type << " " << fb;
    w.end();
  }
  if (!c.fmtp.empty()) {
    w << "a=fmtp:" << c.payload_type << " " << c.fmtp;
    w.end();
  }
  if (c.rtx_payload_type) {
    w << "a=rtpmap:" << *c.rtx_payload_type << " rtx/" << c.clock_rate;
    w.end();
    w << "a=fmtp:" << *c.rtx_payload_type << " apt=" << c.payload_type;
    w.end();
  }
}

void writeAccepted(Writer& w, const MediaSection& offered, const AnswerSection& s, const AnswerParams& p) {
  const CodecChoice& c = *s.decision.codec;
  w << "m=" << offered.kind_name << " 9 " << offered.proto;
  const auto writeFormats = [&w](const CodecChoice& codec) {
    w << " " << codec.payload_type;
    if (codec.rtx_payload_type) w << " " << *codec.rtx_payload_type;
  };
  writeFormats(c);
  for (const CodecChoice& alt : s.decision.alternatives) writeFormats(alt);
  w.end();
  w << "c=IN IP4 0.0.0.0";
  w.end();
  w << "a=ice-ufrag:" << p.ice_ufrag;
  w.end();
  w << "a=ice-pwd:" << p.ice_pwd;
  w.end();
  w << "a=fingerprint:sha-256 " << p.fingerprint_sha256;
  w.end();
  w << "a=setup:passive";
  w.end();
  w << "a=mid:" << offered.mid;
  w.end();
  for (const ExtMap& e : s.decision.extmaps) {
    w << "a=extmap:" << e.id << " " << e.uri;
    w.end();
  }
  w << "a=" << toString(s.direction);
  w.end();
  if (!s.decision.simulcast.empty()) {
    // RFC 8853 §5.3: every layer the publisher sends, received as offered.
    std::string list;
    for (const SimulcastStream& layer : s.decision.simulcast) {
      w << "a=rid:" << layer.rid << " recv";
      w.end();
      list += (list.empty() ? "" : ";") + std::string(layer.paused ? "~" : "") + layer.rid;
    }
    w << "a=simulcast:recv " << list;
    w.end();
  }
  if (s.send) {
    w << "a=msid:" << s.send->stream_id << " " << s.send->track_id;
    w.end();
  }
  w << "a=rtcp-mux";
  w.end();
  if (s.decision.rtcp_rsize) {
    w << "a=rtcp-rsize";
    w.end();
  }
  writeCodec(w, c);
  for (const CodecChoice& alt : s.decision.alternatives) writeCodec(w, alt);
  if (s.send) {
    const bool with_rtx = c.rtx_payload_type && s.send->rtx_ssrc;
    if (with_rtx) {
      w << "a=ssrc-group:FID " << s.send->ssrc << " " << *s.send->rtx_ssrc;
      w.end();
    }
    writeSsrc(w, s.send->ssrc, *s.send);
    if (with_rtx) writeSsrc(w, *s.send->rtx_ssrc, *s.send);
  }
  for (const LocalCandidate& cand : p.candidates) {
    w << "a=candidate:" << candidateValue(cand);
    w.end();
  }
  w << "a=end-of-candidates";
  w.end();
}

}  // namespace

std::string candidateValue(const LocalCandidate& c) {
  std::string out = c.foundation + " 1 " + (c.tcp ? "tcp " : "udp ") + std::to_string(c.priority) + " " + c.ip + " " +
                    std::to_string(c.port) + " typ host";
  if (c.tcp) out += " tcptype passive";
  return out;
}

std::string buildIceRestartFragment(const std::string& ice_ufrag, const std::string& ice_pwd,
                                    const std::string& kind_name, const std::string& proto, const std::string& mid,
                                    const std::vector<LocalCandidate>& candidates) {
  requireValue(ice_ufrag, "ice-ufrag");
  requireValue(ice_pwd, "ice-pwd");
  Writer w;
  w << "a=ice-lite";
  w.end();
  w << "a=ice-ufrag:" << ice_ufrag;
  w.end();
  w << "a=ice-pwd:" << ice_pwd;
  w.end();
  if (!mid.empty()) {
    w << "m=" << kind_name << " 9 " << proto << " 0";
    w.end();
    w << "a=mid:" << mid;
    w.end();
    w << "a=ice-ufrag:" << ice_ufrag;
    w.end();
    w << "a=ice-pwd:" << ice_pwd;
    w.end();
    for (const LocalCandidate& cand : candidates) {
      w << "a=candidate:" << candidateValue(cand);
      w.end();
    }
    w << "a=end-of-candidates";
    w.end();
  }
  return w.take();
}

Direction answerDirection(Direction offered, Role role) {
  switch (offered) {
    case Direction::kSendOnly:
      return Direction::kRecvOnly;
    case Direction::kRecvOnly:
      return Direction::kSendOnly;
    case Direction::kSendRecv:
      return role == Role::kWhipPublisher ? Direction::kRecvOnly : Direction::kSendOnly;
    case Direction::kInactive:
      break;
  }
  return Direction::kInactive;
}

std::vector<AnswerSection> answerSections(const std::vector<MediaDecision>& decisions, const SessionDescription& offer,
                                          Role role) {
  std::vector<AnswerSection> out;
  out.reserve(decisions.size());
  for (const MediaDecision& d : decisions) {
    AnswerSection s;
    s.decision = d;
    const Direction offered = d.index < offer.media.size() ? offer.media[d.index].direction : d.offered_direction;
    s.direction = answerDirection(offered, role);
    out.push_back(std::move(s));
  }
  return out;
}

std::string buildAnswer(const SessionDescription& offer, const AnswerParams& p) {
  if (p.sections.size() != offer.media.size()) {
    throw std::invalid_argument("buildAnswer: one answer section per offered m-section is needed");
  }
  requireValue(p.ice_ufrag, "ice-ufrag");
  requireValue(p.ice_pwd, "ice-pwd");
  requireValue(p.fingerprint_sha256, "fingerprint");
  for (const LocalCandidate& c : p.candidates) {
    requireValue(c.foundation, "candidate foundation");
    requireValue(c.ip, "candidate address");
  }
  for (const AnswerSection& s : p.sections) {
    if (s.decision.accepted && !s.decision.codec) throw std::invalid_argument("buildAnswer: accepted without codec");
    if (s.send) {
      requireValue(s.send->cname, "cname");
      requireValue(s.send->stream_id, "msid stream id");
      requireValue(s.send->track_id, "msid track id");
    }
  }

  Writer w;
  w << "v=0";
  w.end();
  w << "o=- " << p.session_id.value_or(randomSessionId()) << " 2 IN IP4 127.0.0.1";
  w.end();
  w << "s=-";
  w.end();
  w << "t=0 0";
  w.end();
  std::string bundle;
  bool any_send = false;
  for (std::size_t i = 0; i < p.sections.size(); ++i) {
    if (!p.sections[i].decision.accepted || offer.media[i].mid.empty()) continue;
    bundle += " " + offer.media[i].mid;
    any_send = any_send || p.sections[i].send.has_value();
  }
  if (!bundle.empty()) {
    w << "a=group:BUNDLE" << bundle;
    w.end();
  }
  w << "a=ice-lite";
  w.end();
  if (offer.extmap_allow_mixed) {
    w << "a=extmap-allow-mixed";
    w.end();
  }
  if (any_send) {
    w << "a=msid-semantic: WMS *";
    w.end();
  }
  for (std::size_t i = 0; i < p.sections.size(); ++i) {
    const MediaSection& offered = offer.media[i];
    const AnswerSection& s = p.sections[i];
    if (s.decision.accepted && !offered.mid.empty()) {
      writeAccepted(w, offered, s, p);
    } else {
      writeRejected(w, offered);
    }
  }
  return w.take();
}

}  // namespace liveroom::media::sdp

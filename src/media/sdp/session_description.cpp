// SDP offer parser: turns the text of an offer into a SessionDescription (see the header).
// One pass over the lines with string_view; session-level ICE/DTLS attributes are applied to
// m-sections that lack their own once every line is read, then the result is validated.
#include "media/sdp/session_description.hpp"

#include <algorithm>
#include <cctype>

#include "media/sdp/line_reader.hpp"
#include "media/sdp/text.hpp"

namespace liveroom::media::sdp {

std::string_view toString(MediaKind kind) {
  switch (kind) {
    case MediaKind::kAudio:
      return "audio";
    case MediaKind::kVideo:
      return "video";
    case MediaKind::kApplication:
      return "application";
    case MediaKind::kOther:
      break;
  }
  return "other";
}

std::string_view toString(Direction direction) {
  switch (direction) {
    case Direction::kSendRecv:
      return "sendrecv";
    case Direction::kSendOnly:
      return "sendonly";
    case Direction::kRecvOnly:
      return "recvonly";
    case Direction::kInactive:
      break;
  }
  return "inactive";
}

std::optional<Direction> directionFromString(std::string_view s) {
  if (s == "sendrecv") return Direction::kSendRecv;
  if (s == "sendonly") return Direction::kSendOnly;
  if (s == "recvonly") return Direction::kRecvOnly;
  if (s == "inactive") return Direction::kInactive;
  return std::nullopt;
}

std::optional<Candidate> parseCandidate(std::string_view value) {
  if (text::startsWith(value, "candidate:")) value.remove_prefix(10);
  Candidate c;
  c.raw = std::string(text::trim(value));
  std::string_view rest = value;
  const std::string_view foundation = text::nextToken(rest);
  const auto component = text::parseUnsigned<uint32_t>(text::nextToken(rest));
  const std::string_view transport = text::nextToken(rest);
  const auto priority = text::parseUnsigned<uint32_t>(text::nextToken(rest));
  const std::string_view address = text::nextToken(rest);
  const auto port = text::parseUnsigned<uint16_t>(text::nextToken(rest));
  const std::string_view typ = text::nextToken(rest);
  const std::string_view type = text::nextToken(rest);
  // RFC 8839: foundation = 1*32ice-char, ice-char = ALPHA / DIGIT / "+" / "/". Holding to it also
  // keeps raw canonical: a foundation can never be a second "candidate:" prefix.
  const bool ice_chars = std::all_of(foundation.begin(), foundation.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '+' || ch == '/';
  });
  if (foundation.empty() || foundation.size() > 32 || !ice_chars || !component || *component == 0 ||
      transport.empty() || !priority || address.empty() || !port || typ != "typ" || type.empty()) {
    return std::nullopt;
  }
  c.foundation = std::string(foundation);
  c.component = *component;
  c.transport = text::lower(transport);
  c.priority = *priority;
  c.address = std::string(address);
  c.port = *port;
  c.type = std::string(type);
  return c;
}

std::map<std::string, std::string> parseFmtpParameters(std::string_view params) {
  std::map<std::string, std::string> values;
  while (!params.empty()) {
    const std::string_view pair = text::trim(text::cut(params, ';'));
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    values.emplace(text::lower(text::trim(pair.substr(0, eq))), std::string(text::trim(pair.substr(eq + 1))));
  }
  return values;
}

bool MediaSection::isRtp() const { return proto.find("RTP") != std::string::npos; }

const RtpMap* MediaSection::rtpmap(int pt) const {
  const auto it = rtpmaps.find(pt);
  return it == rtpmaps.end() ? nullptr : &it->second;
}

const Fmtp* MediaSection::fmtp(int pt) const {
  const auto it = fmtps.find(pt);
  return it == fmtps.end() ? nullptr : &it->second;
}

std::vector<std::string> MediaSection::rtcpFeedback(int pt) const {
  std::vector<std::string> out;
  for (const int key : {pt, kAnyPayloadType}) {
    const auto it = rtcp_fb.find(key);
    if (it == rtcp_fb.end()) continue;
    for (const std::string& fb : it->second) {
      if (std::find(out.begin(), out.end(), fb) == out.end()) out.push_back(fb);
    }
  }
  return out;
}

const Group* SessionDescription::bundleGroup() const {
  for (const Group& g : groups) {
    if (text::iequals(g.semantics, "BUNDLE")) return &g;
  }
  return nullptr;
}

const MediaSection* SessionDescription::findMid(std::string_view mid) const {
  for (const MediaSection& m : media) {
    if (m.mid == mid) return &m;
  }
  return nullptr;
}

namespace {

std::optional<int> parsePayloadType(std::string_view s) {
  const auto pt = text::parseUnsigned<unsigned>(s);
  if (!pt || *pt > 127) return std::nullopt;
  return static_cast<int>(*pt);
}

MediaSection parseMediaLine(const SdpLine& line) {
  std::string_view rest = line.value;
  MediaSection m;
  const std::string_view media = text::nextToken(rest);
  std::string_view port_field = text::nextToken(rest);
  const std::string_view proto = text::nextToken(rest);
  const auto port = text::parseUnsigned<uint16_t>(text::cut(port_field, '/'));
  if (media.empty() || !port || proto.empty()) throwMalformed(line, "m-line");
  m.kind_name = std::string(media);
  if (media == "audio") {
    m.kind = MediaKind::kAudio;
  } else if (media == "video") {
    m.kind = MediaKind::kVideo;
  } else if (media == "application") {
    m.kind = MediaKind::kApplication;
  }
  m.port = *port;
  m.proto = std::string(proto);
  const bool rtp = m.isRtp();
  for (std::string_view fmt = text::nextToken(rest); !fmt.empty(); fmt = text::nextToken(rest)) {
    m.formats.emplace_back(fmt);
    if (rtp) {
      const auto pt = parsePayloadType(fmt);
      if (!pt) throwMalformed(line, "m-line payload type");
      m.payload_types.push_back(*pt);
    }
  }
  if (m.formats.empty()) throwMalformed(line, "m-line without formats");
  return m;
}

Fingerprint parseFingerprint(const SdpLine& line, std::string_view value) {
  const std::string_view algorithm = text::nextToken(value);
  const std::string_view hex = text::nextToken(value);
  if (algorithm.empty() || hex.empty()) throwMalformed(line, "fingerprint");
  return Fingerprint{text::lower(algorithm), std::string(hex)};
}

ExtMap parseExtMap(const SdpLine& line, std::string_view value) {
  std::string_view id_field = text::nextToken(value);
  const std::string_view uri = text::nextToken(value);
  const auto id = text::parseUnsigned<unsigned>(text::cut(id_field, '/'));
  if (!id || *id == 0 || *id > 255 || uri.empty()) throwMalformed(line, "extmap");
  ExtMap e;
  e.id = static_cast<int>(*id);
  e.uri = std::string(uri);
  if (!id_field.empty()) {
    e.direction = directionFromString(id_field);
    if (!e.direction) throwMalformed(line, "extmap direction");
  }
  return e;
}

void parseRtpMap(const SdpLine& line, std::string_view value, MediaSection& m) {
  const auto pt = parsePayloadType(text::nextToken(value));
  std::string_view encoding = text::nextToken(value);
  if (!pt) throwMalformed(line, "rtpmap");
  const std::string_view name = text::cut(encoding, '/');
  const auto clock_rate = text::parseUnsigned<uint32_t>(text::cut(encoding, '/'));
  if (name.empty() || !clock_rate || *clock_rate == 0) throwMalformed(line, "rtpmap");
  RtpMap r;
  r.codec = std::string(name);
  r.clock_rate = *clock_rate;
  if (!encoding.empty()) {
    const auto channels = text::parseUnsigned<uint32_t>(encoding);
    if (!channels || *channels == 0) throwMalformed(line, "rtpmap channels");
    r.channels = *channels;
  }
  m.rtpmaps.insert_or_assign(*pt, std::move(r));
}

void parseFmtp(const SdpLine& line, std::string_view value, MediaSection& m) {
  const std::string_view pt_field = text::nextToken(value);
  const auto pt = parsePayloadType(pt_field);
  if (!pt) {
    if (m.isRtp()) throwMalformed(line, "fmtp");
    return;  // e.g. a=fmtp:webrtc-datachannel on an SCTP section
  }
  Fmtp f;
  f.params = std::string(text::trim(value));
  f.values = parseFmtpParameters(f.params);
  m.fmtps.insert_or_assign(*pt, std::move(f));
}

void parseRtcpFb(const SdpLine& line, std::string_view value, MediaSection& m) {
  const std::string_view pt_field = text::nextToken(value);
  const std::string_view feedback = text::trim(value);
  int key = kAnyPayloadType;
  if (pt_field != "*") {
    const auto pt = parsePayloadType(pt_field);
    if (!pt) throwMalformed(line, "rtcp-fb");
    key = *pt;
  }
  if (feedback.empty()) throwMalformed(line, "rtcp-fb");
  m.rtcp_fb[key].emplace_back(feedback);
}

void parseSsrc(const SdpLine& line, std::string_view value, MediaSection& m) {
  const auto ssrc = text::parseUnsigned<uint32_t>(text::nextToken(value));
  if (!ssrc) throwMalformed(line, "ssrc");
  auto it = std::find_if(m.ssrcs.begin(), m.ssrcs.end(), [&](const SsrcInfo& s) { return s.ssrc == *ssrc; });
  if (it == m.ssrcs.end()) {
    m.ssrcs.push_back(SsrcInfo{*ssrc, {}, {}});
    it = m.ssrcs.end() - 1;
  }
  value = text::trim(value);
  const Attribute attr = splitAttribute(value);
  if (attr.name == "cname") {
    it->cname = std::string(attr.value);
  } else if (attr.name == "msid") {
    it->msid = std::string(text::trim(attr.value));
  }
}

void parseSsrcGroup(const SdpLine& line, std::string_view value, MediaSection& m) {
  SsrcGroup g;
  g.semantics = std::string(text::nextToken(value));
  for (std::string_view t = text::nextToken(value); !t.empty(); t = text::nextToken(value)) {
    const auto ssrc = text::parseUnsigned<uint32_t>(t);
    if (!ssrc) throwMalformed(line, "ssrc-group");
    g.ssrcs.push_back(*ssrc);
  }
  if (g.semantics.empty() || g.ssrcs.empty()) throwMalformed(line, "ssrc-group");
  m.ssrc_groups.push_back(std::move(g));
}

// RFC 8866 §9 token: what an a=mid must be (RFC 5888 §4), so that the answer can list it in
// a=group:BUNDLE and echo it as sent (a mid with a space would split in two there).
bool isToken(std::string_view s) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`{|}~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kSymbols.find(c) != std::string_view::npos;
  });
}

std::string nonEmpty(const SdpLine& line, std::string_view value, std::string_view what) {
  value = text::trim(value);
  if (value.empty()) throwMalformed(line, what);
  return std::string(value);
}

// Attributes that may appear at session or media level but mean the same thing.
struct TransportAttributes {
  std::string ice_ufrag;
  std::string ice_pwd;
  std::vector<Fingerprint> fingerprints;
  std::string setup;
  std::optional<Direction> direction;
};

// Returns true if the attribute was one of TransportAttributes.
bool parseTransportAttribute(const SdpLine& line, const Attribute& a, TransportAttributes& t) {
  if (a.name == "ice-ufrag") {
    t.ice_ufrag = nonEmpty(line, a.value, "ice-ufrag");
  } else if (a.name == "ice-pwd") {
    t.ice_pwd = nonEmpty(line, a.value, "ice-pwd");
  } else if (a.name == "fingerprint") {
    t.fingerprints.push_back(parseFingerprint(line, a.value));
  } else if (a.name == "setup") {
    t.setup = nonEmpty(line, a.value, "setup");
  } else if (auto d = directionFromString(a.name)) {
    t.direction = d;
  } else {
    return false;
  }
  return true;
}

bool isRidId(std::string_view id) {
  return !id.empty() && id.size() <= 255 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

void parseRid(const SdpLine& line, std::string_view value, MediaSection& m) {
  std::string_view rest = value;
  const std::string_view id = text::nextToken(rest);
  const std::string_view direction = text::nextToken(rest);
  if (!isRidId(id)) throwMalformed(line, "rid id");
  if (direction != "send" && direction != "recv") throwMalformed(line, "rid direction (send or recv)");
  if (m.rids.size() >= kMaxRids) {
    throw SdpError("line " + std::to_string(line.number) + ": more than " + std::to_string(kMaxRids) +
                   " a=rid lines in one media section");
  }
  for (const Rid& r : m.rids) {
    if (r.id == id) throw SdpError("line " + std::to_string(line.number) + ": a=rid " + std::string(id) + " twice");
  }
  m.rids.push_back({std::string(id), direction == "send", std::string(text::trim(rest))});
}

// "send 0;1;2 recv 3" / "send ~hi,lo;mid": the first alternative of each stream.
void parseSimulcast(const SdpLine& line, std::string_view value, MediaSection& m) {
  std::string_view rest = value;
  for (int i = 0; i < 2; ++i) {
    const std::string_view direction = text::nextToken(rest);
    if (direction.empty()) break;
    const std::string_view list = text::nextToken(rest);
    if ((direction != "send" && direction != "recv") || list.empty()) throwMalformed(line, "simulcast");
    std::vector<SimulcastStream>& out = direction == "send" ? m.simulcast_send : m.simulcast_recv;
    if (!out.empty()) throwMalformed(line, "simulcast (a direction twice)");
    size_t start = 0;
    while (start <= list.size()) {
      const size_t end = std::min(list.find(';', start), list.size());
      std::string_view stream = list.substr(start, end - start);
      stream = stream.substr(0, stream.find(','));  // the first alternative
      SimulcastStream s;
      if (!stream.empty() && stream.front() == '~') {
        s.paused = true;
        stream.remove_prefix(1);
      }
      if (!isRidId(stream)) throwMalformed(line, "simulcast stream id");
      if (out.size() >= kMaxRids) throwMalformed(line, "simulcast (too many streams)");
      s.rid = std::string(stream);
      out.push_back(std::move(s));
      start = end + 1;
    }
  }
  if (!text::trim(rest).empty()) throwMalformed(line, "simulcast");
}

void parseMediaAttribute(const SdpLine& line, const Attribute& a, MediaSection& m) {
  if (a.name == "mid") {
    m.mid = nonEmpty(line, a.value, "mid");
    if (!isToken(m.mid)) throwMalformed(line, "mid is not a token");
  } else if (a.name == "rtcp-mux") {
    m.rtcp_mux = true;
  } else if (a.name == "rtcp-mux-only") {
    m.rtcp_mux_only = true;
  } else if (a.name == "rtcp-rsize") {
    m.rtcp_rsize = true;
  } else if (a.name == "bundle-only") {
    m.bundle_only = true;
  } else if (a.name == "end-of-candidates") {
    m.end_of_candidates = true;
  } else if (a.name == "extmap") {
    m.extmaps.push_back(parseExtMap(line, a.value));
  } else if (a.name == "rtpmap") {
    parseRtpMap(line, a.value, m);
  } else if (a.name == "fmtp") {
    parseFmtp(line, a.value, m);
  } else if (a.name == "rtcp-fb") {
    parseRtcpFb(line, a.value, m);
  } else if (a.name == "ssrc") {
    parseSsrc(line, a.value, m);
  } else if (a.name == "ssrc-group") {
    parseSsrcGroup(line, a.value, m);
  } else if (a.name == "msid") {
    m.msid = nonEmpty(line, a.value, "msid");
  } else if (a.name == "candidate") {
    auto c = parseCandidate(a.value);
    if (!c) throwMalformed(line, "candidate");
    m.candidates.push_back(std::move(*c));
  } else if (a.name == "rid") {
    parseRid(line, a.value, m);
  } else if (a.name == "simulcast") {
    parseSimulcast(line, a.value, m);
  }
  // Anything else (rtcp, rtcp-xr, ice-options, sctp-port, ...) is not needed here.
}

void parseSessionAttribute(const SdpLine& line, const Attribute& a, SessionDescription& d) {
  if (a.name == "group") {
    std::string_view rest = a.value;
    Group g;
    g.semantics = std::string(text::nextToken(rest));
    if (g.semantics.empty()) throwMalformed(line, "group");
    for (std::string_view mid = text::nextToken(rest); !mid.empty(); mid = text::nextToken(rest)) {
      g.mids.emplace_back(mid);
    }
    d.groups.push_back(std::move(g));
  } else if (a.name == "ice-lite") {
    d.ice_lite = true;
  } else if (a.name == "extmap-allow-mixed") {
    d.extmap_allow_mixed = true;
  }
}

std::string mLine(std::size_t index) { return "m-line " + std::to_string(index + 1); }

}  // namespace

SessionDescription parse(std::string_view sdp) {
  if (sdp.size() > kMaxSdpBytes) {
    throw SdpError("the SDP is larger than " + std::to_string(kMaxSdpBytes) + " bytes");
  }
  SessionDescription d;
  TransportAttributes session;
  std::vector<TransportAttributes> media_transport;
  LineReader reader(sdp, kMaxLineBytes);
  SdpLine line;
  bool seen_version = false;
  while (reader.next(line)) {
    if (!seen_version) {
      if (line.type != 'v' || line.value != "0") throw SdpError("the SDP does not start with v=0");
      seen_version = true;
      continue;
    }
    if (line.type == 'o') {
      std::string_view rest = line.value;
      text::nextToken(rest);  // username
      d.origin_session_id = std::string(text::nextToken(rest));
    } else if (line.type == 'm') {
      if (d.media.size() >= kMaxMediaSections) {
        throw SdpError("more than " + std::to_string(kMaxMediaSections) + " media sections");
      }
      d.media.push_back(parseMediaLine(line));
      media_transport.emplace_back();
    } else if (line.type == 'a') {
      const Attribute a = splitAttribute(line.value);
      if (d.media.empty()) {
        if (!parseTransportAttribute(line, a, session)) parseSessionAttribute(line, a, d);
      } else if (!parseTransportAttribute(line, a, media_transport.back())) {
        if (a.name == "extmap-allow-mixed") {
          d.extmap_allow_mixed = true;
        } else {
          parseMediaAttribute(line, a, d.media.back());
        }
      }
    }
    // s=, t=, c=, b=, i=, u=, e=, p=, z=, k=, r= carry nothing this layer needs.
  }
  if (!seen_version) throw SdpError("the SDP is empty");
  if (d.media.empty()) throw SdpError("no media sections");

  d.ice_ufrag = session.ice_ufrag;
  d.ice_pwd = session.ice_pwd;
  d.fingerprints = session.fingerprints;
  d.setup = session.setup;
  for (std::size_t i = 0; i < d.media.size(); ++i) {
    MediaSection& m = d.media[i];
    TransportAttributes& t = media_transport[i];
    m.ice_ufrag = !t.ice_ufrag.empty() ? std::move(t.ice_ufrag) : session.ice_ufrag;
    m.ice_pwd = !t.ice_pwd.empty() ? std::move(t.ice_pwd) : session.ice_pwd;
    m.fingerprints = !t.fingerprints.empty() ? std::move(t.fingerprints) : session.fingerprints;
    m.setup = !t.setup.empty() ? std::move(t.setup) : session.setup;
    m.direction = t.direction.value_or(session.direction.value_or(Direction::kSendRecv));
    if (m.port == 0) continue;  // rejected (or bundle-only) sections need no transport of their own
    if (m.mid.empty()) throw SdpError(mLine(i) + " has no mid");
    if (m.ice_ufrag.empty()) throw SdpError(mLine(i) + " has no ice-ufrag");
    if (m.ice_pwd.empty()) throw SdpError(mLine(i) + " has no ice-pwd");
    if (m.fingerprints.empty()) throw SdpError(mLine(i) + " has no fingerprint");
    // Every simulcast stream must name a rid of the right direction (RFC 8853 §5.1).
    for (const auto* list : {&m.simulcast_send, &m.simulcast_recv}) {
      const bool send = list == &m.simulcast_send;
      std::vector<std::string_view> seen;
      for (const SimulcastStream& stream : *list) {
        const auto rid = std::find_if(m.rids.begin(), m.rids.end(), [&](const Rid& r) { return r.id == stream.rid; });
        if (rid == m.rids.end() || rid->send != send) {
          throw SdpError(mLine(i) + ": a=simulcast names " + stream.rid + ", which is no a=rid " +
                         (send ? "send" : "recv") + " line");
        }
        if (std::find(seen.begin(), seen.end(), stream.rid) != seen.end()) {
          throw SdpError(mLine(i) + ": a=simulcast names " + stream.rid + " twice");
        }
        seen.push_back(stream.rid);
      }
    }
  }
  return d;
}

}  // namespace liveroom::media::sdp

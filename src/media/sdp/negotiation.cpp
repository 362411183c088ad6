// Codec / extension / feedback choice for offers and viewer-to-publisher codec matching
// (see negotiation.hpp for the rules).
#include "media/sdp/negotiation.hpp"

#include <algorithm>
#include <array>

#include "media/sdp/text.hpp"

namespace liveroom::media::sdp {

namespace {

constexpr std::array<std::string_view, 5> kSupportedExtensions = {kExtSdesMid, kExtAbsSendTime, kExtTransportWideCc,
                                                                  kExtRtpStreamId, kExtRepairedRtpStreamId};
constexpr std::array<std::string_view, 5> kSupportedFeedback = {"nack", "nack pli", "ccm fir", "goog-remb",
                                                                "transport-cc"};
constexpr std::string_view kDefaultH264ProfileLevelId = "420010";

std::string_view fmtpValue(const Fmtp* fmtp, const std::string& key) {
  if (fmtp == nullptr) return {};
  const auto it = fmtp->values.find(key);
  return it == fmtp->values.end() ? std::string_view{} : std::string_view(it->second);
}

bool isSupportedCodec(MediaKind kind, const RtpMap& rtpmap, const Fmtp* fmtp) {
  if (kind == MediaKind::kAudio) {
    return text::iequals(rtpmap.codec, "opus") && rtpmap.clock_rate == 48000 && rtpmap.channels == 2;
  }
  if (kind == MediaKind::kVideo && rtpmap.clock_rate == 90000) {
    if (text::iequals(rtpmap.codec, "VP8")) return true;
    if (text::iequals(rtpmap.codec, "H264")) return fmtpValue(fmtp, "packetization-mode") == "1";
  }
  return false;
}

bool isHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const char l = text::toLower(c);
    return (l >= '0' && l <= '9') || (l >= 'a' && l <= 'f');
  });
}

struct H264ProfileLevel {
  std::string profile;  // the profile class (see h264Profile), or the 4 hex digits when unclassified
  unsigned level = 0;
};

unsigned hexValue(std::string_view hex) {
  unsigned value = 0;
  for (const char c : hex) {
    const char l = text::toLower(c);
    value = value * 16 + static_cast<unsigned>(l <= '9' ? l - '0' : l - 'a' + 10);
  }
  return value;
}

// The H.264 profile a profile_idc + profile-iop pair means (RFC 6184 §8.1, table 5, as libwebrtc
// reads it): Constrained Baseline has several spellings (42e0 from browsers, 42c0 from x264 and
// OpenH264, 4d80 ...), and a decoder of one spelling decodes them all.
std::string h264Profile(std::string_view hex4) {
  const unsigned idc = hexValue(hex4.substr(0, 2));
  const unsigned iop = hexValue(hex4.substr(2, 2));
  if (idc == 0x42) return (iop & 0x40) != 0 ? "constrained-baseline" : "baseline";
  if (idc == 0x4d) return (iop & 0x80) != 0 ? "constrained-baseline" : "main";
  if (idc == 0x58 && (iop & 0xC0) == 0xC0) return "constrained-baseline";
  if (idc == 0x64 && iop == 0x00) return "high";
  if (idc == 0x64 && iop == 0x0C) return "constrained-high";
  return text::lower(hex4);
}

std::optional<H264ProfileLevel> parseProfileLevelId(std::string_view plid) {
  if (plid.empty()) plid = kDefaultH264ProfileLevelId;
  if (plid.size() != 6 || !isHex(plid)) return std::nullopt;
  return H264ProfileLevel{h264Profile(plid.substr(0, 4)), hexValue(plid.substr(4))};
}

std::optional<int> rtxFor(const MediaSection& m, int pt) {
  for (const int candidate : m.payload_types) {
    const RtpMap* r = m.rtpmap(candidate);
    if (r == nullptr || !text::iequals(r->codec, "rtx")) continue;
    const auto apt = text::parseUnsigned<unsigned>(fmtpValue(m.fmtp(candidate), "apt"));
    if (apt && static_cast<int>(*apt) == pt) return candidate;
  }
  return std::nullopt;
}

CodecChoice makeChoice(const MediaSection& m, int pt, const RtpMap& rtpmap) {
  CodecChoice c;
  c.payload_type = pt;
  c.name = rtpmap.codec;
  c.clock_rate = rtpmap.clock_rate;
  c.channels = rtpmap.channels;
  if (const Fmtp* f = m.fmtp(pt)) c.fmtp = f->params;
  for (std::string& fb : m.rtcpFeedback(pt)) {
    if (isSupportedFeedback(fb)) c.rtcp_fb.push_back(std::move(fb));
  }
  if (m.kind == MediaKind::kVideo) c.rtx_payload_type = rtxFor(m, pt);
  return c;
}

// Fills the codec-independent parts of a decision; returns a reject reason if the section
// cannot carry media at all.
std::string prepareDecision(const SessionDescription& offer, const MediaSection& m, std::size_t index,
                            MediaDecision& d) {
  d.index = index;
  d.mid = m.mid;
  d.kind = m.kind;
  d.offered_direction = m.direction;
  d.rtcp_rsize = m.rtcp_rsize;
  // Port 0 rejects a section, except a bundle-only one (RFC 8843 §7.5.1; GStreamer's
  // max-bundle offers send every section after the first this way).
  const Group* bundle = offer.bundleGroup();
  const bool bundled =
      bundle != nullptr && std::find(bundle->mids.begin(), bundle->mids.end(), m.mid) != bundle->mids.end();
  if (m.port == 0 && !(m.bundle_only && bundled)) return "rejected in the offer";
  if (m.kind != MediaKind::kAudio && m.kind != MediaKind::kVideo) return "unsupported media kind " + m.kind_name;
  if (m.proto.find("SAVPF") == std::string::npos) return "unsupported transport " + m.proto;
  for (const ExtMap& e : m.extmaps) {
    if (isSupportedExtension(e.uri)) d.extmaps.push_back(ExtMap{e.id, e.uri, std::nullopt});
  }
  return {};
}

}  // namespace

bool CodecChoice::isH264() const { return text::iequals(name, "H264"); }
bool CodecChoice::isVp8() const { return text::iequals(name, "VP8"); }
bool CodecChoice::isOpus() const { return text::iequals(name, "opus"); }

bool isSupportedExtension(std::string_view uri) {
  return std::find(kSupportedExtensions.begin(), kSupportedExtensions.end(), uri) != kSupportedExtensions.end();
}

bool isSupportedFeedback(std::string_view rtcp_fb) {
  return std::find(kSupportedFeedback.begin(), kSupportedFeedback.end(), rtcp_fb) != kSupportedFeedback.end();
}

std::optional<CodecChoice> chooseCodec(const MediaSection& m) {
  for (const int pt : m.payload_types) {
    const RtpMap* r = m.rtpmap(pt);
    if (r != nullptr && isSupportedCodec(m.kind, *r, m.fmtp(pt))) return makeChoice(m, pt, *r);
  }
  return std::nullopt;
}

std::vector<CodecChoice> supportedCodecs(const MediaSection& m) {
  std::vector<CodecChoice> out;
  for (const int pt : m.payload_types) {
    const RtpMap* r = m.rtpmap(pt);
    if (r != nullptr && isSupportedCodec(m.kind, *r, m.fmtp(pt))) out.push_back(makeChoice(m, pt, *r));
  }
  return out;
}

std::vector<MediaDecision> negotiate(const SessionDescription& offer) {
  std::vector<MediaDecision> out;
  bool have_audio = false;
  bool have_video = false;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const MediaSection& m = offer.media[i];
    MediaDecision& d = out.emplace_back();
    d.reject_reason = prepareDecision(offer, m, i, d);
    if (!d.reject_reason.empty()) continue;
    bool& have_kind = m.kind == MediaKind::kAudio ? have_audio : have_video;
    if (have_kind) {
      d.reject_reason = "only one " + m.kind_name + " track is supported";
      continue;
    }
    d.codec = chooseCodec(m);
    if (!d.codec) {
      d.reject_reason = m.kind == MediaKind::kAudio
                            ? "no supported audio codec offered (Opus)"
                            : "no supported video codec offered (VP8, H264 packetization-mode=1)";
      continue;
    }
    // Simulcast (browsers' sendEncodings, OBS 32.1): every layer offered is taken.
    if (m.kind == MediaKind::kVideo && m.direction != Direction::kRecvOnly) d.simulcast = m.simulcast_send;
    d.accepted = true;
    have_kind = true;
  }
  return out;
}

CodecMatch matchViewerCodec(const MediaSection& viewer, const PublisherCodec& publisher) {
  const bool h264 = text::iequals(publisher.name, "H264");
  std::optional<H264ProfileLevel> wanted;
  Fmtp publisher_fmtp;
  if (h264) {
    publisher_fmtp.values = parseFmtpParameters(publisher.fmtp);
    wanted = parseProfileLevelId(fmtpValue(&publisher_fmtp, "profile-level-id"));
  }
  for (const int pt : viewer.payload_types) {
    const RtpMap* r = viewer.rtpmap(pt);
    if (r == nullptr || !text::iequals(r->codec, publisher.name)) continue;
    const Fmtp* f = viewer.fmtp(pt);
    if (!isSupportedCodec(viewer.kind, *r, f)) continue;
    if (h264) {
      const auto offered = parseProfileLevelId(fmtpValue(f, "profile-level-id"));
      if (!wanted || !offered || offered->profile != wanted->profile || offered->level < wanted->level) continue;
    }
    return CodecMatch{makeChoice(viewer, pt, *r), {}};
  }
  std::string error = "the viewer cannot receive " + publisher.name;
  if (h264) {
    const std::string_view plid = fmtpValue(&publisher_fmtp, "profile-level-id");
    error += " (profile-level-id " + std::string(plid.empty() ? kDefaultH264ProfileLevelId : plid) + ")";
  }
  return CodecMatch{std::nullopt, std::move(error)};
}

MediaSection codecsForMatching(const MediaSection& viewer) {
  MediaSection out;
  out.kind = viewer.kind;
  out.kind_name = viewer.kind_name;
  const auto keep = [&](int pt) {
    out.payload_types.push_back(pt);
    if (const RtpMap* r = viewer.rtpmap(pt)) out.rtpmaps.emplace(pt, *r);
    if (const Fmtp* f = viewer.fmtp(pt)) out.fmtps.emplace(pt, *f);
    if (auto fb = viewer.rtcp_fb.find(pt); fb != viewer.rtcp_fb.end()) out.rtcp_fb.emplace(pt, fb->second);
  };
  for (const int pt : viewer.payload_types) {
    const RtpMap* r = viewer.rtpmap(pt);
    if (r == nullptr || !isSupportedCodec(viewer.kind, *r, viewer.fmtp(pt))) continue;
    keep(pt);
    if (viewer.kind != MediaKind::kVideo) continue;
    if (const std::optional<int> rtx = rtxFor(viewer, pt)) keep(*rtx);
  }
  if (auto any = viewer.rtcp_fb.find(kAnyPayloadType); any != viewer.rtcp_fb.end()) out.rtcp_fb.emplace(*any);
  return out;
}

ViewerNegotiation negotiateViewer(const SessionDescription& offer, const std::optional<PublisherCodec>& audio,
                                  const std::optional<PublisherCodec>& video) {
  ViewerNegotiation out;
  bool have_audio = false;
  bool have_video = false;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const MediaSection& m = offer.media[i];
    MediaDecision& d = out.media.emplace_back();
    d.reject_reason = prepareDecision(offer, m, i, d);
    if (!d.reject_reason.empty()) continue;
    const bool is_audio = m.kind == MediaKind::kAudio;
    bool& have_kind = is_audio ? have_audio : have_video;
    const std::optional<PublisherCodec>& publisher = is_audio ? audio : video;
    if (have_kind) {
      d.reject_reason = "only one " + m.kind_name + " track is supported";
      continue;
    }
    std::vector<CodecChoice> codecs = supportedCodecs(m);
    if (codecs.empty()) {
      d.reject_reason = is_audio ? "no supported audio codec offered (Opus)"
                                 : "no supported video codec offered (VP8, H264 packetization-mode=1)";
      continue;
    }
    std::size_t first = 0;
    if (publisher) {
      CodecMatch match = matchViewerCodec(m, *publisher);
      if (!match.ok()) {
        d.reject_reason = match.error;
        const bool wants_media = m.direction == Direction::kRecvOnly || m.direction == Direction::kSendRecv;
        if (wants_media && out.error.empty()) out.error = match.error;
        continue;
      }
      for (std::size_t c = 0; c < codecs.size(); ++c) {
        if (codecs[c].payload_type == match.codec->payload_type) first = c;
      }
    }
    // A viewer gets one stream per track: no stream ids (the publisher's rids mean nothing to it).
    std::erase_if(d.extmaps,
                  [](const ExtMap& e) { return e.uri == kExtRtpStreamId || e.uri == kExtRepairedRtpStreamId; });
    d.codec = std::move(codecs[first]);
    for (std::size_t c = 0; c < codecs.size(); ++c) {
      if (c != first) d.alternatives.push_back(std::move(codecs[c]));
    }
    d.accepted = true;
    have_kind = true;
  }
  return out;
}

}  // namespace liveroom::media::sdp

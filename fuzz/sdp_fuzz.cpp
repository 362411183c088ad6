// Fuzz target: SDP offers (WHIP/WHEP POST bodies), media/sdp.
// Checks, beyond "no crash":
//  - parse() throws nothing but SdpError, and what it accepts respects its limits (section
//    count, RTP payload types 0..127 matching the m-line's formats);
//  - negotiate() accepts at most one audio and one video section, each with a codec the offer
//    offered (and an RTX payload type that is in the m-line);
//  - the answer to an accepted offer, as a WHIP publisher and as a WHEP viewer (for a few
//    publisher codecs), never makes buildAnswer() throw, parses again with parse(), has one
//    m-section per offered one in order, the offered mids on accepted sections, the mirrored
//    direction, the chosen codec's rtpmap, only the server's ICE credentials and fingerprint
//    (never the offer's), and a BUNDLE group of exactly the accepted mids.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "media/sdp/answer_builder.hpp"
#include "media/sdp/negotiation.hpp"
#include "media/sdp/session_description.hpp"

namespace {

using namespace liveroom::media::sdp;

constexpr const char* kUfrag = "fzUf";
constexpr const char* kPwd = "fuzzpasswordfuzzpassword";
constexpr const char* kFingerprint =
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

AnswerParams paramsFor(const SessionDescription& offer, std::vector<AnswerSection> sections, bool viewer) {
  AnswerParams p;
  p.ice_ufrag = kUfrag;
  p.ice_pwd = kPwd;
  p.fingerprint_sha256 = kFingerprint;
  p.candidates = {LocalCandidate{"1", 2130706431, "192.0.2.1", 8189}, LocalCandidate{"2", 2130706175, "::1", 8189}};
  p.session_id = 42;
  uint32_t ssrc = 1000;
  for (AnswerSection& s : sections) {
    if (viewer && s.decision.accepted) {
      SendTrack t;
      t.ssrc = ssrc++;
      if (s.decision.codec && s.decision.codec->rtx_payload_type) t.rtx_ssrc = ssrc++;
      t.cname = "liveroom";
      t.stream_id = "stream";
      t.track_id = "track" + std::to_string(t.ssrc);
      s.send = t;
    }
  }
  p.sections = std::move(sections);
  (void)offer;
  return p;
}

void checkParsedOffer(const SessionDescription& d) {
  FUZZ_CHECK(!d.media.empty() && d.media.size() <= kMaxMediaSections, "media section count within limits");
  for (const MediaSection& m : d.media) {
    FUZZ_CHECK(!m.formats.empty(), "an m-line has formats");
    if (m.isRtp()) {
      FUZZ_CHECK(m.payload_types.size() == m.formats.size(), "every RTP format is a payload type");
      for (int pt : m.payload_types) FUZZ_CHECK(pt >= 0 && pt <= 127, "payload type in 0..127");
    }
    if (m.port != 0) {
      FUZZ_CHECK(!m.mid.empty() && !m.ice_ufrag.empty() && !m.ice_pwd.empty(), "a live section has transport");
    }
  }
}

void checkDecisions(const SessionDescription& offer, const std::vector<MediaDecision>& decisions) {
  FUZZ_CHECK(decisions.size() == offer.media.size(), "one decision per m-section");
  int audio = 0, video = 0;
  for (size_t i = 0; i < decisions.size(); ++i) {
    const MediaDecision& d = decisions[i];
    const MediaSection& m = offer.media[i];
    FUZZ_CHECK(d.index == i, "decisions in offer order");
    if (!d.accepted) {
      FUZZ_CHECK(!d.reject_reason.empty(), "a rejection has a reason");
      continue;
    }
    FUZZ_CHECK(d.codec.has_value(), "an accepted section has a codec");
    FUZZ_CHECK(m.kind == MediaKind::kAudio || m.kind == MediaKind::kVideo, "only audio and video are accepted");
    (m.kind == MediaKind::kAudio ? audio : video)++;
    auto offered = [&](int pt) {
      return std::find(m.payload_types.begin(), m.payload_types.end(), pt) != m.payload_types.end();
    };
    FUZZ_CHECK(offered(d.codec->payload_type), "the chosen codec was offered");
    if (d.codec->rtx_payload_type) FUZZ_CHECK(offered(*d.codec->rtx_payload_type), "the RTX payload type was offered");
    for (const CodecChoice& alt : d.alternatives) FUZZ_CHECK(offered(alt.payload_type), "alternatives were offered");
    for (const ExtMap& e : d.extmaps) FUZZ_CHECK(isSupportedExtension(e.uri), "only supported extensions");
    for (const std::string& fb : d.codec->rtcp_fb) FUZZ_CHECK(isSupportedFeedback(fb), "only supported feedback");
  }
  FUZZ_CHECK(audio <= 1 && video <= 1, "at most one audio and one video section");
}

// The answer must parse and mirror the offer section by section.
void checkAnswer(const SessionDescription& offer, const AnswerParams& params, const std::string& text) {
  // On a violation, show the answer too.
#define ANSWER_CHECK(cond, what)                                      \
  do {                                                                \
    if (!(cond)) std::fprintf(stderr, "answer:\n%s\n", text.c_str()); \
    FUZZ_CHECK(cond, what);                                           \
  } while (0)
  SessionDescription answer;
  try {
    answer = parse(text);
  } catch (const SdpError& e) {
    std::fprintf(stderr, "answer that does not parse (%s):\n%s\n", e.what(), text.c_str());
    ANSWER_CHECK(false, "the answer parses again");
  }
  ANSWER_CHECK(answer.media.size() == offer.media.size(), "one answer section per offered one");
  ANSWER_CHECK(answer.ice_lite, "the answer is ice-lite");
  std::vector<std::string> accepted_mids;
  for (size_t i = 0; i < answer.media.size(); ++i) {
    const MediaSection& a = answer.media[i];
    const MediaSection& o = offer.media[i];
    const AnswerSection& s = params.sections[i];
    ANSWER_CHECK(a.kind_name == o.kind_name, "kind kept");
    ANSWER_CHECK(a.proto == o.proto, "proto kept");
    const bool accepted = s.decision.accepted && !o.mid.empty();
    if (!accepted) {
      ANSWER_CHECK(a.port == 0, "a rejected section has port 0");
      continue;
    }
    accepted_mids.push_back(o.mid);
    ANSWER_CHECK(a.port != 0, "an accepted section has a port");
    ANSWER_CHECK(a.mid == o.mid, "the accepted section keeps the offered mid");
    ANSWER_CHECK(a.ice_ufrag == kUfrag && a.ice_pwd == kPwd, "only the server's ICE credentials");
    ANSWER_CHECK(a.setup == "passive", "setup:passive");
    ANSWER_CHECK(a.direction == s.direction, "the answered direction");
    ANSWER_CHECK(a.rtcp_mux, "rtcp-mux");
    const CodecChoice& c = *s.decision.codec;
    ANSWER_CHECK(!a.payload_types.empty() && a.payload_types.front() == c.payload_type, "the chosen codec first");
    const RtpMap* r = a.rtpmap(c.payload_type);
    ANSWER_CHECK(r != nullptr && r->codec == c.name && r->clock_rate == c.clock_rate && r->channels == c.channels,
                 "the chosen codec's rtpmap");
    if (!c.fmtp.empty()) {
      const Fmtp* f = a.fmtp(c.payload_type);
      ANSWER_CHECK(f != nullptr && f->params == c.fmtp, "the chosen codec's fmtp echoed");
    }
    for (const Candidate& cand : a.candidates) {
      ANSWER_CHECK(cand.address == "192.0.2.1" || cand.address == "::1", "only the server's candidates");
    }
    ANSWER_CHECK(a.end_of_candidates, "end-of-candidates");
    if (s.send) {
      ANSWER_CHECK(!a.ssrcs.empty() && a.ssrcs.front().ssrc == s.send->ssrc, "the viewer's SSRC announced");
    }
  }
  ANSWER_CHECK(text.find(std::string("a=fingerprint:sha-256 ") + kFingerprint + "\r\n") != std::string::npos ||
                   accepted_mids.empty(),
               "the server's fingerprint");
  const Group* bundle = answer.bundleGroup();
  if (accepted_mids.empty()) {
    ANSWER_CHECK(bundle == nullptr, "no BUNDLE without accepted sections");
  } else {
    ANSWER_CHECK(bundle != nullptr && bundle->mids == accepted_mids, "BUNDLE lists exactly the accepted mids");
  }
}
#undef ANSWER_CHECK

void answerAs(const SessionDescription& offer, std::vector<MediaDecision> decisions, Role role) {
  AnswerParams params = paramsFor(offer, answerSections(decisions, offer, role), role == Role::kWhepViewer);
  std::string text;
  try {
    text = buildAnswer(offer, params);
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);  // only a caller bug may throw, and these params fit the offer
  }
  checkAnswer(offer, params, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = liveroom::fuzz::asText(data, size);
  SessionDescription offer;
  try {
    offer = parse(text);
  } catch (const SdpError&) {
    return 0;
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);
  }
  checkParsedOffer(offer);

  std::vector<MediaDecision> decisions = negotiate(offer);
  checkDecisions(offer, decisions);
  answerAs(offer, decisions, Role::kWhipPublisher);

  // A viewer against no publisher yet, a VP8 + Opus one and an H.264 one (by input size).
  std::optional<PublisherCodec> audio, video;
  switch (size % 3) {
    case 1:
      audio = PublisherCodec{"opus", "minptime=10;useinbandfec=1"};
      video = PublisherCodec{"VP8", ""};
      break;
    case 2:
      video = PublisherCodec{"H264", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"};
      break;
    default:
      break;
  }
  ViewerNegotiation viewer = negotiateViewer(offer, audio, video);
  checkDecisions(offer, viewer.media);
  for (const MediaDecision& d : viewer.media) {
    if (!d.accepted) continue;
    // RTX only as offered (an rtx rtpmap whose apt= is the codec), and never stream ids.
    if (d.codec->rtx_payload_type) {
      const MediaSection& m = offer.media[d.index];
      const RtpMap* r = m.rtpmap(*d.codec->rtx_payload_type);
      const auto is_rtx = [](const std::string& name) {
        return name.size() == 3 && std::tolower(static_cast<unsigned char>(name[0])) == 'r' &&
               std::tolower(static_cast<unsigned char>(name[1])) == 't' &&
               std::tolower(static_cast<unsigned char>(name[2])) == 'x';
      };
      FUZZ_CHECK(r != nullptr && is_rtx(r->codec), "viewer RTX is an offered rtx format");
    }
    for (const ExtMap& e : d.extmaps) {
      FUZZ_CHECK(e.uri != kExtRtpStreamId && e.uri != kExtRepairedRtpStreamId, "viewers get no stream ids");
    }
  }
  if (viewer.ok()) answerAs(offer, viewer.media, Role::kWhepViewer);
  return 0;
}

// Offer -> negotiated session parameters (see offer_negotiation.hpp).
#include "media/server/offer_negotiation.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "media/sdp/negotiation.hpp"

namespace liveroom::media {

namespace {

// How strong a fingerprint hash is, 0 for one we do not accept (sha-1 and older).
int fingerprintStrength(std::string_view algorithm) {
  if (algorithm == "sha-512") return 3;
  if (algorithm == "sha-384") return 2;
  if (algorithm == "sha-256") return 1;
  return 0;
}

// The ICE credentials and DTLS fingerprint of the first accepted section (BUNDLE: one
// transport for all), or invalid_sdp.
WebRtcTransport::RemoteParameters remoteParameters(const sdp::SessionDescription& offer,
                                                   const std::vector<sdp::MediaDecision>& decisions) {
  for (const sdp::MediaDecision& d : decisions) {
    if (!d.accepted) continue;
    const sdp::MediaSection& m = offer.media[d.index];
    if (m.ice_ufrag.empty() || m.ice_pwd.empty()) throw Error(codes::kInvalidSdp, "the offer has no ICE credentials");
    if (m.fingerprints.empty()) throw Error(codes::kInvalidSdp, "the offer has no DTLS fingerprint");
    // RFC 8122 §5: an offer may carry several fingerprints of its certificate; check the
    // strongest hash we support.
    const sdp::Fingerprint* best = nullptr;
    int best_strength = 0;
    for (const sdp::Fingerprint& f : m.fingerprints) {
      const int strength = fingerprintStrength(f.algorithm);
      if (strength > best_strength) {
        best = &f;
        best_strength = strength;
      }
    }
    if (best == nullptr) {
      std::string offered;
      for (const sdp::Fingerprint& f : m.fingerprints) offered += (offered.empty() ? "" : ", ") + f.algorithm;
      throw Error(codes::kInvalidSdp,
                  "unsupported DTLS fingerprint algorithm " + offered + " (sha-256, sha-384 or sha-512 is required)");
    }
    return {m.ice_ufrag, m.ice_pwd, best->value};
  }
  throw Error(codes::kInvalidSdp, "the offer has no usable media section");
}

// No accepted section: say why, naming what was offered.
[[noreturn]] void throwNothingAccepted(const sdp::SessionDescription& offer,
                                       const std::vector<sdp::MediaDecision>& decisions) {
  bool any_av = false;
  std::string reasons;
  for (const sdp::MediaDecision& d : decisions) {
    if (d.kind != sdp::MediaKind::kAudio && d.kind != sdp::MediaKind::kVideo) continue;
    any_av = true;
    if (!reasons.empty()) reasons += "; ";
    reasons += std::string(sdp::toString(d.kind)) + ": " + d.reject_reason;
  }
  if (!any_av || offer.media.empty()) throw Error(codes::kInvalidSdp, "the offer has no audio or video section");
  throw Error(codes::kUnsupportedCodec, reasons);
}

// A WHIP offer must send media and a WHEP offer receive it: a viewer's offer posted to a publish
// URL would otherwise take the broadcaster's place while sending nothing.
void requireDirection(const std::vector<sdp::MediaDecision>& decisions, bool publisher) {
  for (const sdp::MediaDecision& d : decisions) {
    if (!d.accepted) continue;
    const sdp::Direction dir = d.offered_direction;
    if (dir == sdp::Direction::kSendRecv) return;
    if (publisher && dir == sdp::Direction::kSendOnly) return;
    if (!publisher && dir == sdp::Direction::kRecvOnly) return;
  }
  throw Error(codes::kInvalidSdp, publisher ? "a WHIP offer must send audio or video (a=sendonly)"
                                            : "a WHEP offer must receive audio or video (a=recvonly)");
}

// The checks every offer passes once negotiated, whatever its role.
void requireUsable(const sdp::SessionDescription& offer, const std::vector<sdp::MediaDecision>& decisions,
                   bool publisher) {
  if (std::none_of(decisions.begin(), decisions.end(), [](const auto& d) { return d.accepted; })) {
    throwNothingAccepted(offer, decisions);
  }
  requireDirection(decisions, publisher);
}

}  // namespace

sdp::SessionDescription parseOffer(const std::string& text) {
  try {
    return sdp::parse(text);
  } catch (const sdp::SdpError& e) {
    throw Error(codes::kInvalidSdp, e.what());
  }
}

NegotiatedPublisher negotiatePublisher(const sdp::SessionDescription& offer) {
  const std::vector<sdp::MediaDecision> decisions = sdp::negotiate(offer);
  requireUsable(offer, decisions, true);
  NegotiatedPublisher out;
  out.remote = remoteParameters(offer, decisions);
  out.source = std::make_shared<const SourceDescription>(describeSource(decisions));
  out.sections = sdp::answerSections(decisions, offer, sdp::Role::kWhipPublisher);
  return out;
}

NegotiatedViewer negotiateViewer(const sdp::SessionDescription& offer, const SourceDescription* publisher) {
  const sdp::ViewerNegotiation negotiation =
      sdp::negotiateViewer(offer, publisher ? publisher->codec(sdp::MediaKind::kAudio) : std::nullopt,
                           publisher ? publisher->codec(sdp::MediaKind::kVideo) : std::nullopt);
  if (!negotiation.ok()) throw Error(codes::kUnsupportedCodec, negotiation.error);
  requireUsable(offer, negotiation.media, false);
  NegotiatedViewer out;
  out.remote = remoteParameters(offer, negotiation.media);
  out.sections = sdp::answerSections(negotiation.media, offer, sdp::Role::kWhepViewer);
  for (sdp::AnswerSection& section : out.sections) {
    if (!section.decision.accepted) continue;
    ViewerTrack& t = out.tracks.emplace_back();
    t.kind = section.decision.kind;
    t.offered = sdp::codecsForMatching(offer.media[section.decision.index]);
    t.decision = section.decision;
    t.decision.alternatives = {};  // for the answer only; a viewer keeps its extmaps
    t.send.ssrc = randomSsrc();
    // Retransmissions go on an RTX stream of their own when the viewer offered RTX (RFC 4588).
    if (section.decision.codec && section.decision.codec->rtx_payload_type) t.send.rtx_ssrc = randomSsrc();
    t.send.cname = "liveroom";
    t.send.stream_id = "liveroom";
    t.send.track_id = t.kind == sdp::MediaKind::kVideo ? "video" : "audio";
    section.send = t.send;
  }
  return out;
}

}  // namespace liveroom::media

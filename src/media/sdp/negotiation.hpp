// Codec, RTX, header-extension and RTCP feedback choice for one offer, and the matching of a
// WHEP viewer's offer against the codec a publisher already sends. Pure functions over a parsed
// SessionDescription; what the server supports is fixed here:
//   audio: Opus 48000/2;  video: VP8, or H.264 with packetization-mode=1 (offered profile-level-id
//   kept); RTX paired with the chosen video codec when offered; extensions sdes:mid, abs-send-time,
//   transport-wide-cc (offer's ids kept); rtcp-fb nack, nack pli, ccm fir, goog-remb, transport-cc.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "media/sdp/session_description.hpp"

namespace liveroom::media::sdp {

inline constexpr std::string_view kExtSdesMid = "urn:ietf:params:rtp-hdrext:sdes:mid";
inline constexpr std::string_view kExtRtpStreamId = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
inline constexpr std::string_view kExtRepairedRtpStreamId = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
inline constexpr std::string_view kExtAbsSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
inline constexpr std::string_view kExtTransportWideCc =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

// One chosen codec, in the payload-type space of the offer it was chosen from.
struct CodecChoice {
  int payload_type = 0;
  std::string name;  // as offered ("opus", "VP8", "H264")
  uint32_t clock_rate = 0;
  uint32_t channels = 0;                // 0 when the rtpmap had none (video)
  std::string fmtp;                     // the offered parameter string, echoed in the answer
  std::vector<std::string> rtcp_fb;     // the supported subset of what was offered, in offer order
  std::optional<int> rtx_payload_type;  // the offer's RTX PT whose apt= is payload_type

  bool isH264() const;
  bool isVp8() const;
  bool isOpus() const;
};

// The decision for one m-section of an offer.
struct MediaDecision {
  std::size_t index = 0;  // position in the offer
  std::string mid;
  MediaKind kind = MediaKind::kOther;
  bool accepted = false;
  std::string reject_reason;  // when !accepted, e.g. "no supported video codec offered"
  std::optional<CodecChoice> codec;
  // More codecs the answer also lists after `codec` (WHEP viewers: every supported codec they
  // offered, so a publisher that connects later, or reconnects with another codec, can still be
  // forwarded without renegotiation).
  std::vector<CodecChoice> alternatives;
  std::vector<ExtMap> extmaps;  // the supported subset, offer ids, without direction
  bool rtcp_rsize = false;
  Direction offered_direction = Direction::kSendRecv;
  // A publisher's simulcast layers (a=simulcast:send with its a=rid lines), all accepted, in the
  // offer's order; empty without simulcast. The answer says a=rid:<id> recv and a=simulcast:recv.
  std::vector<SimulcastStream> simulcast;
};

bool isSupportedExtension(std::string_view uri);
bool isSupportedFeedback(std::string_view rtcp_fb);

// Chooses the first codec (in offer order) the server supports in `m`; nullopt if none.
std::optional<CodecChoice> chooseCodec(const MediaSection& m);

// One decision per m-section of `offer`, in order. Audio and video sections with a supported
// codec are accepted (at most one of each kind: the server forwards one track per kind); the
// others (data channels, extra tracks, unsupported codecs, port 0) are rejected with a reason.
std::vector<MediaDecision> negotiate(const SessionDescription& offer);

// What the publisher sends for one kind, as negotiated on its side.
struct PublisherCodec {
  std::string name;  // "opus", "VP8", "H264" (case-insensitive)
  std::string fmtp;  // the publisher's fmtp parameter string (may be empty)
};

struct CodecMatch {
  std::optional<CodecChoice> codec;  // in the viewer's payload-type space
  std::string error;                 // when !codec: "the viewer cannot receive H264 (profile-level-id 42e01f)"
  bool ok() const { return codec.has_value(); }
};

// Finds, in the viewer's m-section, the first offered payload type that can carry what the
// publisher sends. Rule: same codec name (case-insensitive) and clock rate; Opus and VP8 match on
// that alone. H.264 additionally needs packetization-mode=1 on the viewer's side and a
// profile-level-id of the same profile as the publisher's (the first 4 hex digits, profile_idc +
// constraint flags, read as RFC 6184 table 5 does: 42e0, 42c0 and 4d80 are all Constrained
// Baseline), with a level (last 2 hex digits) >= the publisher's
// level. A missing profile-level-id means RFC 6184's default, 420010 (Baseline, level 1.0).
CodecMatch matchViewerCodec(const MediaSection& viewer, const PublisherCodec& publisher);
// What matchViewerCodec needs of a viewer's section and nothing more: its kind and the payload
// types we could forward (with their rtpmap, fmtp, feedback and RTX), for keeping with a viewer
// for its whole session (a browser's video section lists ~30 payload types and its candidates;
// kept whole it was ~10 KiB per viewer). matchViewerCodec answers the same on it.
MediaSection codecsForMatching(const MediaSection& viewer);

// Every codec of `m` the server supports, in offer order (chooseCodec() is the first of them).
std::vector<CodecChoice> supportedCodecs(const MediaSection& m);

// Viewer (WHEP) decisions: like negotiate(), but each accepted section lists every supported codec
// the viewer offered (`codec` first, then `alternatives`; no RTX: retransmissions go out on the
// media SSRC). When the publisher's codec of that kind is known, `codec` is the viewer's match for
// it and `error` is set (naming the codec) if a section that wants to receive that kind cannot
// receive it. A kind the publisher does not send (yet) is accepted with all supported codecs: the
// viewer waits for a publisher.
struct ViewerNegotiation {
  std::vector<MediaDecision> media;
  std::string error;
  bool ok() const { return error.empty(); }
};
ViewerNegotiation negotiateViewer(const SessionDescription& offer, const std::optional<PublisherCodec>& audio,
                                  const std::optional<PublisherCodec>& video);

}  // namespace liveroom::media::sdp

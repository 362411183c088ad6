// SessionDescription: an SDP offer (RFC 8866, JSEP flavour as sent by browsers, GStreamer webrtcbin
// and OBS) parsed into plain values. parse() is a pure function over untrusted bytes: it throws
// SdpError with a human reason for anything it cannot accept and never reads out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "media/sdp/sdp_error.hpp"

namespace liveroom::media::sdp {

// Input limits: anything larger is refused before or while parsing.
inline constexpr std::size_t kMaxSdpBytes = 64 * 1024;
inline constexpr std::size_t kMaxLineBytes = 4 * 1024;
inline constexpr std::size_t kMaxMediaSections = 64;
inline constexpr std::size_t kMaxRids = 16;  // a=rid lines in one m-section (RFC 8851)

enum class MediaKind { kAudio, kVideo, kApplication, kOther };
enum class Direction { kSendRecv, kSendOnly, kRecvOnly, kInactive };

std::string_view toString(MediaKind kind);
std::string_view toString(Direction direction);  // "sendrecv", "sendonly", ...
std::optional<Direction> directionFromString(std::string_view s);

struct Fingerprint {
  std::string algorithm;  // lower case, e.g. "sha-256"
  std::string value;      // as sent: colon-separated hex, e.g. "97:B5:..."
  bool operator==(const Fingerprint&) const = default;
};

// a=candidate (RFC 8839 section 5.1). `raw` is the attribute value without "candidate:".
struct Candidate {
  std::string raw;
  std::string foundation;
  uint32_t component = 0;
  std::string transport;  // lower case: "udp", "tcp"
  uint32_t priority = 0;
  std::string address;
  uint16_t port = 0;
  std::string type;  // "host", "srflx", "prflx", "relay"
};

// Parses the value of an a=candidate attribute ("candidate:" prefix optional); nullopt if malformed.
std::optional<Candidate> parseCandidate(std::string_view value);

struct ExtMap {
  int id = 0;
  std::string uri;
  std::optional<Direction> direction;
};

struct RtpMap {
  std::string codec;  // as sent, e.g. "opus", "VP8", "H264"
  uint32_t clock_rate = 0;
  uint32_t channels = 0;  // 0 when the rtpmap has no channel count
};

struct Fmtp {
  std::string params;                         // the raw parameter string
  std::map<std::string, std::string> values;  // key (lower case) -> value, from "k=v;k=v"
};

// "k=v;k=v" (an fmtp parameter string) -> key (lower case) -> value; pairs without '=' are skipped.
std::map<std::string, std::string> parseFmtpParameters(std::string_view params);

struct SsrcInfo {
  uint32_t ssrc = 0;
  std::string cname;
  std::string msid;  // "<stream id> <track id>" from a=ssrc:<ssrc> msid:...
};

struct SsrcGroup {
  std::string semantics;  // "FID" pairs a media SSRC with its RTX SSRC
  std::vector<uint32_t> ssrcs;
};

struct Group {
  std::string semantics;  // "BUNDLE"
  std::vector<std::string> mids;
};

// a=rid:<id> send|recv [restrictions] (RFC 8851): one RTP stream of a simulcast section.
struct Rid {
  std::string id;  // 1..255 of ALPHA / DIGIT / "-" / "_"
  bool send = true;
  std::string restrictions;  // "pt=96;max-width=1280", kept as sent
};

// One layer of a=simulcast (RFC 8853): the first of its alternatives, paused when marked "~".
struct SimulcastStream {
  std::string rid;
  bool paused = false;
};

// rtcp_fb key for "a=rtcp-fb:* ..." (feedback valid for every payload type).
inline constexpr int kAnyPayloadType = -1;

struct MediaSection {
  MediaKind kind = MediaKind::kOther;
  std::string kind_name;  // the m= media token as sent ("audio", "video", "application", ...)
  uint16_t port = 0;
  std::string proto;                 // e.g. "UDP/TLS/RTP/SAVPF"
  std::vector<std::string> formats;  // the m= format tokens as sent
  std::vector<int> payload_types;    // formats as RTP payload types, in order (RTP protos only)
  std::string mid;
  Direction direction = Direction::kSendRecv;
  std::string ice_ufrag;  // media-level, else session-level
  std::string ice_pwd;    // media-level, else session-level
  // Media-level, else session-level; every a=fingerprint line in order (RFC 8122 §5 allows one
  // per hash function).
  std::vector<Fingerprint> fingerprints;
  std::string setup;  // media-level, else session-level ("actpass", ...)
  bool rtcp_mux = false;
  bool rtcp_mux_only = false;
  bool rtcp_rsize = false;
  bool bundle_only = false;
  std::vector<ExtMap> extmaps;
  std::map<int, RtpMap> rtpmaps;
  std::map<int, Fmtp> fmtps;
  std::map<int, std::vector<std::string>> rtcp_fb;  // pt (or kAnyPayloadType) -> "nack", "nack pli", ...
  std::vector<SsrcInfo> ssrcs;                      // in order of first appearance
  std::vector<SsrcGroup> ssrc_groups;
  std::string msid;  // a=msid value: "<stream id> <track id>"
  std::vector<Candidate> candidates;
  bool end_of_candidates = false;
  std::vector<Rid> rids;                        // in order; ids unique (duplicates are an SdpError)
  std::vector<SimulcastStream> simulcast_send;  // a=simulcast:send, each naming a send rid
  std::vector<SimulcastStream> simulcast_recv;  // a=simulcast:recv (kept, not used)

  bool isRtp() const;  // proto contains "RTP"
  const RtpMap* rtpmap(int pt) const;
  const Fmtp* fmtp(int pt) const;
  // Feedback for `pt`, including wildcard ("*") entries.
  std::vector<std::string> rtcpFeedback(int pt) const;
};

struct SessionDescription {
  std::string origin_session_id;  // o= sess-id
  std::string ice_ufrag;          // session-level (OBS 30.2 sends them here)
  std::string ice_pwd;
  std::vector<Fingerprint> fingerprints;
  std::string setup;
  bool ice_lite = false;
  bool extmap_allow_mixed = false;
  std::vector<Group> groups;
  std::vector<MediaSection> media;

  const Group* bundleGroup() const;  // the first a=group:BUNDLE, if any
  const MediaSection* findMid(std::string_view mid) const;
};

// Parses an SDP (CRLF or LF line endings). Throws SdpError with a human reason; nothing else.
SessionDescription parse(std::string_view sdp);

}  // namespace liveroom::media::sdp

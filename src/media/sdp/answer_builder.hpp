// buildAnswer(): the server's SDP answer to a WHIP publisher (their sendonly -> our recvonly) or a
// WHEP viewer (their recvonly -> our sendonly, with our SSRCs, msid and cname). ICE-lite,
// setup:passive, BUNDLE over the accepted mids, rtcp-mux, one m-section per offered one in the same
// order (rejected ones with port 0), and only the server's own ICE credentials and fingerprint.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "media/sdp/negotiation.hpp"
#include "media/sdp/session_description.hpp"

namespace liveroom::media::sdp {

enum class Role { kWhipPublisher, kWhepViewer };

// Our direction for an offered one: the mirror image (sendonly <-> recvonly, inactive stays);
// an offered sendrecv becomes recvonly for a publisher and sendonly for a viewer.
Direction answerDirection(Direction offered, Role role);

// A host candidate of the server: "a=candidate:<foundation> 1 udp <priority> <ip> <port> typ host",
// or over TCP (RFC 6544) "... 1 tcp <priority> <ip> <port> typ host tcptype passive".
struct LocalCandidate {
  std::string foundation;
  uint32_t priority = 0;
  std::string ip;  // IPv4 or IPv6 literal
  uint16_t port = 0;
  bool tcp = false;  // a passive TCP candidate (RFC 4571 framing on --webrtc-tcp-port)
};

// The candidate's attribute value (after "a=candidate:").
std::string candidateValue(const LocalCandidate& candidate);

// What the server sends in a WHEP m-section.
struct SendTrack {
  uint32_t ssrc = 0;
  std::optional<uint32_t> rtx_ssrc;  // announced (FID group) only if the section has an RTX PT
  std::string cname;
  std::string stream_id;  // a=msid:<stream_id> <track_id>
  std::string track_id;
};

struct AnswerSection {
  MediaDecision decision;  // from negotiate() / negotiateViewer()
  Direction direction = Direction::kInactive;
  std::optional<SendTrack> send;  // WHEP only
};

struct AnswerParams {
  std::string ice_ufrag;
  std::string ice_pwd;
  std::string fingerprint_sha256;  // "AB:CD:..." of the server's DTLS certificate
  std::vector<LocalCandidate> candidates;
  std::vector<AnswerSection> sections;  // one per offer m-section, same order
  std::optional<uint64_t> session_id;   // the o= session id; random when unset
};

// Decisions -> answer sections with answerDirection(); `send` left empty.
std::vector<AnswerSection> answerSections(const std::vector<MediaDecision>& decisions, const SessionDescription& offer,
                                          Role role);

// The answer text (CRLF line endings). Throws std::invalid_argument when `params` does not fit
// `offer` (section count, empty credentials, line breaks inside a value): a caller bug, not bad input.
std::string buildAnswer(const SessionDescription& offer, const AnswerParams& params);

// The 200 body of a WHIP/WHEP PATCH that restarted ICE (RFC 9725 §4.4.1): the server's new
// credentials and its candidates as an application/trickle-ice-sdpfrag, for the first bundled
// m-section `mid` (kind/proto as offered). Throws std::invalid_argument on an empty credential.
std::string buildIceRestartFragment(const std::string& ice_ufrag, const std::string& ice_pwd,
                                    const std::string& kind_name, const std::string& proto, const std::string& mid,
                                    const std::vector<LocalCandidate>& candidates);

}  // namespace liveroom::media::sdp

// TrickleFragment: the body of a WHIP/WHEP PATCH, media type application/trickle-ice-sdpfrag
// (RFC 8840): ICE credentials, candidates per mid and end-of-candidates. parseTrickleFragment()
// is pure and throws only SdpError; isIceRestart() tells a restart (new ufrag/pwd) from a trickle.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "media/sdp/session_description.hpp"

namespace liveroom::media::sdp {

struct TrickleSection {
  std::string mid;               // empty if the fragment's m-line had no a=mid
  std::size_t m_line_index = 0;  // 0-based position among the fragment's m-lines
  std::vector<Candidate> candidates;
  bool end_of_candidates = false;
};

struct TrickleFragment {
  std::string ice_ufrag;  // session-level, else the first media-level one
  std::string ice_pwd;
  std::vector<TrickleSection> sections;
  bool end_of_candidates = false;  // at session level or in any section

  std::size_t candidateCount() const;
};

// Parses an sdpfrag body (CRLF or LF). Throws SdpError with a human reason.
TrickleFragment parseTrickleFragment(std::string_view body);

// True when the fragment carries ICE credentials different from the session's current ones
// (RFC 8840 section 4.4 / RFC 9725 section 4.4.1: a new ufrag or pwd means an ICE restart).
bool isIceRestart(const TrickleFragment& fragment, std::string_view current_ufrag, std::string_view current_pwd);

}  // namespace liveroom::media::sdp

// Parser for application/trickle-ice-sdpfrag bodies (RFC 8840), see trickle_fragment.hpp.
#include "media/sdp/trickle_fragment.hpp"

#include "media/sdp/line_reader.hpp"
#include "media/sdp/text.hpp"

namespace liveroom::media::sdp {

std::size_t TrickleFragment::candidateCount() const {
  std::size_t n = 0;
  for (const TrickleSection& s : sections) n += s.candidates.size();
  return n;
}

TrickleFragment parseTrickleFragment(std::string_view body) {
  if (body.size() > kMaxSdpBytes) {
    throw SdpError("the sdpfrag is larger than " + std::to_string(kMaxSdpBytes) + " bytes");
  }
  TrickleFragment f;
  std::string media_ufrag;
  std::string media_pwd;
  LineReader reader(body, kMaxLineBytes);
  SdpLine line;
  while (reader.next(line)) {
    if (line.type == 'm') {
      if (f.sections.size() >= kMaxMediaSections) {
        throw SdpError("more than " + std::to_string(kMaxMediaSections) + " media sections");
      }
      TrickleSection s;
      s.m_line_index = f.sections.size();
      f.sections.push_back(std::move(s));
      continue;
    }
    if (line.type != 'a') continue;
    const Attribute a = splitAttribute(line.value);
    const bool in_media = !f.sections.empty();
    if (a.name == "ice-ufrag" || a.name == "ice-pwd") {
      const std::string_view value = text::trim(a.value);
      if (value.empty()) throwMalformed(line, std::string(a.name));
      std::string& target =
          a.name == "ice-ufrag" ? (in_media ? media_ufrag : f.ice_ufrag) : (in_media ? media_pwd : f.ice_pwd);
      if (target.empty()) target = std::string(value);
    } else if (a.name == "end-of-candidates") {
      f.end_of_candidates = true;
      if (in_media) f.sections.back().end_of_candidates = true;
    } else if (a.name == "mid" && in_media) {
      const std::string_view mid = text::trim(a.value);
      if (mid.empty()) throwMalformed(line, "mid");
      f.sections.back().mid = std::string(mid);
    } else if (a.name == "candidate") {
      if (!in_media) throw SdpError("line " + std::to_string(line.number) + " has a candidate outside any m-line");
      auto c = parseCandidate(a.value);
      if (!c) throwMalformed(line, "candidate");
      f.sections.back().candidates.push_back(std::move(*c));
    }
  }
  if (f.ice_ufrag.empty()) f.ice_ufrag = std::move(media_ufrag);
  if (f.ice_pwd.empty()) f.ice_pwd = std::move(media_pwd);
  return f;
}

bool isIceRestart(const TrickleFragment& fragment, std::string_view current_ufrag, std::string_view current_pwd) {
  return (!fragment.ice_ufrag.empty() && fragment.ice_ufrag != current_ufrag) ||
         (!fragment.ice_pwd.empty() && fragment.ice_pwd != current_pwd);
}

}  // namespace liveroom::media::sdp

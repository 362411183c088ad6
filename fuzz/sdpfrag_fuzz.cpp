// Fuzz target: trickle ICE fragments (WHIP/WHEP PATCH bodies, application/trickle-ice-sdpfrag),
// media/sdp/trickle_fragment.
// Checks, beyond "no crash":
//  - parseTrickleFragment() throws nothing but SdpError;
//  - sections are numbered in order, candidateCount() is their sum, end-of-candidates in a
//    section shows at the fragment level;
//  - every candidate round-trips: parseCandidate() of its raw value, and of the line rebuilt
//    from its fields, gives the same fields;
//  - isIceRestart() is false for the fragment's own credentials and true for changed ones.
#include <string>

#include "fuzz_check.hpp"
#include "media/sdp/trickle_fragment.hpp"

namespace {

using namespace liveroom::media::sdp;

bool sameFields(const Candidate& a, const Candidate& b) {
  return a.foundation == b.foundation && a.component == b.component && a.transport == b.transport &&
         a.priority == b.priority && a.address == b.address && a.port == b.port && a.type == b.type;
}

void checkCandidate(const Candidate& c) {
  FUZZ_CHECK(
      !c.foundation.empty() && c.foundation.size() <= 32 && c.component != 0 && !c.address.empty() && !c.type.empty(),
      "a parsed candidate has its required fields");
  auto again = parseCandidate(c.raw);
  FUZZ_CHECK(again && sameFields(*again, c), "parseCandidate(raw) gives the same candidate");
  const std::string rebuilt = "candidate:" + c.foundation + " " + std::to_string(c.component) + " " + c.transport +
                              " " + std::to_string(c.priority) + " " + c.address + " " + std::to_string(c.port) +
                              " typ " + c.type;
  auto from_fields = parseCandidate(rebuilt);
  FUZZ_CHECK(from_fields && sameFields(*from_fields, c), "a candidate rebuilt from its fields parses the same");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TrickleFragment f;
  try {
    f = parseTrickleFragment(liveroom::fuzz::asText(data, size));
  } catch (const SdpError&) {
    return 0;
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);
  }
  FUZZ_CHECK(f.sections.size() <= kMaxMediaSections, "section count within limits");
  size_t total = 0;
  for (size_t i = 0; i < f.sections.size(); ++i) {
    const TrickleSection& s = f.sections[i];
    FUZZ_CHECK(s.m_line_index == i, "sections numbered in order");
    if (s.end_of_candidates) FUZZ_CHECK(f.end_of_candidates, "a section's end-of-candidates shows on the fragment");
    for (const Candidate& c : s.candidates) checkCandidate(c);
    total += s.candidates.size();
  }
  FUZZ_CHECK(total == f.candidateCount(), "candidateCount() is the sum");
  FUZZ_CHECK(!isIceRestart(f, f.ice_ufrag, f.ice_pwd), "the fragment's own credentials are no restart");
  if (!f.ice_ufrag.empty()) FUZZ_CHECK(isIceRestart(f, f.ice_ufrag + "x", f.ice_pwd), "a new ufrag is a restart");
  if (!f.ice_pwd.empty()) FUZZ_CHECK(isIceRestart(f, f.ice_ufrag, f.ice_pwd + "x"), "a new pwd is a restart");
  return 0;
}

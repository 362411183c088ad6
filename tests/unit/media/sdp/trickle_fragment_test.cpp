// Trickle ICE sdpfrag parser (RFC 8840) against simple-whip-client's PATCH bodies.
#include "media/sdp/trickle_fragment.hpp"

#include <gtest/gtest.h>

#include "unit/media/sdp/sdp_fixtures.hpp"

namespace liveroom::media::sdp {
namespace {

using namespace fixtures;

TEST(SdpTrickle, CandidatesPatch) {
  const TrickleFragment f = parseTrickleFragment(sdpFixture(kTricklePatch1));
  EXPECT_EQ(f.ice_ufrag, "N3SwDmYSr6uBC2MNQpHj7La/xGiqFYJS");
  EXPECT_EQ(f.ice_pwd, "CCbKqqs15G8cgGOTCMtr+2NURDgE7xFU");
  ASSERT_EQ(f.sections.size(), 1u);
  EXPECT_EQ(f.sections[0].mid, "audio0");
  EXPECT_EQ(f.sections[0].m_line_index, 0u);
  EXPECT_FALSE(f.end_of_candidates);
  ASSERT_EQ(f.candidateCount(), 9u);
  const Candidate& first = f.sections[0].candidates[0];
  EXPECT_EQ(first.foundation, "1");
  EXPECT_EQ(first.component, 1u);
  EXPECT_EQ(first.transport, "udp");  // sent as "UDP"
  EXPECT_EQ(first.priority, 2015363327u);
  EXPECT_EQ(first.address, "192.0.2.2");
  EXPECT_EQ(first.port, 40229);
  EXPECT_EQ(first.type, "host");
  EXPECT_EQ(f.sections[0].candidates[6].address, "fe80::fc:ff:fe00:1");
  EXPECT_EQ(f.sections[0].candidates[8].raw, "9 1 TCP 1010828031 fe80::fc:ff:fe00:1 39559 typ host tcptype passive");
}

TEST(SdpTrickle, EndOfCandidatesPatch) {
  const TrickleFragment f = parseTrickleFragment(sdpFixture(kTricklePatch2));
  EXPECT_TRUE(f.end_of_candidates);
  ASSERT_EQ(f.sections.size(), 1u);
  EXPECT_TRUE(f.sections[0].end_of_candidates);
  EXPECT_EQ(f.candidateCount(), 0u);
}

TEST(SdpTrickle, DetectsIceRestart) {
  const TrickleFragment f = parseTrickleFragment(sdpFixture(kTricklePatch1));
  EXPECT_FALSE(isIceRestart(f, "N3SwDmYSr6uBC2MNQpHj7La/xGiqFYJS", "CCbKqqs15G8cgGOTCMtr+2NURDgE7xFU"));
  EXPECT_TRUE(isIceRestart(f, "oldufrag", "CCbKqqs15G8cgGOTCMtr+2NURDgE7xFU"));
  EXPECT_TRUE(isIceRestart(f, "N3SwDmYSr6uBC2MNQpHj7La/xGiqFYJS", "oldpassword"));
  // A fragment without credentials is a plain trickle.
  EXPECT_FALSE(isIceRestart(parseTrickleFragment("a=end-of-candidates\r\n"), "u", "p"));
}

TEST(SdpTrickle, MediaLevelCredentialsAndLf) {
  const TrickleFragment f = parseTrickleFragment("m=audio 9 RTP/AVP 0\na=mid:0\na=ice-ufrag:u2\na=ice-pwd:p2\n");
  EXPECT_EQ(f.ice_ufrag, "u2");
  EXPECT_EQ(f.ice_pwd, "p2");
}

TEST(SdpTrickle, RejectsMalformedFragments) {
  EXPECT_THROW(parseTrickleFragment("a=candidate:1 1 udp 1 1.2.3.4 5 typ host\r\n"), SdpError);  // outside m-line
  EXPECT_THROW(parseTrickleFragment("m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp\r\n"), SdpError);
  EXPECT_THROW(parseTrickleFragment("not an sdpfrag"), SdpError);
  EXPECT_THROW(parseTrickleFragment(std::string(kMaxSdpBytes + 1, 'a')), SdpError);
}

// RFC 8839 foundations are 1*32 of ALPHA / DIGIT / "+" / "/". A foundation such as "candidate:1"
// (a doubled prefix, found by the sdpfrag fuzzer) would make the candidate's raw value parse
// differently the second time.
TEST(SdpTrickle, FoundationIsIceCharsOnly) {
  EXPECT_TRUE(parseCandidate("candidate:a+/Z9 1 udp 1 192.0.2.1 5 typ host"));
  EXPECT_FALSE(parseCandidate("candidate:\t\tcandidate:1 1 udp 1 192.0.2.1 5 typ host"));
  EXPECT_FALSE(parseCandidate("candidate:candidate:1 1 udp 1 192.0.2.1 5 typ host"));
  EXPECT_FALSE(parseCandidate("candidate:1-2 1 udp 1 192.0.2.1 5 typ host"));
  const auto c = parseCandidate("candidate:\t1 1 udp 1 192.0.2.1 5 typ host");
  ASSERT_TRUE(c);
  EXPECT_EQ(parseCandidate(c->raw)->foundation, "1");
}

}  // namespace
}  // namespace liveroom::media::sdp

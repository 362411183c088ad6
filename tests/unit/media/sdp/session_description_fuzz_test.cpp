// Regression tests for what fuzz/sdp_fuzz found in the SDP parser (docs/fuzzing.md): each input
// that broke a property is kept in fuzz/corpus/sdp/ and checked here as well.
#include "media/sdp/session_description.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "media/sdp/answer_builder.hpp"
#include "media/sdp/negotiation.hpp"
#include "unit/media/sdp/sdp_fixtures.hpp"

namespace liveroom::media::sdp {
namespace {

std::string corpusFile(const std::string& name) {
  std::string path = LIVEROOM_SOURCE_DIR;
  path += "/fuzz/corpus/sdp/";
  path += name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

std::string answerTo(const SessionDescription& offer) {
  AnswerParams p;
  p.ice_ufrag = "srvU";
  p.ice_pwd = "serverpasswordserverpassword";
  p.fingerprint_sha256 = "0A:1B";
  p.session_id = 1;
  p.sections = answerSections(negotiate(offer), offer, Role::kWhipPublisher);
  return buildAnswer(offer, p);
}

// Found by sdp_fuzz: a mid with a space ("a=mid:vide|||||||||nack pli") was accepted and echoed
// into the answer's a=group:BUNDLE line, where it reads as two mids: the answer no longer named
// the section it accepted. A mid is a token (RFC 5888 §4, RFC 8866 §9): refuse anything else.
TEST(SdpFuzzRegression, MidThatIsNotATokenIsRefused) {
  const std::string offer = fixtures::sdpFixture(fixtures::kChromiumWhipOffer);
  for (const std::string bad : {"a b", "a\tb", "vid\"eo", "a,b", "(0)", "é"}) {
    EXPECT_THROW(parse(replaceAll(offer, "a=mid:0\r\n", "a=mid:" + bad + "\r\n")), SdpError) << bad;
  }
  EXPECT_THROW(parse(corpusFile("crash-mid-with-space")), SdpError);
}

TEST(SdpFuzzRegression, TokenMidsWithSymbolsRoundTripThroughTheAnswer) {
  const std::string mid = "v!d#o$1.~";
  const std::string text =
      replaceAll(replaceAll(fixtures::sdpFixture(fixtures::kChromiumWhipOffer), "a=mid:1\r\n", "a=mid:" + mid + "\r\n"),
                 "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 " + mid);
  const SessionDescription offer = parse(text);
  ASSERT_NE(offer.findMid(mid), nullptr);
  const SessionDescription answer = parse(answerTo(offer));
  ASSERT_NE(answer.bundleGroup(), nullptr);
  EXPECT_EQ(answer.bundleGroup()->mids, (std::vector<std::string>{"0", mid}));
  EXPECT_NE(answer.findMid(mid), nullptr);
}

}  // namespace
}  // namespace liveroom::media::sdp

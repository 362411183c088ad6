// Simulcast offers (RFC 8851 a=rid, RFC 8853 a=simulcast): parsed, every layer accepted, answered
// with a=rid recv + a=simulcast:recv; hostile shapes refused with a reason.
#include <gtest/gtest.h>

#include <string>

#include "media/sdp/answer_builder.hpp"
#include "media/sdp/negotiation.hpp"
#include "media/sdp/sdp_error.hpp"
#include "media/sdp/session_description.hpp"
#include "unit/media/sdp/sdp_fixtures.hpp"

namespace liveroom::media::sdp {
namespace {

using namespace fixtures;

// The Chromium WHIP offer with `lines` added at the end of its video section (its last section).
std::string withVideoLines(const std::string& lines) {
  std::string sdp = sdpFixture(kChromiumWhipOffer);
  if (sdp.size() >= 2 && sdp.substr(sdp.size() - 2) != "\r\n") sdp += "\r\n";
  return sdp + lines;
}

const std::string kThreeLayers =
    "a=rid:q send\r\na=rid:h send\r\na=rid:f send max-width=1280;max-height=720\r\na=simulcast:send q;h;f\r\n";

TEST(Simulcast, BrowserOfferIsParsedAcceptedAndAnswered) {
  const SessionDescription offer = parse(withVideoLines(kThreeLayers));
  const MediaSection& video = offer.media[1];
  ASSERT_EQ(video.rids.size(), 3u);
  EXPECT_EQ(video.rids[2].id, "f");
  EXPECT_TRUE(video.rids[2].send);
  EXPECT_EQ(video.rids[2].restrictions, "max-width=1280;max-height=720");
  ASSERT_EQ(video.simulcast_send.size(), 3u);

  const auto decisions = negotiate(offer);
  ASSERT_TRUE(decisions[1].accepted) << decisions[1].reject_reason;
  ASSERT_EQ(decisions[1].simulcast.size(), 3u);
  EXPECT_EQ(decisions[1].simulcast[0].rid, "q");

  AnswerParams p;
  p.ice_ufrag = "uFrg";
  p.ice_pwd = "0123456789012345678901";
  p.fingerprint_sha256 = "AB:CD";
  p.candidates = {{"1", 1, "127.0.0.1", 8189, false}};
  p.sections = answerSections(decisions, offer, Role::kWhipPublisher);
  const std::string text = buildAnswer(offer, p);
  EXPECT_NE(text.find("a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n"), std::string::npos)
      << text;
  const SessionDescription answer = parse(text);
  EXPECT_EQ(answer.media[1].simulcast_recv.size(), 3u);
  EXPECT_TRUE(answer.media[0].rids.empty());  // audio has none
}

TEST(Simulcast, ObsShapedOfferWithPausedLayersAndAlternatives) {
  // OBS 32.1 multi-rendition: rids 0..2; here also a paused layer and an alternative list.
  const SessionDescription offer =
      parse(withVideoLines("a=rid:0 send\r\na=rid:1 send\r\na=rid:2 send\r\na=rid:3 send\r\n"
                           "a=simulcast:send 0;~1;2,3\r\n"));
  const auto decisions = negotiate(offer);
  ASSERT_EQ(decisions[1].simulcast.size(), 3u);
  EXPECT_TRUE(decisions[1].simulcast[1].paused);
  EXPECT_EQ(decisions[1].simulcast[2].rid, "2");  // the first alternative
}

TEST(Simulcast, HostileShapesAreRefusedWithAReason) {
  std::string twenty;
  for (int i = 0; i < 20; ++i) twenty += "a=rid:r" + std::to_string(i) + " send\r\n";
  for (const std::string& bad : {twenty, std::string("a=rid:a send\r\na=rid:a send\r\n"),
                                 std::string("a=rid:a send\r\na=simulcast:send a;b\r\n"),
                                 std::string("a=rid:a recv\r\na=simulcast:send a\r\n"),
                                 std::string("a=rid:a send\r\na=simulcast:send a;a\r\n"),
                                 std::string("a=rid:bad!id send\r\n"), std::string("a=rid:a sideways\r\n"),
                                 std::string("a=rid:a send\r\na=simulcast:upwards a\r\n"),
                                 std::string("a=rid:a send\r\na=simulcast:send\r\n")}) {
    EXPECT_THROW(parse(withVideoLines(bad)), SdpError) << bad;
  }
  // Without a=simulcast, rid lines alone are not simulcast.
  const auto decisions = negotiate(parse(withVideoLines("a=rid:a send\r\n")));
  EXPECT_TRUE(decisions[1].accepted);
  EXPECT_TRUE(decisions[1].simulcast.empty());
}

TEST(Simulcast, ViewersNeverGetStreamIdExtensions) {
  const SessionDescription viewer = parse(sdpFixture(kGstWhepOffer));
  const ViewerNegotiation n = negotiateViewer(viewer, std::nullopt, std::nullopt);
  for (const MediaDecision& d : n.media) {
    for (const ExtMap& e : d.extmaps) {
      EXPECT_NE(e.uri, kExtRtpStreamId);
      EXPECT_NE(e.uri, kExtRepairedRtpStreamId);
    }
  }
}

}  // namespace
}  // namespace liveroom::media::sdp

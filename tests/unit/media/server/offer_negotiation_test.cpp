// The offer -> session parameters step of the media server, alone (no sockets, no workers), on
// the real offers of ../shared/fixtures/sdp: what a WHIP and a WHEP offer become, and each way
// an offer is refused before anything is admitted.
#include "media/server/offer_negotiation.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "support/fixtures.hpp"

namespace liveroom::media {
namespace {

using test_support::readFixture;

const std::string kChromiumWhip = "sdp/chromium156-whip-offer-nontrickle-nowait.sdp";
const std::string kGstWhep = "sdp/gst122-webrtcbin-whep-offer.sdp";
const std::string kGstWhip = "sdp/gst122-webrtcbin-whip-offer-h264.sdp";

// Every occurrence of `from` in `text` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The code of the Error `f` throws ("" when it throws none).
template <typename F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return "";
}

TEST(OfferNegotiation, AWhipOfferGivesTheTransportTheSourceAndTheAnswer) {
  const auto offer = parseOffer(readFixture(kChromiumWhip));
  const NegotiatedPublisher p = negotiatePublisher(offer);
  EXPECT_EQ(p.remote.iceUfrag, "HmWp");
  EXPECT_FALSE(p.remote.icePwd.empty());
  EXPECT_TRUE(p.remote.dtlsFingerprint.starts_with("97:B5:DD"));
  ASSERT_TRUE(p.source);
  ASSERT_TRUE(p.source->video);
  ASSERT_TRUE(p.source->audio);
  EXPECT_EQ(p.sections.size(), offer.media.size());
}

TEST(OfferNegotiation, AWhepOfferGetsATrackWithItsOwnSsrcsPerAcceptedSection) {
  const auto offer = parseOffer(readFixture(kGstWhep));
  const NegotiatedViewer v = negotiateViewer(offer, nullptr);
  EXPECT_EQ(v.remote.iceUfrag, "kzIu");
  ASSERT_FALSE(v.tracks.empty());
  for (const ViewerTrack& t : v.tracks) {
    EXPECT_NE(t.send.ssrc, 0u);
    EXPECT_NE(t.send.ssrc, t.send.rtx_ssrc);
  }
  size_t accepted = 0;
  for (const sdp::AnswerSection& s : v.sections) accepted += s.decision.accepted ? 1 : 0;
  EXPECT_EQ(accepted, v.tracks.size());
}

TEST(OfferNegotiation, EachRoleMustGoItsWay) {
  // A viewer's offer posted to a publish URL, and a broadcaster's to a play URL.
  EXPECT_EQ(errorOf([] { negotiatePublisher(parseOffer(readFixture(kGstWhep))); }), codes::kInvalidSdp);
  EXPECT_EQ(errorOf([] { negotiateViewer(parseOffer(readFixture(kChromiumWhip)), nullptr); }), codes::kInvalidSdp);
}

TEST(OfferNegotiation, TheStrongestFingerprintWeAcceptIsTaken) {
  const std::string whip = readFixture(kChromiumWhip);
  const std::string sha256 = "a=fingerprint:sha-256 ";
  // A sha-1 fingerprint alone is refused, naming it.
  const auto only_sha1 = parseOffer(replaced(whip, sha256, "a=fingerprint:sha-1 "));
  try {
    negotiatePublisher(only_sha1);
    ADD_FAILURE() << "a sha-1 fingerprint was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kInvalidSdp);
    EXPECT_NE(std::string(e.what()).find("sha-1"), std::string::npos) << e.what();
  }
  // Beside a sha-256 one, a sha-512 one wins (RFC 8122 §5: check the strongest).
  const std::string sha512_line = "a=fingerprint:sha-512 AA:BB\r\n";
  const auto both = parseOffer(replaced(whip, sha256, std::string(sha512_line) + sha256));
  EXPECT_EQ(negotiatePublisher(both).remote.dtlsFingerprint, "AA:BB");
}

TEST(OfferNegotiation, BrokenOffersAreInvalidSdp) {
  EXPECT_EQ(errorOf([] { parseOffer("not an offer"); }), codes::kInvalidSdp);
  const std::string whip = readFixture(kChromiumWhip);
  EXPECT_EQ(errorOf([&] { negotiatePublisher(parseOffer(replaced(whip, "a=ice-ufrag:", "a=x-ufrag:"))); }),
            codes::kInvalidSdp);
  EXPECT_EQ(errorOf([&] { negotiatePublisher(parseOffer(replaced(whip, "a=fingerprint:", "a=x-fingerprint:"))); }),
            codes::kInvalidSdp);
}

TEST(OfferNegotiation, AViewerThatCannotDecodeThePublishersCodecIsRefused) {
  const auto publisher = negotiatePublisher(parseOffer(readFixture(kGstWhip)));
  ASSERT_TRUE(publisher.source->video);
  const std::string sent = publisher.source->video->codec.name;  // what the broadcaster sends
  const std::string whep = readFixture(kGstWhep);
  ASSERT_EQ(errorOf([&] { negotiateViewer(parseOffer(whep), publisher.source.get()); }), "")
      << "the fixture's viewer takes " << sent;
  // The same viewer without that codec (its rtpmap lines gone).
  std::string without;
  for (size_t start = 0; start < whep.size();) {
    const size_t end = whep.find('\n', start);
    const std::string line = whep.substr(start, end == std::string::npos ? std::string::npos : end - start + 1);
    start = end == std::string::npos ? whep.size() : end + 1;
    if (line.find(" " + sent + "/") == std::string::npos) without += line;
  }
  // Refused, though it would take the audio: a room's viewer gets the room's picture or nothing.
  try {
    negotiateViewer(parseOffer(without), publisher.source.get());
    ADD_FAILURE() << "a viewer without " << sent << " was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kUnsupportedCodec);
    EXPECT_NE(std::string(e.what()).find(sent), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace liveroom::media

// Codec / RTX / extension / feedback choice and viewer-to-publisher codec matching.
#include "media/sdp/negotiation.hpp"

#include <gtest/gtest.h>

#include <string>

#include "unit/media/sdp/sdp_fixtures.hpp"

namespace liveroom::media::sdp {
namespace {

using namespace fixtures;

SessionDescription fixture(const std::string& name) { return parse(sdpFixture(name.c_str())); }

// The offer with `from` replaced by `to` once (e.g. to reorder a payload-type list).
SessionDescription edited(const std::string& name, const std::string& from, const std::string& to) {
  std::string sdp = sdpFixture(name.c_str());
  const std::size_t pos = sdp.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) sdp.replace(pos, from.size(), to);
  return parse(sdp);
}

const std::string kChromium = kChromiumWhipOffer;
const std::string kGstWhip = kGstWhipOfferH264;
const std::string kGstWhep = kGstWhepOffer;
const char* kVideoPts = "96 97 102 103 104 107 108 109 114 115 116 117 39 40 45 46 98 99 100 101 118 119 120";

TEST(SdpNegotiation, ChromiumOfferGetsOpusAndVp8WithRtx) {
  const auto decisions = negotiate(fixture(kChromium));
  ASSERT_EQ(decisions.size(), 2u);
  const MediaDecision& audio = decisions[0];
  ASSERT_TRUE(audio.accepted) << audio.reject_reason;
  EXPECT_EQ(audio.mid, "0");
  EXPECT_EQ(audio.codec->payload_type, 111);
  EXPECT_TRUE(audio.codec->isOpus());
  EXPECT_EQ(audio.codec->clock_rate, 48000u);
  EXPECT_EQ(audio.codec->channels, 2u);
  EXPECT_EQ(audio.codec->fmtp, "minptime=10;useinbandfec=1");
  EXPECT_EQ(audio.codec->rtcp_fb, (std::vector<std::string>{"transport-cc"}));
  EXPECT_FALSE(audio.codec->rtx_payload_type);
  // ssrc-audio-level (1) is not supported; the offer's ids are kept for the others.
  ASSERT_EQ(audio.extmaps.size(), 3u);
  EXPECT_EQ(audio.extmaps[0].id, 2);
  EXPECT_EQ(audio.extmaps[0].uri, kExtAbsSendTime);
  EXPECT_EQ(audio.extmaps[1].id, 3);
  EXPECT_EQ(audio.extmaps[2].id, 4);
  EXPECT_EQ(audio.extmaps[2].uri, kExtSdesMid);
  EXPECT_TRUE(audio.rtcp_rsize);
  EXPECT_EQ(audio.offered_direction, Direction::kSendOnly);

  const MediaDecision& video = decisions[1];
  ASSERT_TRUE(video.accepted) << video.reject_reason;
  EXPECT_EQ(video.codec->payload_type, 96);
  EXPECT_TRUE(video.codec->isVp8());
  EXPECT_EQ(video.codec->rtx_payload_type, 97);
  EXPECT_EQ(video.codec->rtcp_fb,
            (std::vector<std::string>{"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}));
  ASSERT_EQ(video.extmaps.size(), 5u);  // the stream ids too, for simulcast publishers
  EXPECT_EQ(video.extmaps[0].uri, kExtAbsSendTime);
  EXPECT_EQ(video.extmaps[1].uri, kExtTransportWideCc);
  EXPECT_EQ(video.extmaps[2].uri, kExtSdesMid);
  EXPECT_EQ(video.extmaps[3].uri, kExtRtpStreamId);
  EXPECT_EQ(video.extmaps[4].uri, kExtRepairedRtpStreamId);
  EXPECT_TRUE(video.simulcast.empty());
}

TEST(SdpNegotiation, OfferOrderDecidesAmongSupportedCodecs) {
  // The "h264" webrtcbin offer lists VP8 (96) first, so VP8 wins by offer order.
  EXPECT_TRUE(negotiate(fixture(kGstWhip))[1].codec->isVp8());
}

TEST(SdpNegotiation, H264WithPacketizationMode1KeepsProfileLevelId) {
  // Without VP8, the first H.264 with packetization-mode=1 is 102 (42001f), not 104 (mode 0).
  const auto decisions =
      negotiate(edited(kGstWhip, kVideoPts, "104 107 102 103 108 109 114 115 116 117 39 40 45 46 98 99 100 101"));
  const MediaDecision& video = decisions[1];
  ASSERT_TRUE(video.accepted) << video.reject_reason;
  EXPECT_TRUE(video.codec->isH264());
  EXPECT_EQ(video.codec->payload_type, 102);
  EXPECT_EQ(video.codec->fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f");
  EXPECT_EQ(video.codec->rtx_payload_type, 103);

  // Offer order among H.264 variants: 108 (42e01f) first.
  const auto reordered = negotiate(edited(kChromium, kVideoPts, "108 109 102 103"));
  EXPECT_EQ(reordered[1].codec->payload_type, 108);
  EXPECT_NE(reordered[1].codec->fmtp.find("profile-level-id=42e01f"), std::string::npos);
  EXPECT_EQ(reordered[1].codec->rtx_payload_type, 109);
}

TEST(SdpNegotiation, NoRtxWhenNotOffered) {
  const auto decisions = negotiate(edited(kChromium, kVideoPts, "96 102"));
  EXPECT_EQ(decisions[1].codec->payload_type, 96);
  EXPECT_FALSE(decisions[1].codec->rtx_payload_type);
}

TEST(SdpNegotiation, RejectsSectionsWithoutSupportedCodec) {
  const auto decisions = negotiate(edited(kChromium, kVideoPts, "104 98 45"));  // H.264 mode 0, VP9, AV1
  EXPECT_TRUE(decisions[0].accepted);
  EXPECT_FALSE(decisions[1].accepted);
  EXPECT_EQ(decisions[1].reject_reason, "no supported video codec offered (VP8, H264 packetization-mode=1)");

  const auto no_opus = negotiate(edited(kChromium, "111 63 9 0 8 13 110 126", "0 8"));
  EXPECT_FALSE(no_opus[0].accepted);
  EXPECT_EQ(no_opus[0].reject_reason, "no supported audio codec offered (Opus)");
}

TEST(SdpNegotiation, TheCodecsKeptForMatchingAnswerAsTheWholeSectionDoes) {
  const std::vector<PublisherCodec> publishers = {
      {"VP8", ""},
      {"H264", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
      {"h264", "packetization-mode=1;profile-level-id=4D0015"},
      {"H264", "packetization-mode=1;profile-level-id=640033"},
      {"VP9", ""},
      {"opus", "minptime=10;useinbandfec=1"}};
  for (const std::string& name : {kGstWhep, kChromium, kGstWhip}) {
    const SessionDescription offer = fixture(name);
    for (const MediaSection& whole : offer.media) {
      const MediaSection kept = codecsForMatching(whole);
      EXPECT_TRUE(kept.candidates.empty() && kept.ssrcs.empty() && kept.fingerprints.empty());
      EXPECT_LE(kept.payload_types.size(), whole.payload_types.size());
      for (const PublisherCodec& p : publishers) {
        SCOPED_TRACE(name + " " + whole.kind_name + " " + p.name + " " + p.fmtp);
        const CodecMatch a = matchViewerCodec(whole, p);
        const CodecMatch b = matchViewerCodec(kept, p);
        ASSERT_EQ(a.ok(), b.ok());
        EXPECT_EQ(a.error, b.error);
        if (!a.ok()) continue;
        EXPECT_EQ(a.codec->payload_type, b.codec->payload_type);
        EXPECT_EQ(a.codec->rtx_payload_type, b.codec->rtx_payload_type);
        EXPECT_EQ(a.codec->fmtp, b.codec->fmtp);
        EXPECT_EQ(a.codec->rtcp_fb, b.codec->rtcp_fb);
      }
    }
  }
}

TEST(SdpNegotiation, ViewerMatchesPublisherCodec) {
  const SessionDescription viewer = fixture(kGstWhep);
  const MediaSection& video = viewer.media[0];
  const CodecMatch vp8 = matchViewerCodec(video, {"VP8", ""});
  ASSERT_TRUE(vp8.ok()) << vp8.error;
  EXPECT_EQ(vp8.codec->payload_type, 96);
  EXPECT_EQ(vp8.codec->rtx_payload_type, 97);

  const CodecMatch h264 =
      matchViewerCodec(video, {"H264", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"});
  ASSERT_TRUE(h264.ok()) << h264.error;
  EXPECT_EQ(h264.codec->payload_type, 108);
  EXPECT_EQ(h264.codec->rtx_payload_type, 109);

  // Profile part compared case-insensitively; a lower level than the viewer's is fine.
  const CodecMatch lower_level = matchViewerCodec(video, {"h264", "packetization-mode=1;profile-level-id=4D0015"});
  ASSERT_TRUE(lower_level.ok()) << lower_level.error;
  EXPECT_EQ(lower_level.codec->payload_type, 116);

  const CodecMatch opus = matchViewerCodec(viewer.media[1], {"opus", "minptime=10;useinbandfec=1"});
  ASSERT_TRUE(opus.ok()) << opus.error;
  EXPECT_EQ(opus.codec->payload_type, 111);
}

TEST(SdpNegotiation, ViewerMismatchNamesTheCodec) {
  const SessionDescription viewer = fixture(kGstWhep);
  const MediaSection& video = viewer.media[0];
  // Level 3.2 (0x20) is above every level the viewer offers (0x1f).
  EXPECT_EQ(matchViewerCodec(video, {"H264", "packetization-mode=1;profile-level-id=42e020"}).error,
            "the viewer cannot receive H264 (profile-level-id 42e020)");
  // High profile (6400) is not offered.
  EXPECT_EQ(matchViewerCodec(video, {"H264", "packetization-mode=1;profile-level-id=64001f"}).error,
            "the viewer cannot receive H264 (profile-level-id 64001f)");
  EXPECT_EQ(matchViewerCodec(video, {"AV2", ""}).error, "the viewer cannot receive AV2");

  const SessionDescription vp8_only = edited(kGstWhep,
                                             "96 97 98 99 100 101 35 36 37 38 102 103 104 107 108 109 114 115 116 117 "
                                             "39 40 41 42 43 44 45 46 47 48 118 119 120 49",
                                             "96 97");
  EXPECT_EQ(matchViewerCodec(vp8_only.media[0], {"H264", "packetization-mode=1;profile-level-id=42e01f"}).error,
            "the viewer cannot receive H264 (profile-level-id 42e01f)");
}

TEST(SdpNegotiation, NegotiateViewerAgainstPublisher) {
  const SessionDescription viewer = fixture(kGstWhep);
  const ViewerNegotiation ok = negotiateViewer(viewer, PublisherCodec{"opus", ""},
                                               PublisherCodec{"H264", "packetization-mode=1;profile-level-id=42001f"});
  ASSERT_TRUE(ok.ok()) << ok.error;
  ASSERT_EQ(ok.media.size(), 2u);
  EXPECT_TRUE(ok.media[0].accepted);
  EXPECT_EQ(ok.media[0].codec->payload_type, 102);
  EXPECT_EQ(ok.media[0].extmaps.size(), 3u);
  EXPECT_EQ(ok.media[0].extmaps[2].id, 9);  // sdes:mid at the viewer's id
  EXPECT_TRUE(ok.media[1].accepted);
  EXPECT_EQ(ok.media[1].codec->payload_type, 111);

  const ViewerNegotiation bad =
      negotiateViewer(viewer, std::nullopt, PublisherCodec{"H264", "packetization-mode=1;profile-level-id=640032"});
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error, "the viewer cannot receive H264 (profile-level-id 640032)");
  EXPECT_FALSE(bad.media[0].accepted);
  // No audio publisher yet: the viewer's audio waits with every supported codec it offered.
  EXPECT_TRUE(bad.media[1].accepted);
  EXPECT_TRUE(bad.media[1].codec->isOpus());
}

TEST(SdpNegotiation, ConstrainedBaselineSpellingsMatch) {
  // x264enc / openh264enc publish 42c01e; browsers offer 42e01f for Constrained Baseline.
  const SessionDescription viewer = fixture(kGstWhep);
  const CodecMatch cb = matchViewerCodec(viewer.media[0], {"H264", "packetization-mode=1;profile-level-id=42c01e"});
  ASSERT_TRUE(cb.ok()) << cb.error;
  EXPECT_EQ(parseFmtpParameters(cb.codec->fmtp).at("profile-level-id").substr(0, 4), "42e0");
  const SessionDescription vp8_and_high = edited(kGstWhep,
                                                 "96 97 98 99 100 101 35 36 37 38 102 103 104 107 108 109 114 115 116 "
                                                 "117 39 40 41 42 43 44 45 46 47 48 118 119 120 49",
                                                 "96 97");
  EXPECT_FALSE(matchViewerCodec(vp8_and_high.media[0], {"H264", "packetization-mode=1;profile-level-id=42c01e"}).ok());
}

TEST(SdpNegotiation, BundleOnlySectionsWithPortZeroAreAccepted) {
  // GStreamer webrtcbin (max-bundle) offers its second section as port 0 + a=bundle-only.
  const std::string text = sdpFixtureFromE2e("gst122-webrtcbin-whip-offer-vp8.sdp");
  const SessionDescription offer = parse(text);
  const std::vector<MediaDecision> decisions = negotiate(offer);
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_TRUE(decisions[0].accepted) << decisions[0].reject_reason;
  EXPECT_TRUE(decisions[1].accepted) << decisions[1].reject_reason;
}

TEST(SdpNegotiation, WaitingViewerGetsEverySupportedCodecWithItsRtx) {
  const SessionDescription viewer = fixture(kGstWhep);
  const ViewerNegotiation waiting = negotiateViewer(viewer, std::nullopt, std::nullopt);
  ASSERT_TRUE(waiting.ok()) << waiting.error;
  const MediaDecision& video = waiting.media[0];
  ASSERT_TRUE(video.accepted);
  std::vector<CodecChoice> all = supportedCodecs(viewer.media[0]);
  ASSERT_EQ(video.alternatives.size() + 1, all.size());
  EXPECT_EQ(video.codec->payload_type, all[0].payload_type);  // offer order when nothing is live
  // RTX as offered (retransmissions to the viewer go on its RTX stream).
  EXPECT_EQ(video.codec->rtx_payload_type, all[0].rtx_payload_type);
  for (size_t i = 0; i < video.alternatives.size(); ++i) {
    EXPECT_EQ(video.alternatives[i].rtx_payload_type, all[i + 1].rtx_payload_type);
  }

  // A live H.264 publisher puts the viewer's match first, the rest still follow.
  const ViewerNegotiation live =
      negotiateViewer(viewer, std::nullopt, PublisherCodec{"H264", "packetization-mode=1;profile-level-id=42001f"});
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live.media[0].codec->payload_type, 102);
  EXPECT_EQ(live.media[0].alternatives.size() + 1, all.size());
}

}  // namespace
}  // namespace liveroom::media::sdp

// SDP answers for WHIP publishers and WHEP viewers: content, direction, and round trip through parse().
#include "media/sdp/answer_builder.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>

#include "unit/media/sdp/sdp_fixtures.hpp"

namespace liveroom::media::sdp {
namespace {

using namespace fixtures;

const char* kOurFingerprint =
    "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9";

AnswerParams baseParams() {
  AnswerParams p;
  p.ice_ufrag = "srvU";
  p.ice_pwd = "serverpasswordserverpassword";
  p.fingerprint_sha256 = kOurFingerprint;
  p.candidates = {{"1", 2130706431u, "192.168.1.10", 8189}, {"2", 2130706175u, "fd00::1", 8189}};
  p.session_id = 4242;
  return p;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(SdpAnswer, WhipPublisherAnswerRoundTrips) {
  const SessionDescription offer = parse(sdpFixture(kChromiumWhipOffer));
  AnswerParams p = baseParams();
  p.sections = answerSections(negotiate(offer), offer, Role::kWhipPublisher);
  const std::string text = buildAnswer(offer, p);

  EXPECT_EQ(text.substr(0, 46), "v=0\r\no=- 4242 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
  EXPECT_TRUE(contains(text, "a=group:BUNDLE 0 1\r\n"));
  EXPECT_TRUE(contains(text, "a=ice-lite\r\n"));
  EXPECT_TRUE(contains(text, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
  EXPECT_TRUE(contains(text, "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"));
  EXPECT_TRUE(contains(text, "a=candidate:1 1 udp 2130706431 192.168.1.10 8189 typ host\r\n"));
  EXPECT_TRUE(contains(text, "a=fmtp:97 apt=96\r\n"));
  EXPECT_FALSE(contains(text, "a=ssrc:"));  // a publisher's answer sends nothing
  // Nothing of the offer's transport leaks into the answer.
  EXPECT_FALSE(contains(text, "HmWp"));
  EXPECT_FALSE(contains(text, "xj/DpM/t1C5h/z4texpLVk3D"));
  EXPECT_FALSE(contains(text, "97:B5:DD"));
  EXPECT_FALSE(contains(text, "actpass"));

  const SessionDescription answer = parse(text);
  EXPECT_TRUE(answer.ice_lite);
  EXPECT_TRUE(answer.extmap_allow_mixed);
  ASSERT_EQ(answer.media.size(), 2u);
  for (const MediaSection& m : answer.media) {
    EXPECT_EQ(m.direction, Direction::kRecvOnly);
    EXPECT_EQ(m.ice_ufrag, "srvU");
    EXPECT_EQ(m.ice_pwd, "serverpasswordserverpassword");
    EXPECT_EQ(m.fingerprints.at(0).algorithm, "sha-256");
    EXPECT_EQ(m.fingerprints.at(0).value, kOurFingerprint);
    EXPECT_EQ(m.setup, "passive");
    EXPECT_TRUE(m.rtcp_mux);
    EXPECT_TRUE(m.rtcp_rsize);
    EXPECT_TRUE(m.end_of_candidates);
    ASSERT_EQ(m.candidates.size(), 2u);
    EXPECT_EQ(m.candidates[1].address, "fd00::1");
    EXPECT_EQ(m.candidates[1].port, 8189);
  }
  const MediaSection& audio = answer.media[0];
  EXPECT_EQ(audio.mid, "0");
  EXPECT_EQ(audio.payload_types, (std::vector<int>{111}));
  EXPECT_EQ(audio.rtpmap(111)->codec, "opus");
  EXPECT_EQ(audio.rtpmap(111)->channels, 2u);
  EXPECT_EQ(audio.fmtp(111)->params, "minptime=10;useinbandfec=1");
  ASSERT_EQ(audio.extmaps.size(), 3u);
  EXPECT_EQ(audio.extmaps[2].id, 4);
  EXPECT_EQ(audio.extmaps[2].uri, kExtSdesMid);
  const MediaSection& video = answer.media[1];
  EXPECT_EQ(video.mid, "1");
  EXPECT_EQ(video.payload_types, (std::vector<int>{96, 97}));
  EXPECT_EQ(video.rtpmap(97)->codec, "rtx");
  EXPECT_EQ(video.rtcpFeedback(96),
            (std::vector<std::string>{"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}));
  // The answer negotiates to itself.
  const auto again = negotiate(answer);
  EXPECT_EQ(again[1].codec->payload_type, 96);
  EXPECT_EQ(again[1].codec->rtx_payload_type, 97);
}

TEST(SdpAnswer, WhepViewerAnswerCarriesOurTracks) {
  const SessionDescription offer = parse(sdpFixture(kGstWhepOffer));
  const ViewerNegotiation n = negotiateViewer(offer, PublisherCodec{"opus", "minptime=10;useinbandfec=1"},
                                              PublisherCodec{"H264", "packetization-mode=1;profile-level-id=42e01f"});
  ASSERT_TRUE(n.ok()) << n.error;
  AnswerParams p = baseParams();
  p.session_id.reset();
  p.sections = answerSections(n.media, offer, Role::kWhepViewer);
  p.sections[0].send = SendTrack{1111, 2222, "liveroom", "room-stream", "video-track"};
  p.sections[1].send = SendTrack{3333, std::nullopt, "liveroom", "room-stream", "audio-track"};
  const std::string text = buildAnswer(offer, p);
  EXPECT_FALSE(contains(text, "kzIu"));
  EXPECT_FALSE(contains(text, "E6:BE:D2"));
  EXPECT_TRUE(contains(text, "a=msid-semantic: WMS *\r\n"));

  const SessionDescription answer = parse(text);
  EXPECT_FALSE(answer.origin_session_id.empty());
  EXPECT_NE(answer.origin_session_id, "4242");
  ASSERT_EQ(answer.media.size(), 2u);
  const MediaSection& video = answer.media[0];
  EXPECT_EQ(video.kind, MediaKind::kVideo);  // same order as the offer: video first
  EXPECT_EQ(video.mid, "0");
  EXPECT_EQ(video.direction, Direction::kSendOnly);
  // The publisher's match first, its RTX right after, then every other supported codec the
  // viewer offered with its own RTX; the FID group pairs our media and RTX SSRCs.
  ASSERT_GT(video.payload_types.size(), 2u);
  EXPECT_EQ(video.payload_types[0], 108);
  EXPECT_EQ(video.fmtp(108)->values.at("profile-level-id"), "42e01f");
  EXPECT_EQ(video.rtpmap(video.payload_types[1])->codec, "rtx");
  EXPECT_EQ(video.fmtp(video.payload_types[1])->values.at("apt"), "108");
  for (const int pt : video.payload_types) {
    if (video.rtpmap(pt)->codec != "rtx") continue;
    const int apt = std::stoi(video.fmtp(pt)->values.at("apt"));
    EXPECT_NE(std::find(video.payload_types.begin(), video.payload_types.end(), apt), video.payload_types.end()) << pt;
  }
  EXPECT_EQ(video.msid, "room-stream video-track");
  ASSERT_EQ(video.ssrc_groups.size(), 1u);
  ASSERT_EQ(video.ssrcs.size(), 2u);
  EXPECT_EQ(video.ssrcs[0].cname, "liveroom");
  EXPECT_EQ(video.ssrcs[0].msid, "room-stream video-track");
  ASSERT_EQ(video.extmaps.size(), 3u);
  EXPECT_EQ(video.extmaps[0].id, 2);
  EXPECT_EQ(video.extmaps[1].id, 4);
  EXPECT_EQ(video.extmaps[2].id, 9);
  const MediaSection& audio = answer.media[1];
  EXPECT_EQ(audio.direction, Direction::kSendOnly);
  EXPECT_EQ(audio.payload_types, (std::vector<int>{111}));
  ASSERT_EQ(audio.ssrcs.size(), 1u);
  EXPECT_EQ(audio.ssrcs[0].ssrc, 3333u);
  EXPECT_TRUE(audio.ssrc_groups.empty());
}

TEST(SdpAnswer, RejectedSectionsGetPortZeroAndLeaveTheBundle) {
  const SessionDescription offer =
      parse(std::string("v=0\r\na=group:BUNDLE a v d\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\n"
                        "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:a\r\na=rtpmap:0 PCMU/8000\r\n"
                        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n"
                        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:d\r\n"));
  AnswerParams p = baseParams();
  p.sections = answerSections(negotiate(offer), offer, Role::kWhipPublisher);
  const std::string text = buildAnswer(offer, p);
  EXPECT_TRUE(contains(text, "a=group:BUNDLE v\r\n"));
  EXPECT_TRUE(contains(text, "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\n"));
  EXPECT_TRUE(contains(text, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
  const SessionDescription answer = parse(text);
  ASSERT_EQ(answer.media.size(), 3u);
  EXPECT_EQ(answer.media[0].port, 0);
  EXPECT_EQ(answer.media[0].mid, "a");
  EXPECT_EQ(answer.media[1].port, 9);
  EXPECT_EQ(answer.media[1].direction, Direction::kRecvOnly);
  EXPECT_FALSE(answer.media[1].rtcp_rsize);  // not offered
  EXPECT_EQ(answer.media[2].port, 0);
}

TEST(SdpAnswer, DirectionMirrorsTheOffer) {
  EXPECT_EQ(answerDirection(Direction::kSendOnly, Role::kWhipPublisher), Direction::kRecvOnly);
  EXPECT_EQ(answerDirection(Direction::kRecvOnly, Role::kWhepViewer), Direction::kSendOnly);
  EXPECT_EQ(answerDirection(Direction::kSendRecv, Role::kWhipPublisher), Direction::kRecvOnly);
  EXPECT_EQ(answerDirection(Direction::kSendRecv, Role::kWhepViewer), Direction::kSendOnly);
  EXPECT_EQ(answerDirection(Direction::kInactive, Role::kWhepViewer), Direction::kInactive);
}

TEST(SdpAnswer, RefusesParamsThatDoNotFitTheOffer) {
  const SessionDescription offer = parse(sdpFixture(kChromiumWhipOffer));
  AnswerParams p = baseParams();
  EXPECT_THROW(buildAnswer(offer, p), std::invalid_argument);  // no sections
  p.sections = answerSections(negotiate(offer), offer, Role::kWhipPublisher);
  p.ice_pwd = "pwd\r\na=injected";
  EXPECT_THROW(buildAnswer(offer, p), std::invalid_argument);
}

}  // namespace
}  // namespace liveroom::media::sdp

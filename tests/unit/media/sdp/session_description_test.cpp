// SDP offer parser: real offers from ../shared/fixtures/sdp and malformed inputs.
#include "media/sdp/session_description.hpp"

#include <gtest/gtest.h>

#include <string>

#include "unit/media/sdp/sdp_fixtures.hpp"

namespace liveroom::media::sdp {
namespace {

using namespace fixtures;

// The error reason parse() gives for `sdp`, or "" if it parsed.
std::string parseError(const std::string& sdp) {
  try {
    parse(sdp);
  } catch (const SdpError& e) {
    return e.what();
  }
  return "";
}

const char* kMinimal =
    "v=0\n"
    "o=- 1 2 IN IP4 127.0.0.1\n"
    "s=-\n"
    "t=0 0\n"
    "a=ice-ufrag:sess\n"
    "a=ice-pwd:sessionpasswordsessionpw\n"
    "a=fingerprint:sha-256 AA:BB\n"
    "a=setup:actpass\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\n"
    "c=IN IP4 0.0.0.0\n"
    "a=mid:0\n"
    "a=sendonly\n"
    "a=rtpmap:111 opus/48000/2\n";

TEST(SdpParse, ChromiumWhipOffer) {
  const SessionDescription d = parse(sdpFixture(kChromiumWhipOffer));
  EXPECT_EQ(d.origin_session_id, "1087441607427895785");
  ASSERT_NE(d.bundleGroup(), nullptr);
  EXPECT_EQ(d.bundleGroup()->mids, (std::vector<std::string>{"0", "1"}));
  EXPECT_TRUE(d.extmap_allow_mixed);
  EXPECT_FALSE(d.ice_lite);
  ASSERT_EQ(d.media.size(), 2u);

  const MediaSection& audio = d.media[0];
  EXPECT_EQ(audio.kind, MediaKind::kAudio);
  EXPECT_EQ(audio.port, 9);
  EXPECT_EQ(audio.proto, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(audio.payload_types, (std::vector<int>{111, 63, 9, 0, 8, 13, 110, 126}));
  EXPECT_EQ(audio.mid, "0");
  EXPECT_EQ(audio.direction, Direction::kSendOnly);
  EXPECT_EQ(audio.ice_ufrag, "HmWp");
  EXPECT_EQ(audio.ice_pwd, "xj/DpM/t1C5h/z4texpLVk3D");
  ASSERT_EQ(audio.fingerprints.size(), 1u);
  EXPECT_EQ(audio.fingerprints[0].algorithm, "sha-256");
  EXPECT_EQ(audio.fingerprints[0].value,
            "97:B5:DD:D3:D4:1C:FC:5C:41:EC:41:0E:FE:83:84:F9:C4:9E:E9:07:FC:2E:2D:42:6E:53:6E:86:E0:D2:5B:4D");
  EXPECT_EQ(audio.setup, "actpass");
  EXPECT_TRUE(audio.rtcp_mux);
  EXPECT_FALSE(audio.rtcp_mux_only);
  EXPECT_TRUE(audio.rtcp_rsize);
  ASSERT_EQ(audio.extmaps.size(), 4u);
  EXPECT_EQ(audio.extmaps[3].id, 4);
  EXPECT_EQ(audio.extmaps[3].uri, "urn:ietf:params:rtp-hdrext:sdes:mid");
  ASSERT_NE(audio.rtpmap(111), nullptr);
  EXPECT_EQ(audio.rtpmap(111)->codec, "opus");
  EXPECT_EQ(audio.rtpmap(111)->clock_rate, 48000u);
  EXPECT_EQ(audio.rtpmap(111)->channels, 2u);
  EXPECT_EQ(audio.rtpmap(0)->codec, "PCMU");
  EXPECT_EQ(audio.rtpmap(0)->channels, 0u);
  ASSERT_NE(audio.fmtp(111), nullptr);
  EXPECT_EQ(audio.fmtp(111)->params, "minptime=10;useinbandfec=1");
  EXPECT_EQ(audio.fmtp(111)->values.at("useinbandfec"), "1");
  EXPECT_EQ(audio.fmtp(63)->params, "111/111");
  EXPECT_TRUE(audio.fmtp(63)->values.empty());
  EXPECT_EQ(audio.rtcpFeedback(111), (std::vector<std::string>{"transport-cc"}));
  EXPECT_EQ(audio.msid, "b8e1f1fd-b524-4ad4-a078-b7411688ef1a 7ba59244-b9ee-4b3d-9ca3-eac9e108e2df");
  ASSERT_EQ(audio.ssrcs.size(), 1u);
  EXPECT_EQ(audio.ssrcs[0].ssrc, 1085797120u);
  EXPECT_EQ(audio.ssrcs[0].cname, "2ZUFxbNVV6az+CJ7");
  EXPECT_EQ(audio.ssrcs[0].msid, audio.msid);
  EXPECT_TRUE(audio.candidates.empty());  // non-trickle "nowait": no candidates gathered yet

  const MediaSection& video = d.media[1];
  EXPECT_EQ(video.kind, MediaKind::kVideo);
  EXPECT_EQ(video.mid, "1");
  EXPECT_EQ(video.payload_types.size(), 23u);
  EXPECT_EQ(video.payload_types.front(), 96);
  EXPECT_EQ(video.rtpmap(96)->codec, "VP8");
  EXPECT_EQ(video.rtpmap(96)->clock_rate, 90000u);
  EXPECT_EQ(video.rtcpFeedback(96),
            (std::vector<std::string>{"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}));
  EXPECT_EQ(video.fmtp(97)->values.at("apt"), "96");
  EXPECT_EQ(video.fmtp(108)->values.at("profile-level-id"), "42e01f");
  EXPECT_EQ(video.fmtp(108)->values.at("packetization-mode"), "1");
  EXPECT_EQ(video.extmaps.size(), 11u);
  EXPECT_EQ(video.extmaps[0].id, 14);
  EXPECT_EQ(video.extmaps[0].uri, "urn:ietf:params:rtp-hdrext:toffset");
  ASSERT_EQ(video.ssrc_groups.size(), 1u);
  EXPECT_EQ(video.ssrc_groups[0].semantics, "FID");
  EXPECT_EQ(video.ssrc_groups[0].ssrcs, (std::vector<uint32_t>{3687147398u, 715469542u}));
  ASSERT_EQ(video.ssrcs.size(), 2u);
  EXPECT_EQ(video.ssrcs[1].ssrc, 715469542u);
  EXPECT_EQ(video.ssrcs[1].cname, "2ZUFxbNVV6az+CJ7");
}

TEST(SdpParse, GstreamerWhepOfferWithCandidates) {
  const SessionDescription d = parse(sdpFixture(kGstWhepOffer));
  ASSERT_EQ(d.media.size(), 2u);
  const MediaSection& video = d.media[0];
  EXPECT_EQ(video.kind, MediaKind::kVideo);
  EXPECT_EQ(video.port, 41249);
  EXPECT_EQ(video.direction, Direction::kRecvOnly);
  EXPECT_EQ(video.ice_ufrag, "kzIu");
  EXPECT_EQ(video.ice_pwd, "euJElfLadIRb8k6rqyYf6cBv");
  ASSERT_EQ(video.candidates.size(), 4u);
  const Candidate& c = video.candidates[0];
  EXPECT_EQ(c.raw, "2778124615 1 udp 2122194687 192.0.2.2 41249 typ host generation 0 network-id 1");
  EXPECT_EQ(c.foundation, "2778124615");
  EXPECT_EQ(c.component, 1u);
  EXPECT_EQ(c.transport, "udp");
  EXPECT_EQ(c.priority, 2122194687u);
  EXPECT_EQ(c.address, "192.0.2.2");
  EXPECT_EQ(c.port, 41249);
  EXPECT_EQ(c.type, "host");
  EXPECT_EQ(video.candidates[1].address, "fd00::2");
  EXPECT_EQ(video.candidates[2].transport, "tcp");
  EXPECT_EQ(video.candidates[2].port, 9);
  EXPECT_EQ(video.fmtp(41)->values.at("profile-level-id"), "f4001f");

  const MediaSection& audio = d.media[1];
  EXPECT_EQ(audio.kind, MediaKind::kAudio);
  EXPECT_EQ(audio.mid, "1");
  EXPECT_EQ(audio.direction, Direction::kRecvOnly);
  EXPECT_EQ(audio.extmaps[0].id, 14);
  EXPECT_EQ(audio.extmaps[0].uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  EXPECT_TRUE(audio.ssrcs.empty());
}

TEST(SdpParse, GstreamerWhipOfferH264) {
  const SessionDescription d = parse(sdpFixture(kGstWhipOfferH264));
  ASSERT_EQ(d.media.size(), 2u);
  EXPECT_EQ(d.media[0].port, 44142);
  EXPECT_EQ(d.media[0].ice_ufrag, "tUqJ");
  EXPECT_EQ(d.media[0].candidates.size(), 4u);
  EXPECT_EQ(d.media[0].ssrcs[0].cname, "znmVNk7yIuO02xEh");
  EXPECT_EQ(d.media[1].ssrc_groups[0].ssrcs, (std::vector<uint32_t>{3001995804u, 603179939u}));
  EXPECT_EQ(d.media[1].fmtp(102)->params, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f");
}

TEST(SdpParse, SessionLevelIceCredentialsAsObsSendsThem) {
  const SessionDescription d = parse(kMinimal);
  EXPECT_EQ(d.ice_ufrag, "sess");
  EXPECT_EQ(d.media[0].ice_ufrag, "sess");
  EXPECT_EQ(d.media[0].ice_pwd, "sessionpasswordsessionpw");
  ASSERT_EQ(d.media[0].fingerprints.size(), 1u);
  EXPECT_EQ(d.media[0].fingerprints[0].value, "AA:BB");
  EXPECT_EQ(d.media[0].setup, "actpass");
  EXPECT_EQ(d.media[0].direction, Direction::kSendOnly);
}

TEST(SdpParse, KeepsEveryFingerprintLine) {
  // RFC 8122 §5: one a=fingerprint per hash function; all are kept, in order, and media-level
  // lines replace the session-level ones.
  std::string sdp = kMinimal;
  sdp.replace(sdp.find("a=setup"), 0, "a=fingerprint:sha-512 CC:DD\n");
  SessionDescription d = parse(sdp);
  ASSERT_EQ(d.media[0].fingerprints.size(), 2u);
  EXPECT_EQ(d.media[0].fingerprints[0].algorithm, "sha-256");
  EXPECT_EQ(d.media[0].fingerprints[1].algorithm, "sha-512");
  EXPECT_EQ(d.media[0].fingerprints[1].value, "CC:DD");
  sdp += "a=fingerprint:sha-384 EE:FF\n";
  d = parse(sdp);
  ASSERT_EQ(d.media[0].fingerprints.size(), 1u);
  EXPECT_EQ(d.media[0].fingerprints[0].algorithm, "sha-384");
  EXPECT_EQ(d.fingerprints.size(), 2u);
}

TEST(SdpParse, AcceptsLfAndCrlfAlike) {
  std::string crlf;
  for (const char c : std::string(kMinimal)) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  EXPECT_EQ(parse(crlf).media[0].rtpmap(111)->codec, parse(kMinimal).media[0].rtpmap(111)->codec);
  EXPECT_EQ(parse(crlf).media[0].ice_pwd, "sessionpasswordsessionpw");
}

TEST(SdpParse, MediaLevelCredentialsOverrideSessionLevel) {
  const SessionDescription d = parse(std::string(kMinimal) + "a=ice-ufrag:media\n");
  EXPECT_EQ(d.media[0].ice_ufrag, "media");
  EXPECT_EQ(d.ice_ufrag, "sess");
}

TEST(SdpParse, DataChannelSectionIsNotRtp) {
  const SessionDescription d =
      parse(std::string(kMinimal) + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\na=mid:2\na=sctp-port:5000\n");
  ASSERT_EQ(d.media.size(), 2u);
  EXPECT_EQ(d.media[1].kind, MediaKind::kApplication);
  EXPECT_FALSE(d.media[1].isRtp());
  EXPECT_TRUE(d.media[1].payload_types.empty());
  EXPECT_EQ(d.media[1].formats, (std::vector<std::string>{"webrtc-datachannel"}));
}

TEST(SdpParse, RejectsMalformedInputWithAReason) {
  EXPECT_EQ(parseError(""), "the SDP is empty");
  EXPECT_EQ(parseError("\r\n\r\n"), "the SDP is empty");
  EXPECT_EQ(parseError("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"), "no media sections");
  EXPECT_EQ(parseError("hello world"), "line 1 is malformed");
  EXPECT_EQ(parseError("v=1\n"), "the SDP does not start with v=0");
  EXPECT_EQ(parseError(std::string(kMinimal) + "garbage\n"), "line 14 is malformed");
  EXPECT_EQ(parseError(std::string(kMinimal) + "a=rtpmap:111 opus\n"), "line 14 is malformed (rtpmap)");
  EXPECT_EQ(parseError(std::string(kMinimal) + "a=rtpmap:200 opus/48000\n"), "line 14 is malformed (rtpmap)");
  EXPECT_EQ(parseError(std::string(kMinimal) + "a=rtpmap:111 opus/fast\n"), "line 14 is malformed (rtpmap)");
  EXPECT_EQ(parseError(std::string(kMinimal) + "a=extmap:0 urn:x\n"), "line 14 is malformed (extmap)");
  EXPECT_EQ(parseError(std::string(kMinimal) + "a=candidate:1 1 udp x 1.2.3.4 5 typ host\n"),
            "line 14 is malformed (candidate)");
  EXPECT_EQ(parseError(std::string(kMinimal) + "m=video nine UDP/TLS/RTP/SAVPF 96\n"), "line 14 is malformed (m-line)");
  EXPECT_EQ(parseError(std::string(kMinimal) + "m=video 9 UDP/TLS/RTP/SAVPF 96x\n"),
            "line 14 is malformed (m-line payload type)");
  // No ice-ufrag anywhere for the second m-line.
  EXPECT_EQ(parseError("v=0\nm=audio 9 UDP/TLS/RTP/SAVPF 0\na=mid:0\na=ice-ufrag:u\na=ice-pwd:p\na=fingerprint:sha-256 "
                       "AA\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:1\n"),
            "m-line 2 has no ice-ufrag");
  EXPECT_EQ(parseError("v=0\nm=audio 9 UDP/TLS/RTP/SAVPF 0\na=mid:0\na=ice-ufrag:u\n"), "m-line 1 has no ice-pwd");
  EXPECT_EQ(parseError("v=0\nm=audio 9 UDP/TLS/RTP/SAVPF 0\na=mid:0\na=ice-ufrag:u\na=ice-pwd:p\n"),
            "m-line 1 has no fingerprint");
  EXPECT_EQ(parseError("v=0\nm=audio 9 UDP/TLS/RTP/SAVPF 0\n"), "m-line 1 has no mid");
}

TEST(SdpParse, EnforcesSizeLimits) {
  std::string huge(kMinimal);
  while (huge.size() <= kMaxSdpBytes) huge += "a=x-filler:0123456789012345678901234567890123456789\n";
  EXPECT_EQ(parseError(huge), "the SDP is larger than 65536 bytes");

  EXPECT_EQ(parseError(std::string(kMinimal) + "a=x-long:" + std::string(kMaxLineBytes, 'x') + "\n"),
            "line 14 is longer than 4096 bytes");

  std::string many(kMinimal);
  for (int i = 1; i <= 64; ++i) many += "m=audio 0 UDP/TLS/RTP/SAVPF 0\n";
  EXPECT_EQ(parseError(many), "more than 64 media sections");
}

TEST(SdpParse, SdpErrorCarriesTheInvalidSdpCode) {
  try {
    parse("x");
    FAIL() << "parse accepted garbage";
  } catch (const liveroom::Error& e) {
    EXPECT_EQ(e.code(), "invalid_sdp");
  }
}

}  // namespace
}  // namespace liveroom::media::sdp

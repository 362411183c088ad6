// Fuzz-minded checks of the SDP parsers: every truncation of the fixtures and seeded random byte
// flips must either parse or throw SdpError, never crash or throw anything else. Run under
// ASan/UBSan (LIVEROOM_SANITIZE=ON) to also catch out-of-bounds reads.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "media/sdp/answer_builder.hpp"
#include "media/sdp/negotiation.hpp"
#include "media/sdp/session_description.hpp"
#include "media/sdp/trickle_fragment.hpp"
#include "unit/media/sdp/sdp_fixtures.hpp"

namespace liveroom::media::sdp {
namespace {

using namespace fixtures;

// Parses `input` as an offer and, when it parses, runs the rest of the pipeline over it.
// Returns "" when everything went through or SdpError was thrown; otherwise what escaped.
std::string exerciseOffer(const std::string& input) {
  try {
    const SessionDescription d = parse(input);
    const auto decisions = negotiate(d);
    for (const MediaSection& m : d.media) {
      matchViewerCodec(m, {"H264", "packetization-mode=1;profile-level-id=42e01f"});
      matchViewerCodec(m, {"VP8", ""});
    }
    AnswerParams p;
    p.ice_ufrag = "u";
    p.ice_pwd = "p";
    p.fingerprint_sha256 = "AA";
    p.sections = answerSections(decisions, d, Role::kWhipPublisher);
    // An offer can hold anything in a mid; only answers for sane ones must round-trip.
    parse(buildAnswer(d, p));
  } catch (const SdpError&) {
  } catch (const std::exception& e) {
    return std::string("std::exception: ") + e.what();
  } catch (...) {
    return "unknown exception";
  }
  return "";
}

std::string exerciseFragment(const std::string& input) {
  try {
    const TrickleFragment f = parseTrickleFragment(input);
    isIceRestart(f, "u", "p");
  } catch (const SdpError&) {
  } catch (const std::exception& e) {
    return std::string("std::exception: ") + e.what();
  } catch (...) {
    return "unknown exception";
  }
  return "";
}

const std::vector<const char*> kOffers = {kChromiumWhipOffer, kGstWhipOfferH264, kGstWhepOffer};
const std::vector<const char*> kFragments = {kTricklePatch1, kTricklePatch2};

TEST(SdpRobustness, EveryTruncationParsesOrThrowsSdpError) {
  for (const char* name : kOffers) {
    const std::string sdp = sdpFixture(name);
    for (std::size_t n = 0; n <= sdp.size(); ++n) {
      const std::string error = exerciseOffer(sdp.substr(0, n));
      ASSERT_EQ(error, "") << name << " truncated to " << n << " bytes";
    }
    // Suffixes too: input starting mid-line.
    for (std::size_t n = 0; n <= sdp.size(); n += 7) {
      ASSERT_EQ(exerciseOffer(sdp.substr(n)), "") << name << " from byte " << n;
    }
  }
  for (const char* name : kFragments) {
    const std::string frag = sdpFixture(name);
    for (std::size_t n = 0; n <= frag.size(); ++n) {
      ASSERT_EQ(exerciseFragment(frag.substr(0, n)), "") << name << " truncated to " << n << " bytes";
    }
  }
}

TEST(SdpRobustness, RandomByteFlipsParseOrThrowSdpError) {
  std::mt19937 rng(20261120);  // fixed seed: failures reproduce
  for (const char* name : kOffers) {
    const std::string sdp = sdpFixture(name);
    std::uniform_int_distribution<std::size_t> pos(0, sdp.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> flips(1, 8);
    for (int round = 0; round < 3000; ++round) {
      std::string mutated = sdp;
      const int count = flips(rng);
      for (int i = 0; i < count; ++i) mutated[pos(rng)] = static_cast<char>(byte(rng));
      ASSERT_EQ(exerciseOffer(mutated), "") << name << " round " << round;
      ASSERT_EQ(exerciseFragment(mutated), "") << name << " as sdpfrag, round " << round;
    }
  }
  for (const char* name : kFragments) {
    const std::string frag = sdpFixture(name);
    std::uniform_int_distribution<std::size_t> pos(0, frag.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int round = 0; round < 3000; ++round) {
      std::string mutated = frag;
      mutated[pos(rng)] = static_cast<char>(byte(rng));
      mutated[pos(rng)] = static_cast<char>(byte(rng));
      ASSERT_EQ(exerciseFragment(mutated), "") << name << " round " << round;
    }
  }
}

TEST(SdpRobustness, HostileShapesThrowSdpError) {
  const std::vector<std::string> inputs = {
      std::string(1, '\0'),
      "v=0\n" + std::string(5000, '\n'),
      "v=0\nm=\n",
      "v=0\nm=audio\n",
      "v=0\nm=audio 99999 UDP/TLS/RTP/SAVPF 0\n",
      "v=0\nm=audio 9 UDP/TLS/RTP/SAVPF -1\n",
      "v=0\nm=audio 9/2 UDP/TLS/RTP/SAVPF 0\na=mid:\n",
      "v=0\na=group:\nm=audio 9 RTP/AVP 0\n",
      "v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=rtpmap:96 VP8/0\n",
      "v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=ssrc:99999999999 cname:x\n",
      "v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=ssrc-group:FID\n",
      "v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=extmap:1/sideways urn:x\n",
      "v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=fingerprint:sha-256\n",
      "v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=rtcp-fb:96\n",
  };
  for (const std::string& input : inputs) {
    EXPECT_THROW(parse(input), SdpError) << input;
  }
}

}  // namespace
}  // namespace liveroom::media::sdp

// The offers and sdpfrags of ../shared/fixtures/sdp/, for the SDP unit tests.
#pragma once

#include <string>

namespace liveroom::media::sdp::fixtures {

inline constexpr const char* kChromiumWhipOffer = "chromium156-whip-offer-nontrickle-nowait.sdp";
inline constexpr const char* kGstWhipOfferH264 = "gst122-webrtcbin-whip-offer-h264.sdp";
inline constexpr const char* kGstWhepOffer = "gst122-webrtcbin-whep-offer.sdp";
inline constexpr const char* kTricklePatch1 = "simple-whip-client-patch-1.sdpfrag";
inline constexpr const char* kTricklePatch2 = "simple-whip-client-patch-2.sdpfrag";

// The bytes of fixtures/sdp/<name>.
std::string sdpFixture(const char* name);
// The bytes of tests/e2e/fixtures/<name>: offers captured from our own end-to-end clients.
std::string sdpFixtureFromE2e(const char* name);

}  // namespace liveroom::media::sdp::fixtures

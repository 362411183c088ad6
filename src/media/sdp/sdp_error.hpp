// SdpError: the only exception the SDP layer lets escape, for offers and fragments it cannot accept.
// Carries codes::kInvalidSdp so the HTTP layer can answer 400 with the human reason.
#pragma once

#include <string>

#include "common/error.hpp"

namespace liveroom::media::sdp {

class SdpError : public liveroom::Error {
 public:
  explicit SdpError(const std::string& reason) : liveroom::Error(codes::kInvalidSdp, reason) {}
};

}  // namespace liveroom::media::sdp

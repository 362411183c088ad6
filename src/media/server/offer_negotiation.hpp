// What a WHIP or WHEP offer becomes before any session exists: parsed, negotiated and checked
// (it sends or receives media as its role must, carries ICE credentials and a DTLS fingerprint
// of a hash we accept), with the answer's sections. The registry (MediaServer) runs this on the
// caller's thread and only then admits and places the session; a worker makes it. No state and
// no I/O: throws liveroom::Error (invalid_sdp, unsupported_codec) naming what is wrong.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "media/router/media_source.hpp"
#include "media/router/viewer_session.hpp"
#include "media/sdp/answer_builder.hpp"
#include "media/sdp/session_description.hpp"
#include "media/webrtc/webrtc_transport.hpp"

namespace liveroom::media {

// sdp::parse, its SdpError as invalid_sdp.
sdp::SessionDescription parseOffer(const std::string& text);

struct NegotiatedPublisher {
  WebRtcTransport::RemoteParameters remote;         // BUNDLE: the first accepted section's
  std::shared_ptr<const SourceDescription> source;  // what the broadcaster sends
  std::vector<sdp::AnswerSection> sections;
};
NegotiatedPublisher negotiatePublisher(const sdp::SessionDescription& offer);

struct NegotiatedViewer {
  WebRtcTransport::RemoteParameters remote;
  std::vector<ViewerTrack> tracks;  // one per accepted section, each with fresh SSRCs
  std::vector<sdp::AnswerSection> sections;
};
// `publisher`: what the room's broadcaster sends (null when none has connected yet: the viewer's
// own preferences decide, and it waits for media).
NegotiatedViewer negotiateViewer(const sdp::SessionDescription& offer, const SourceDescription* publisher);

}  // namespace liveroom::media

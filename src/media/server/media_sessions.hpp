// MediaSessions: what the WHIP/WHEP HTTP resources and the `local` stream provider ask of the
// embedded media server, and nothing else (no threads, ports or counters): MediaServer
// implements it, and a test can answer in its place (tests/unit/api/webrtc_api_test.cpp). Every
// method is thread-safe; callbacks may run on any thread (a media worker's, for MediaServer).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/error.hpp"

namespace liveroom::media {

// A session made from an offer: the Location, ETag and SDP answer of the 201.
struct SessionAnswer {
  std::string session_id;  // 32 hex digits, unguessable: the Location names it
  std::string etag;
  std::string sdp;
};

// A PATCH's outcome: the (new) ETag, and after an ICE restart the sdpfrag with our new
// credentials (the 200 body); empty for a trickle (204).
struct PatchResult {
  std::string etag;
  std::string fragment;
};

class MediaSessions {
 public:
  using AnswerCallback = std::function<void(std::variant<SessionAnswer, Error>)>;
  using PatchCallback = std::function<void(std::variant<PatchResult, Error>)>;

  virtual ~MediaSessions() = default;

  // WHIP: a publisher's offer for `input_uid` -> answer, or invalid_sdp, unsupported_codec,
  // publisher_exists; media_busy over the total or per-input session limit, too_many_sessions
  // over the limit of `client_key` (the requester's address; empty: not counted).
  virtual void publish(std::string input_uid, std::string offer, AnswerCallback done, std::string client_key) = 0;
  // WHEP: a viewer's offer. Without a publisher yet the viewer waits (gets media once one
  // connects); with one, a viewer that cannot receive its codec gets unsupported_codec. Limits
  // as for publish.
  virtual void play(std::string input_uid, std::string offer, AnswerCallback done, std::string client_key) = 0;
  // Trickle ICE (application/trickle-ice-sdpfrag): candidates are accepted (an ICE-lite agent
  // learns addresses from the checks anyway); new ice-ufrag/ice-pwd restart ICE (the result
  // carries our new credentials); a stale If-Match is precondition_failed; an unknown session
  // session_not_found.
  virtual void patch(std::string session_id, std::optional<std::string> if_match, std::string fragment,
                     PatchCallback done) = 0;
  // Ends a session (DELETE); false when unknown.
  virtual void remove(std::string session_id, std::function<void(bool)> done) = 0;
  // Ends every session of an input (the room ended).
  virtual void closeInput(std::string input_uid) = 0;
  // The inputs with a session here now (their uids).
  virtual std::vector<std::string> inputUids() = 0;
};

}  // namespace liveroom::media

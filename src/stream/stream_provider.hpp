// StreamProvider: where a room's media runs (Cloudflare Stream, or the embedded server).
// Calls block (network); callers run them on the blocking worker pool.
// Failures throw liveroom::Error with codes provider_error, provider_auth_failed,
// provider_rate_limited (with retryAfterSeconds) or provider_unavailable.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/media_endpoints.hpp"
#include "common/room_mode.hpp"

namespace liveroom {

struct LiveInput {
  std::string uid;
  std::string name;  // meta.name
  // Only the endpoints the mode offers are set: webrtc -> whip/whep; broadcast ->
  // rtmps/srt ingest and hls/dash playback.
  IngestEndpoints ingest;
  PlaybackEndpoints playback;
  // Connection state as the provider reports it ("connected", "disconnected", ...),
  // nullopt when it reports none.
  std::optional<std::string> state;
  // The liveroom deployment that made it (RoomStore::deploymentId, from the provider's metadata);
  // empty when none says so (made by someone else, or before deployments were named).
  std::string deployment;
  // When the provider made it (ms since the epoch), when it says.
  std::optional<int64_t> created_at_ms;
};

class StreamProvider {
 public:
  virtual ~StreamProvider() = default;
  virtual std::string_view name() const = 0;
  virtual LiveInput createInput(std::string_view title, RoomMode mode) = 0;
  // nullopt when the provider does not know the uid.
  virtual std::optional<LiveInput> getInput(std::string_view uid, RoomMode mode) = 0;
  // An input that is already gone counts as deleted.
  virtual void deleteInput(std::string_view uid) = 0;
  // Listing items carry no credentials (Cloudflare omits them).
  virtual std::vector<LiveInput> listInputs() = 0;
};

}  // namespace liveroom

// Where media goes in (ingest, secret: host only) and comes out (playback, public).
// Shared by stream providers (which hand them out) and stores (which keep them).
#pragma once

#include <optional>
#include <string>

namespace liveroom {

struct IngestEndpoints {
  std::optional<std::string> whip_url;  // secret: whoever holds it can publish
  std::optional<std::string> rtmps_url;
  std::optional<std::string> rtmps_stream_key;  // secret
  std::optional<std::string> srt_url;
  std::optional<std::string> srt_stream_id;
  std::optional<std::string> srt_passphrase;  // secret
  bool operator==(const IngestEndpoints&) const = default;
};

struct PlaybackEndpoints {
  std::optional<std::string> whep_url;
  std::optional<std::string> hls_url;
  std::optional<std::string> dash_url;
  bool operator==(const PlaybackEndpoints&) const = default;
};

}  // namespace liveroom

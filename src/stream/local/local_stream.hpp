// LocalStream: the `local` stream provider, liveroom's embedded WHIP/WHEP media server behind
// the StreamProvider interface (Cloudflare's role, played on this machine). A live input is a
// 32-hex uid; its publish URL carries a 32-hex key derived from a server secret
// (HMAC-SHA256(secret, uid)), Cloudflare's shape `/<key>k<uid>/webRTC/publish`, so keys need no
// storage and survive restarts; the play URL is `/<uid>/webRTC/play`. Only webrtc rooms: RTMPS,
// SRT and HLS need Cloudflare (`mode_unsupported`).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "media/server/media_sessions.hpp"
#include "stream/stream_provider.hpp"

namespace liveroom {

class LocalStream final : public StreamProvider {
 public:
  static constexpr const char* kName = "local";

  // `public_url`: how browsers reach this server ("http://127.0.0.1:8080"; a trailing slash is
  // dropped).
  // `secret`: at least 32 bytes (see loadOrCreateSecret). `media` must outlive this.
  LocalStream(std::string public_url, std::string secret, media::MediaSessions& media);

  // Reads the secret file, creating it (32 random bytes, hex, mode 0600) when missing.
  // Throws std::runtime_error naming the file when it cannot be read or written.
  static std::string loadOrCreateSecret(const std::filesystem::path& file);

  std::string_view name() const override { return kName; }
  LiveInput createInput(std::string_view title, RoomMode mode) override;
  std::optional<LiveInput> getInput(std::string_view uid, RoomMode mode) override;
  // Closes the input's publish and play sessions.
  void deleteInput(std::string_view uid) override;
  // Inputs live in the rooms store; the media server keeps none between restarts.
  std::vector<LiveInput> listInputs() override { return {}; }

  // The publish key of `uid` (32 lower-case hex digits).
  std::string publishKey(std::string_view uid) const;
  // Constant-time check of a key from a publish URL.
  bool verifyPublishKey(std::string_view uid, std::string_view key) const;
  static bool isValidUid(std::string_view uid);

  // The base of the URLs handed out (the app binds its listener first, so it is known here).
  const std::string& publicUrl() const noexcept { return public_url_; }

 private:
  LiveInput inputFor(std::string uid, std::string name) const;

  const std::string public_url_;
  std::string secret_;
  media::MediaSessions& media_;
};

}  // namespace liveroom

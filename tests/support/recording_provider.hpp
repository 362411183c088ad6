// A stream provider for tests of the layers above it: makes inputs with Cloudflare-like URLs,
// records deletes, and fails on demand (Cloudflare itself cannot run here; its real client is
// tested against a local HTTP server in tests/unit/stream).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "stream/stream_provider.hpp"

namespace liveroom::test_support {

class RecordingProvider : public StreamProvider {
 public:
  std::string_view name() const override { return provider_name; }
  LiveInput createInput(std::string_view title, RoomMode mode) override {
    if (fail_create) throw Error(codes::kProviderError, "create refused");
    LiveInput in;
    in.uid = "uid" + std::to_string(++created);
    in.name = std::string(title);
    if (mode == RoomMode::webrtc) {
      in.ingest.whip_url = "https://cf.example/secret" + in.uid + "/webRTC/publish";
      in.playback.whep_url = "https://cf.example/" + in.uid + "/webRTC/play";
    }
    return in;
  }
  std::optional<LiveInput> getInput(std::string_view, RoomMode) override { return std::nullopt; }
  void deleteInput(std::string_view uid) override {
    if (fail_delete) throw Error(codes::kProviderUnavailable, "delete failed");
    deleted.emplace_back(uid);
  }
  std::vector<LiveInput> listInputs() override { return listed; }

  std::string provider_name = "recording";
  std::vector<LiveInput> listed;
  int created = 0;
  bool fail_create = false;
  bool fail_delete = false;
  std::vector<std::string> deleted;
};

}  // namespace liveroom::test_support

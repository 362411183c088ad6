// `liveroom serve`: the composition root. An App builds the server from its configuration in
// the order its members are declared — the HTTP listener bound first (so the public URL is
// known when the stream provider is made), the pools, the media server and provider, the
// store, the room service, the HTTP surfaces and their one route table, the background tasks —
// and stops it in the reverse order after a graceful stop (see App::stop in serve.cpp).
#pragma once

#include <string>

#include "app/config.hpp"

namespace liveroom::app {

// Exit codes: 0 ok, 1 runtime failure, 2 bad configuration.
constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 2;

// Builds everything, runs until SIGINT/SIGTERM, stops gracefully; the exit code.
int serve(ServeConfig config);

// Logs to stderr, timestamps in UTC, at `level` (trace ... error).
void setupLogging(const std::string& level);

}  // namespace liveroom::app

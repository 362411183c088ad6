// The command line: `liveroom serve` (the composition root in serve.hpp builds the store, stream
// provider, room service, HTTP surfaces and server, and runs until SIGINT/SIGTERM),
// `liveroom contract ...` and `liveroom version`.
#pragma once

namespace liveroom::app {

// Exit codes: 0 ok, 1 runtime failure, 2 bad configuration.
int main(int argc, char** argv);

}  // namespace liveroom::app

// Composition root: parses the command line, builds the store, stream provider, room
// service, API and HTTP server, and runs until SIGINT/SIGTERM.
#pragma once

namespace liveroom::app {

// Exit codes: 0 ok, 1 runtime failure, 2 bad configuration.
int main(int argc, char** argv);

}  // namespace liveroom::app

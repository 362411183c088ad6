// Running an event loop (an Asio io_context) so that a handler's escaped exception is logged and
// the loop goes on: one bug in one connection or session must not end the thread, and with it
// every other connection or room it serves.
#pragma once

#include <exception>
#include <string_view>

#include <spdlog/spdlog.h>

namespace liveroom {

// Runs `loop.run()` until it returns normally. `what` names the thread in the log.
template <typename Loop>
void runLoopSurvivingErrors(Loop& loop, std::string_view what) {
  for (;;) {
    try {
      loop.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("{}: unexpected error, the loop goes on: {}", what, e.what());
    } catch (...) {
      spdlog::error("{}: unexpected error, the loop goes on", what);
    }
  }
}

}  // namespace liveroom

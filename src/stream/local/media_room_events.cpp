// Media server events into the rooms' event port (see media_room_events.hpp).
#include "stream/local/media_room_events.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace liveroom {

namespace {
template <typename F>
void applyLogged(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    spdlog::warn("media event not applied to its room: {}", e.what());
  }
}
}  // namespace

void MediaRoomEvents::onPublisherLive(const std::string& input_uid, bool live) {
  boost::asio::post(strand_, [this, input_uid, live] {
    applyLogged([&] {
      if (events_ != nullptr) events_->onLive(input_uid, live);
    });
  });
}

void MediaRoomEvents::onViewerCount(const std::string& input_uid, size_t viewers) {
  boost::asio::post(strand_, [this, input_uid, viewers] {
    applyLogged([&] {
      if (events_ != nullptr) events_->onViewers(input_uid, viewers);
    });
  });
}

}  // namespace liveroom

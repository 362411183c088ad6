// The embedded media server's events (a broadcaster connected or left, viewer counts) fed into
// the rooms' one event port (rooms::RoomEvents). The media thread must never block, so each
// event is applied on the blocking pool, in order (one strand): store writes, then the join
// cache and the event stream hear of it.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <string>

#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "media/server/media_server.hpp"
#include "rooms/room_events.hpp"

namespace liveroom {

class MediaRoomEvents final : public media::MediaServer::Listener {
 public:
  explicit MediaRoomEvents(boost::asio::thread_pool& pool) : strand_(boost::asio::make_strand(pool)) {}
  // The port exists only after the provider that needs this listener (the room service takes
  // the provider): attached before any traffic.
  void attach(rooms::RoomEvents& events) { events_ = &events; }

  void onPublisherLive(const std::string& input_uid, bool live) override;
  void onViewerCount(const std::string& input_uid, size_t viewers) override;

 private:
  rooms::RoomEvents* events_ = nullptr;
  boost::asio::strand<boost::asio::thread_pool::executor_type> strand_;
};

}  // namespace liveroom

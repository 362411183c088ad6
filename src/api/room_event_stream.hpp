// GET /api/livestream/rooms/{id}/events: a room's status pushed to the pages as Server-Sent
// Events, so they stop polling. Each event carries the room's whole public view (plus
// watch_url); its name says what changed:
//   room     the state when the stream opens (and after a reconnect: state, not a log)
//   live     the broadcaster came or went        viewers  the viewer count changed
//   title    the title changed                   ended    the room ended (the stream then closes)
//   ping     every 15 s, data {}: the stream is alive
// Changes made in this process arrive at once (RoomChangeListener); changes made by another
// liveroom process on the same store are found by reading the watched rooms every second
// (through the join cache, so the store sees at most one read per room per cache TTL). The
// ping every 15 s keeps proxies from closing an idle stream and finds dead clients.
// Bounded: subscribers in total, and what may wait for a slow one (the HTTP server's queue).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/periodic_task.hpp"
#include "http/message.hpp"
#include "rooms/room_service.hpp"

namespace liveroom::api {

struct RoomEventStreamOptions {
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds heartbeat_interval{15000};
  size_t max_subscribers = 10000;
};

class RoomEventStream final : public rooms::RoomChangeListener {
 public:
  RoomEventStream(rooms::RoomService& service, RoomEventStreamOptions options = {});
  ~RoomEventStream() override;
  RoomEventStream(const RoomEventStream&) = delete;
  RoomEventStream& operator=(const RoomEventStream&) = delete;

  // The streaming reply for `room_id` (blocking: reads the room; room_not_found when unknown,
  // media_busy past the subscriber limit). `watch_url` is spliced into each event's view.
  http::Response open(const std::string& room_id, std::string watch_url);

  void onRoomChanged(const rooms::RoomChange& change) override;
  size_t subscribers() const;

  // One event in the text/event-stream format (each line of `data` its own data: field).
  static std::string format(std::string_view event, uint64_t id, std::string_view data);

 private:
  struct Subscriber {
    std::weak_ptr<http::StreamSink> sink;
    std::string watch_url;
  };
  struct Watched {
    std::vector<Subscriber> subscribers;
    std::string last_view;  // the public view last sent
    uint64_t next_id = 1;
  };

  void subscribe(const std::string& room_id, const std::string& view, bool ended, std::string watch_url,
                 const std::shared_ptr<http::StreamSink>& sink);
  // Sends `view` to the room's subscribers under `event` (unless it is what they have already);
  // closes them after an "ended". Caller holds mutex_.
  void publishLocked(Watched& room, std::string_view event, const std::string& view, bool ended);
  void poll();
  void ensurePoller();

  rooms::RoomService& service_;
  RoomEventStreamOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Watched> rooms_;
  size_t subscriber_count_ = 0;
  std::chrono::steady_clock::time_point last_heartbeat_{};
  std::unique_ptr<PeriodicTask> poller_;  // started with the first subscriber
};

// What changed between two public views of one room, as an event name ("ended", "title",
// "live", "viewers"), or "room" when none of those.
std::string changeBetween(const std::string& before, const std::string& after);

}  // namespace liveroom::api

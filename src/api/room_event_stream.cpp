// Server-Sent Events of rooms (see room_event_stream.hpp).
#include "api/room_event_stream.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/room_views.hpp"
#include "common/error.hpp"

namespace liveroom::api {

RoomEventStream::RoomEventStream(rooms::RoomService& service, RoomEventStreamOptions options)
    : service_(service), options_(options) {
  service_.addListener(*this);
}

RoomEventStream::~RoomEventStream() {
  service_.removeListener(*this);
  if (poller_) poller_->stop();
  std::lock_guard lock(mutex_);
  for (auto& [id, room] : rooms_) {
    for (auto& sub : room.subscribers) {
      if (auto sink = sub.sink.lock()) sink->close();
    }
  }
}

std::string RoomEventStream::format(std::string_view event, uint64_t id, std::string_view data) {
  std::string out;
  out.reserve(data.size() + event.size() + 32);
  out += "event: ";
  out += event;
  out += "\nid: ";
  out += std::to_string(id);
  out += '\n';
  // A field ends at a line break: a multi-line payload is several data: lines (JSON views have
  // none, but nothing here may break the framing).
  size_t start = 0;
  while (true) {
    const size_t nl = data.find_first_of("\r\n", start);
    out += "data: ";
    out += data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    out += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
    if (data[nl] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
  out += '\n';
  return out;
}

http::Response RoomEventStream::open(const std::string& room_id, std::string watch_url) {
  const auto room = service_.get(room_id);  // room_not_found for a room that never was
  {
    std::lock_guard lock(mutex_);
    if (subscriber_count_ >= options_.max_subscribers) {
      throw Error(codes::kMediaBusy, "too many pages follow rooms right now; poll the room instead", 5);
    }
  }
  http::Response res;
  res.status = 200;
  res.set("Content-Type", "text/event-stream; charset=utf-8");
  res.set("Cache-Control", "no-store");
  res.set("X-Accel-Buffering", "no");  // nginx: pass events on at once
  res.stream = [this, room_id, view = room->public_view, ended = room->ended, watch = std::move(watch_url)](
                   std::shared_ptr<http::StreamSink> sink) { subscribe(room_id, view, ended, watch, sink); };
  return res;
}

void RoomEventStream::subscribe(const std::string& room_id, const std::string& view, bool ended, std::string watch_url,
                                const std::shared_ptr<http::StreamSink>& sink) {
  std::lock_guard lock(mutex_);
  Watched& room = rooms_[room_id];
  if (room.last_view.empty()) room.last_view = view;
  // Reconnecting clients get the state, not a replay: their Last-Event-ID needs no meaning.
  // "retry": how long EventSource waits before reconnecting after the stream drops.
  sink->push("retry: 3000\n" + format("room", room.next_id++, withWatchUrl(room.last_view, watch_url)));
  if (ended) {
    sink->close();
    if (room.subscribers.empty()) rooms_.erase(room_id);
    return;
  }
  room.subscribers.push_back({sink, std::move(watch_url)});
  ++subscriber_count_;
  ensurePoller();
}

void RoomEventStream::ensurePoller() {
  if (poller_) return;
  const auto period = std::min(options_.poll_interval, options_.heartbeat_interval);
  poller_ = std::make_unique<PeriodicTask>(period, [this] { poll(); });
}

void RoomEventStream::onRoomChanged(const rooms::RoomChange& change) {
  if (!change.room) return;
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(change.room->room_id);
  if (it == rooms_.end()) return;
  publishLocked(it->second, rooms::toString(change.kind), change.room->public_view, change.room->ended);
  if (change.room->ended) rooms_.erase(it);
}

void RoomEventStream::publishLocked(Watched& room, std::string_view event, const std::string& view, bool ended) {
  if (view == room.last_view && !ended) return;  // told already (a poll after a notification)
  room.last_view = view;
  const uint64_t id = room.next_id++;
  auto& subs = room.subscribers;
  for (auto it = subs.begin(); it != subs.end();) {
    auto sink = it->sink.lock();
    if (!sink || sink->closed() || !sink->push(format(event, id, withWatchUrl(view, it->watch_url)))) {
      it = subs.erase(it);
      --subscriber_count_;
      continue;
    }
    if (ended) sink->close();
    ++it;
  }
  if (ended) {
    subscriber_count_ -= subs.size();
    subs.clear();
  }
}

void RoomEventStream::poll() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    for (auto it = rooms_.begin(); it != rooms_.end();) {
      if (it->second.subscribers.empty()) {
        it = rooms_.erase(it);
      } else {
        ids.push_back(it->first);
        ++it;
      }
    }
  }
  // Changes made by another process reach this one only through the store.
  for (const std::string& id : ids) {
    std::shared_ptr<const rooms::RoomSnapshot> snapshot;
    try {
      snapshot = service_.get(id);
    } catch (const std::exception& e) {
      spdlog::debug("room events: cannot read room {}: {}", id, e.what());
      continue;
    }
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(id);
    if (it == rooms_.end() || snapshot->public_view == it->second.last_view) continue;
    publishLocked(it->second, changeBetween(it->second.last_view, snapshot->public_view), snapshot->public_view,
                  snapshot->ended);
    if (snapshot->ended) rooms_.erase(it);
  }
  // A ping now and then: idle proxies keep the stream, pages see it is alive, dead clients are
  // found.
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (now - last_heartbeat_ < options_.heartbeat_interval) return;
  last_heartbeat_ = now;
  for (auto& [id, room] : rooms_) {
    auto& subs = room.subscribers;
    for (auto it = subs.begin(); it != subs.end();) {
      auto sink = it->sink.lock();
      // A named event, not a comment: pages can tell a quiet stream from a dead one.
      if (!sink || !sink->push("event: ping\ndata: {}\n\n")) {
        it = subs.erase(it);
        --subscriber_count_;
      } else {
        ++it;
      }
    }
  }
}

size_t RoomEventStream::subscribers() const {
  std::lock_guard lock(mutex_);
  return subscriber_count_;
}

std::string changeBetween(const std::string& before, const std::string& after) {
  const auto a = nlohmann::json::parse(before, nullptr, false);
  const auto b = nlohmann::json::parse(after, nullptr, false);
  if (!a.is_object() || !b.is_object()) return "room";
  auto differs = [&](const char* field) {
    return a.value(field, nlohmann::json()) != b.value(field, nlohmann::json());
  };
  if (b.value("status", "") == "ended" && differs("status")) return "ended";
  if (differs("title")) return "title";
  if (differs("live")) return "live";
  if (differs("viewers")) return "viewers";
  return "room";
}

}  // namespace liveroom::api

#include "metrics/instrumented.hpp"

#include <chrono>
#include <type_traits>

#include "common/error.hpp"

namespace liveroom::metrics {

namespace {

template <typename F>
auto timedCall(Metrics& metrics, Backend kind, std::string_view backend, std::string_view operation, F&& call) {
  const auto start = std::chrono::steady_clock::now();
  auto observe = [&](std::string_view outcome) {
    metrics.observeCall(kind, backend, operation, outcome, std::chrono::steady_clock::now() - start);
  };
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
      call();
      observe("ok");
    } else {
      auto result = call();
      observe("ok");
      return result;
    }
  } catch (const Error& e) {
    observe(e.code());
    throw;
  } catch (...) {
    observe("internal");
    throw;
  }
}

}  // namespace

template <typename F>
auto InstrumentedRoomStore::timed(std::string_view operation, F&& call) {
  return timedCall(metrics_, Backend::kStore, inner_.name(), operation, std::forward<F>(call));
}

void InstrumentedRoomStore::insert(const RoomRecord& room) {
  timed("insert", [&] { inner_.insert(room); });
}
std::optional<RoomRecord> InstrumentedRoomStore::get(std::string_view room_id) {
  return timed("get", [&] { return inner_.get(room_id); });
}
std::optional<RoomRecord> InstrumentedRoomStore::getBySessionId(std::string_view session_id) {
  return timed("get_by_session_id", [&] { return inner_.getBySessionId(session_id); });
}
std::optional<RoomRecord> InstrumentedRoomStore::updateTitle(std::string_view room_id, std::string_view title,
                                                             int64_t now_ms) {
  return timed("update_title", [&] { return inner_.updateTitle(room_id, title, now_ms); });
}
std::optional<RoomRecord> InstrumentedRoomStore::markEnded(std::string_view room_id, int64_t ended_at_ms,
                                                           std::string_view reason) {
  return timed("mark_ended", [&] { return inner_.markEnded(room_id, ended_at_ms, reason); });
}
std::optional<RoomRecord> InstrumentedRoomStore::setLive(std::string_view room_id, bool live, int64_t now_ms) {
  return timed("set_live", [&] { return inner_.setLive(room_id, live, now_ms); });
}
size_t InstrumentedRoomStore::clearLive(std::string_view provider, std::string_view whep_prefix, int64_t now_ms) {
  return timed("clear_live", [&] { return inner_.clearLive(provider, whep_prefix, now_ms); });
}
std::vector<RoomRecord> InstrumentedRoomStore::list(const ListQuery& query) {
  return timed("list", [&] { return inner_.list(query); });
}
bool InstrumentedRoomStore::ping() {
  return timed("ping", [&] { return inner_.ping(); });
}
std::optional<RoomCounts> InstrumentedRoomStore::countRooms() {
  return timed("count_rooms", [&] { return inner_.countRooms(); });
}

std::string InstrumentedRoomStore::deploymentId() {
  return timed("deployment_id", [&] { return inner_.deploymentId(); });
}
void InstrumentedRoomStore::setViewers(std::string_view room_id, size_t viewers) {
  timed("set_viewers", [&] { inner_.setViewers(room_id, viewers); });
}

template <typename F>
auto InstrumentedProvider::timed(std::string_view operation, F&& call) {
  return timedCall(metrics_, Backend::kProvider, inner_.name(), operation, std::forward<F>(call));
}

LiveInput InstrumentedProvider::createInput(std::string_view title, RoomMode mode) {
  return timed("create_input", [&] { return inner_.createInput(title, mode); });
}
std::optional<LiveInput> InstrumentedProvider::getInput(std::string_view uid, RoomMode mode) {
  return timed("get_input", [&] { return inner_.getInput(uid, mode); });
}
void InstrumentedProvider::deleteInput(std::string_view uid) {
  timed("delete_input", [&] { inner_.deleteInput(uid); });
}
std::vector<LiveInput> InstrumentedProvider::listInputs() {
  return timed("list_inputs", [&] { return inner_.listInputs(); });
}

}  // namespace liveroom::metrics

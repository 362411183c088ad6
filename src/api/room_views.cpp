// Room -> JSON views (see room_views.hpp).
#include "api/room_views.hpp"

#include <ctime>

#include <fmt/format.h>

namespace liveroom::api {

namespace {

nlohmann::json orNull(const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

nlohmann::json playbackView(const RoomRecord& room) {
  if (room.status == RoomStatus::ended) return {{"whep_url", nullptr}, {"hls_url", nullptr}, {"dash_url", nullptr}};
  return {{"whep_url", orNull(room.playback.whep_url)},
          {"hls_url", orNull(room.playback.hls_url)},
          {"dash_url", orNull(room.playback.dash_url)}};
}

}  // namespace

std::string formatTimestamp(int64_t epoch_ms) {
  int64_t secs = epoch_ms / 1000;
  int64_t ms = epoch_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

nlohmann::json publicView(const RoomRecord& room, size_t viewers) {
  nlohmann::json playback = playbackView(room);
  nlohmann::json whep = playback["whep_url"];
  return {{"room_id", room.room_id},
          {"title", room.title},
          {"host", room.host},
          {"mode", toString(room.mode)},
          {"provider", room.provider},
          {"status", toString(room.status)},
          {"live", room.live},
          {"viewers", room.status == RoomStatus::ended ? 0 : viewers},
          {"created_at", formatTimestamp(room.created_at_ms)},
          {"ended_at", room.ended_at_ms ? nlohmann::json(formatTimestamp(*room.ended_at_ms)) : nlohmann::json(nullptr)},
          {"ended_reason", room.status == RoomStatus::ended ? orNull(room.ended_reason) : nlohmann::json(nullptr)},
          {"visibility", room.visibility},
          {"whep_url", std::move(whep)},
          {"playback", std::move(playback)}};
}

std::string renderPublicView(const RoomRecord& room, size_t viewers) {
  return publicView(room, viewers).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string webhookBody(RoomEventType type, const RoomRecord& room, const std::string& event_id, int64_t seq,
                        int64_t at_ms, size_t viewers, bool viewers_event) {
  nlohmann::json data = {
      {"event_id", event_id}, {"room_id", room.room_id}, {"sequence", seq}, {"room", publicView(room, viewers)}};
  if (viewers_event) data["viewers"] = viewers;
  const nlohmann::json body = {
      {"type", webhookEventName(type)}, {"timestamp", formatTimestamp(at_ms)}, {"data", std::move(data)}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json deliveryView(const OutboxDelivery& d) {
  auto time = [](std::optional<int64_t> ms) { return ms ? nlohmann::json(formatTimestamp(*ms)) : nlohmann::json(); };
  nlohmann::json payload = nlohmann::json::parse(d.body, nullptr, /*allow_exceptions=*/false);
  return {{"event_id", d.event_id},
          {"type", d.type},
          {"room_id", d.room_id},
          {"sequence", d.seq},
          {"endpoint", d.endpoint.substr(0, d.endpoint.find_first_of("?#"))},
          {"state", d.state},
          {"attempts", d.attempts},
          {"created_at", formatTimestamp(d.created_at_ms)},
          {"next_attempt_at", d.state == "pending" ? time(d.next_attempt_at_ms) : nlohmann::json()},
          {"last_attempt_at", time(d.last_attempt_at_ms)},
          {"last_status", d.last_status ? nlohmann::json(*d.last_status) : nlohmann::json()},
          {"last_error", d.last_error.empty() ? nlohmann::json() : nlohmann::json(d.last_error)},
          {"delivered_at", time(d.delivered_at_ms)},
          {"payload", payload.is_discarded() ? nlohmann::json() : std::move(payload)}};
}

nlohmann::json ingestView(const RoomRecord& room) {
  const auto& in = room.ingest;
  nlohmann::json rtmps = nullptr, srt = nullptr;
  if (in.rtmps_url) rtmps = {{"url", *in.rtmps_url}, {"stream_key", orNull(in.rtmps_stream_key)}};
  if (in.srt_url) {
    srt = {{"url", *in.srt_url}, {"stream_id", orNull(in.srt_stream_id)}, {"passphrase", orNull(in.srt_passphrase)}};
  }
  return {{"whip_url", orNull(in.whip_url)}, {"rtmps", std::move(rtmps)}, {"srt", std::move(srt)}};
}

std::string watchUrl(std::string_view base, std::string_view room_id) {
  return fmt::format("{}/watch/{}", base, room_id);
}

std::string studioUrl(std::string_view base, std::string_view room_id, std::string_view host_token) {
  return fmt::format("{}/studio/{}#token={}", base, room_id, host_token);
}

std::string withWatchUrl(std::string_view view_json, std::string_view watch_url) {
  if (view_json.size() < 2 || view_json.front() != '{') return std::string(view_json);
  std::string out =
      "{\"watch_url\":" + nlohmann::json(watch_url).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (view_json[1] != '}') out += ',';
  out.append(view_json.substr(1));
  return out;
}

nlohmann::json createdView(const RoomRecord& room, const std::string& host_token) {
  nlohmann::json view = publicView(room);
  view.erase("viewers");
  view.erase("ended_at");
  view.erase("ended_reason");
  view.erase("whep_url");
  view["host_token"] = host_token;
  view["whip_url"] = orNull(room.ingest.whip_url);
  view["ingest"] = ingestView(room);
  return view;
}

}  // namespace liveroom::api

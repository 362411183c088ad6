// Decorators that count and time every call of a room store or stream provider into Metrics
// (liveroom_store_calls_total / liveroom_provider_calls_total and their latency histograms),
// then hand it to the real one unchanged. The outcome label is "ok" or the liveroom::Error code
// the call threw ("internal" for anything else).
#pragma once

#include "metrics/metrics.hpp"
#include "store/room_store.hpp"
#include "stream/stream_provider.hpp"

namespace liveroom::metrics {

class InstrumentedRoomStore final : public RoomStore {
 public:
  // `inner`'s outbox policy is set on `inner` itself (the writes record there).
  InstrumentedRoomStore(RoomStore& inner, Metrics& metrics) : inner_(inner), metrics_(metrics) {}

  void insert(const RoomRecord& room) override;
  std::optional<RoomRecord> get(std::string_view room_id) override;
  std::optional<RoomRecord> getBySessionId(std::string_view session_id) override;
  std::optional<RoomRecord> updateTitle(std::string_view room_id, std::string_view title, int64_t now_ms) override;
  std::optional<RoomRecord> markEnded(std::string_view room_id, int64_t ended_at_ms, std::string_view reason) override;
  std::optional<RoomRecord> setLive(std::string_view room_id, bool live, int64_t now_ms) override;
  size_t clearLive(std::string_view provider, std::string_view whep_prefix, int64_t now_ms) override;
  std::vector<RoomRecord> list(const ListQuery& query) override;
  bool ping() override;
  std::optional<RoomCounts> countRooms() override;
  std::string deploymentId() override;
  void setViewers(std::string_view room_id, size_t viewers) override;
  std::string_view name() const override { return inner_.name(); }
  WebhookOutbox* outbox() override { return inner_.outbox(); }

 private:
  template <typename F>
  auto timed(std::string_view operation, F&& call);

  RoomStore& inner_;
  Metrics& metrics_;
};

class InstrumentedProvider final : public StreamProvider {
 public:
  InstrumentedProvider(StreamProvider& inner, Metrics& metrics) : inner_(inner), metrics_(metrics) {}

  std::string_view name() const override { return inner_.name(); }
  LiveInput createInput(std::string_view title, RoomMode mode) override;
  std::optional<LiveInput> getInput(std::string_view uid, RoomMode mode) override;
  void deleteInput(std::string_view uid) override;
  std::vector<LiveInput> listInputs() override;

 private:
  template <typename F>
  auto timed(std::string_view operation, F&& call);

  StreamProvider& inner_;
  Metrics& metrics_;
};

}  // namespace liveroom::metrics

// MongoRoomStore: RoomStore over MongoDB (or FerretDB) through libmongoc's client pool.
// Collection `livestreams` in the URI's database (default `liveroom`), one document per
// room with the spec's field names; indexes are created at start.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/outbox.hpp"
#include "store/room_store.hpp"

typedef struct _bson_t bson_t;

namespace liveroom {

// Webhook events (store/outbox.hpp) are recorded in the room's own document by the update that
// makes the change ($inc event_seq, $push webhook_pending: one atomic write, as FerretDB has no
// multi-document transactions); right after, and on every claim for ones a crash left behind,
// the oldest pending entry becomes one delivery document per endpoint (insert by id, so a
// repeat is harmless) and is popped with a compare-and-set on event_done, so the entry at
// index i is sequence event_done + 1 + i.
class MongoRoomStore : public RoomStore, public WebhookOutbox {
 public:
  static constexpr const char* kDefaultDatabase = "liveroom";
  static constexpr const char* kCollection = "livestreams";
  // The webhook outbox's deliveries (one document per event and endpoint).
  static constexpr const char* kDeliveries = "webhook_deliveries";
  // Who is attempting a delivery now (one document per leased delivery, keyed like it).
  static constexpr const char* kLeases = "webhook_leases";
  // Used unless the URI sets serverSelectionTimeoutMS: fail fast when the server is down
  // instead of libmongoc's 30 s default.
  static constexpr int kDefaultServerSelectionTimeoutMs = 3000;

  // Connects to `uri`, pings the server and creates the indexes. Throws
  // Error(store_unavailable) when the URI is invalid or the server cannot be reached;
  // messages never contain the URI's password.
  explicit MongoRoomStore(const std::string& uri);
  ~MongoRoomStore() override;

  MongoRoomStore(const MongoRoomStore&) = delete;
  MongoRoomStore& operator=(const MongoRoomStore&) = delete;

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
  std::string_view name() const override { return "mongodb"; }

  WebhookOutbox* outbox() override { return this; }
  void recordViewers(std::string_view room_id, size_t viewers, int64_t now_ms) override;
  std::vector<OutboxDelivery> claim(int64_t now_ms, std::string_view owner, int64_t lease_ms, size_t limit) override;
  bool finish(const OutboxDelivery& delivery, std::string_view owner) override;
  std::vector<OutboxDelivery> deliveries(const DeliveryQuery& query) override;
  OutboxCounts counts() override;
  size_t prune(int64_t before_ms) override;

  const std::string& databaseName() const { return database_; }

  // `uri` with the password (if any) replaced by "***": safe for logs and errors.
  static std::string redactUri(std::string_view uri);

  // libmongoc handles (client pool, ...) live behind this; defined in the .cpp.
  struct Handles;

 private:
  std::mutex deployment_mutex_;
  std::string deployment_id_;  // read once (it never changes)
  // The first document whose `field` equals `value`.
  std::optional<RoomRecord> findOne(const char* field, std::string_view value);
  // Turns the room's pending webhook events into deliveries, oldest first (see above); errors
  // are logged, the events stay pending for the next try.
  void materialize(std::string_view room_id) noexcept;
  // materialize() for rooms whose events a crash or a failure left pending.
  void sweepPending();
  // The room_id of the rooms matching `filter` (at most `limit`; 0: all).
  std::vector<std::string> roomIds(const bson_t* filter, int64_t limit);

  // Writes of one room in this process go one at a time (striped by room id): FerretDB does not
  // isolate concurrent updates of one document, and a lost $push would lose a webhook event.
  std::mutex& roomLock(std::string_view room_id);
  std::array<std::mutex, 64> room_locks_;
  // Claims in this process go one at a time (one scan of the queues serves them all).
  std::mutex claim_mutex_;
  // Leases `key` (a delivery's id) to `owner` until now + lease_ms: true if this call took it —
  // it was free, or its holder's lease had run out (a process that died attempting it).
  bool takeLease(const std::string& key, std::string_view owner, int64_t now_ms, int64_t lease_ms);
  // Ends `owner`'s lease of `key` (nothing if it does not hold it).
  void dropLease(const std::string& key, std::string_view owner);

  std::string redacted_uri_;
  std::string database_;
  std::unique_ptr<Handles> handles_;
};

}  // namespace liveroom

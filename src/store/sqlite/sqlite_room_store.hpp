// SqliteRoomStore: the embedded default RoomStore, one SQLite file under --data-dir.
// WAL mode so readers never wait for the writer; one writer connection behind a mutex
// (SQLite allows one writer at a time anyway, and serializing in-process avoids
// SQLITE_BUSY storms) plus a small pool of reader connections for concurrent reads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/outbox.hpp"
#include "store/room_store.hpp"

namespace liveroom {

namespace sqlite {
class Connection;
}

class SqliteRoomStore : public RoomStore, public WebhookOutbox {
 public:
  // The schema version this build creates and migrates to (PRAGMA user_version).
  static constexpr int kSchemaVersion = 8;

  // Opens (creating the file and its parent directories if needed) and migrates the
  // database at `path`. Throws Error(store_unavailable) when it cannot.
  explicit SqliteRoomStore(std::string path, std::size_t max_readers = 4);
  ~SqliteRoomStore() override;

  SqliteRoomStore(const SqliteRoomStore&) = delete;
  SqliteRoomStore& operator=(const SqliteRoomStore&) = delete;

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
  std::string_view name() const override { return "sqlite"; }

  WebhookOutbox* outbox() override { return this; }
  void recordViewers(std::string_view room_id, size_t viewers, int64_t now_ms) override;
  std::vector<OutboxDelivery> claim(int64_t now_ms, std::string_view owner, int64_t lease_ms, size_t limit) override;
  bool finish(const OutboxDelivery& delivery, std::string_view owner) override;
  std::vector<OutboxDelivery> deliveries(const DeliveryQuery& query) override;
  OutboxCounts counts() override;
  size_t prune(int64_t before_ms) override;

  const std::string& path() const { return path_; }

 private:
  using Connection = sqlite::Connection;
  class ReaderLease;

  ReaderLease leaseReader();
  // Runs `body` with the writer held: in one transaction when the outbox records (the change
  // and its event commit together), else as it is.
  template <typename Body>
  auto write(Body&& body);
  std::optional<RoomRecord> roomForWrite(std::string_view room_id);
  void returnReader(std::unique_ptr<Connection> connection);

  std::string path_;
  std::size_t max_readers_;

  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;

  std::mutex readers_mutex_;
  std::condition_variable reader_returned_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
  std::size_t open_readers_ = 0;
};

}  // namespace liveroom

// MongoRoomStore: RoomStore over MongoDB (or FerretDB) through libmongoc's client pool.
// Collection `livestreams` in the URI's database (default `liveroom`), one document per
// room with the spec's field names; indexes are created at start.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/room_store.hpp"

namespace liveroom {

class MongoRoomStore : public RoomStore {
 public:
  static constexpr const char* kDefaultDatabase = "liveroom";
  static constexpr const char* kCollection = "livestreams";
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
  size_t clearLive(std::string_view provider, int64_t now_ms) override;
  std::vector<RoomRecord> list(const ListQuery& query) override;
  bool ping() override;
  std::string_view name() const override { return "mongodb"; }

  const std::string& databaseName() const { return database_; }

  // `uri` with the password (if any) replaced by "***": safe for logs and errors.
  static std::string redactUri(std::string_view uri);

  // libmongoc handles (client pool, ...) live behind this; defined in the .cpp.
  struct Handles;

 private:
  // The first document whose `field` equals `value`.
  std::optional<RoomRecord> findOne(const char* field, std::string_view value);

  std::string redacted_uri_;
  std::string database_;
  std::unique_ptr<Handles> handles_;
};

}  // namespace liveroom

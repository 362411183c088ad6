// Shared SQLite helpers (see sqlite_db.hpp).
#include "store/sqlite/sqlite_db.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace liveroom::sqlite {

namespace {
// Long enough to ride out a checkpoint or another process holding the write lock,
// short enough that a wedged database surfaces as store_unavailable to the caller.
constexpr int kBusyTimeoutMs = 5000;
}  // namespace

Connection::Connection(const std::string& path, bool read_only) : path_(path) {
  sqlite3* raw = nullptr;
  // NOMUTEX: a connection is used by one thread at a time (its owner serializes use), so
  // SQLite's own per-connection mutex is redundant.
  int flags = SQLITE_OPEN_NOMUTEX | (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  db_.reset(raw);
  if (rc != SQLITE_OK) {
    throw Error(codes::kStoreUnavailable, fmt::format("cannot open SQLite database {}: {}", path,
                                                      raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(db_.get(), 1);
  sqlite3_busy_timeout(db_.get(), kBusyTimeoutMs);
  if (!read_only) {
    // Switching to WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY at once, without
    // its busy handler, while another process opens or migrates the same file (two servers
    // starting on one fresh data dir): wait for it like the busy timeout would.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    for (;;) {
      const int wal = sqlite3_exec(db_.get(), "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
      if ((wal & 0xFF) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    exec("PRAGMA journal_mode=WAL");  // now, or with the error that stopped it
    // NORMAL is durable across application crashes in WAL mode; only a power loss can
    // drop the last transactions, which is acceptable for room metadata.
    exec("PRAGMA synchronous=NORMAL");
  }
}

void Connection::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errmsg(db_.get());
    sqlite3_free(message);
    throw Error(codes::kStoreUnavailable, fmt::format("SQLite {}: {}", path_, text));
  }
}

sqlite3_stmt* Connection::statement(const std::string& sql) {
  auto found = statements_.find(sql);
  if (found != statements_.end()) return found->second.get();
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw,
                         nullptr) != SQLITE_OK) {
    throw failure("prepare");
  }
  return statements_.emplace(sql, std::unique_ptr<sqlite3_stmt, StatementFinalizer>(raw)).first->second.get();
}

Error Connection::failure(std::string_view what) const {
  return Error(codes::kStoreUnavailable,
               fmt::format("SQLite {} failed on {}: {}", what, path_, sqlite3_errmsg(db_.get())));
}

void StatementUse::bind(int index, std::string_view text) {
  check(sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
}
void StatementUse::bind(int index, const std::optional<std::string>& text) {
  if (text) {
    bind(index, std::string_view(*text));
  } else {
    check(sqlite3_bind_null(statement_, index));
  }
}
void StatementUse::bind(int index, int64_t value) { check(sqlite3_bind_int64(statement_, index, value)); }
void StatementUse::bind(int index, std::optional<int64_t> value) {
  if (value) {
    bind(index, *value);
  } else {
    check(sqlite3_bind_null(statement_, index));
  }
}

bool StatementUse::step() {
  int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
    throw Error(codes::kRoomExists, "a room with this id already exists");
  }
  throw connection_.failure("query");
}

void StatementUse::check(int rc) {
  if (rc != SQLITE_OK) throw connection_.failure("bind");
}

std::optional<std::string> optionalText(sqlite3_stmt* statement, int column) {
  if (sqlite3_column_type(statement, column) == SQLITE_NULL) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(sqlite3_column_text(statement, column)),
                     static_cast<std::size_t>(sqlite3_column_bytes(statement, column)));
}

std::string text(sqlite3_stmt* statement, int column) {
  return optionalText(statement, column).value_or(std::string());
}

std::optional<int64_t> optionalInt(sqlite3_stmt* statement, int column) {
  if (sqlite3_column_type(statement, column) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(statement, column);
}

void transaction(Connection& connection, const std::function<void()>& body) {
  connection.exec("BEGIN IMMEDIATE");
  try {
    body();
    connection.exec("COMMIT");
  } catch (...) {
    sqlite3_exec(connection.db(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void migrate(Connection& connection, std::span<const char* const> migrations, std::string_view what) {
  const int target = static_cast<int>(migrations.size());
  // IMMEDIATE takes the write lock up front, so two processes starting together on the
  // same file migrate one after the other instead of both trying.
  transaction(connection, [&] {
    StatementUse version_query(connection, "PRAGMA user_version");
    int version = version_query.step() ? sqlite3_column_int(version_query.get(), 0) : 0;
    if (version > target) {
      throw Error(codes::kStoreUnavailable, fmt::format("SQLite database {} has schema version {}, newer than the {} "
                                                        "this liveroom knows: upgrade liveroom",
                                                        connection.path(), version, target));
    }
    for (int next = version; next < target; ++next) {
      connection.exec(migrations[static_cast<size_t>(next)]);
      spdlog::info("{}: migrated {} to schema version {}", what, connection.path(), next + 1);
    }
    // PRAGMA takes no bound parameters; the value is our own constant.
    connection.exec(fmt::format("PRAGMA user_version={}", target).c_str());
  });
}

RoomRecord readRoom(sqlite3_stmt* statement) {
  RoomRecord room;
  room.room_id = text(statement, 0);
  room.title = text(statement, 1);
  room.host = text(statement, 2);
  // A word this version does not know (a newer one wrote it): a webrtc room, and an ended one, to
  // which nothing more happens here.
  room.mode = parseRoomMode(text(statement, 3)).value_or(RoomMode::webrtc);
  room.status = parseRoomStatus(text(statement, 4)).value_or(RoomStatus::ended);
  room.live = sqlite3_column_int(statement, 5) != 0;
  room.session_id = text(statement, 6);
  room.ingest.whip_url = optionalText(statement, 7);
  room.ingest.rtmps_url = optionalText(statement, 8);
  room.ingest.rtmps_stream_key = optionalText(statement, 9);
  room.ingest.srt_url = optionalText(statement, 10);
  room.ingest.srt_stream_id = optionalText(statement, 11);
  room.ingest.srt_passphrase = optionalText(statement, 12);
  room.playback.whep_url = optionalText(statement, 13);
  room.playback.hls_url = optionalText(statement, 14);
  room.playback.dash_url = optionalText(statement, 15);
  room.host_token_hash = text(statement, 16);
  room.created_at_ms = sqlite3_column_int64(statement, 17);
  room.updated_at_ms = sqlite3_column_int64(statement, 18);
  room.ended_at_ms = optionalInt(statement, 19);
  room.provider = text(statement, 20);
  room.visibility = text(statement, 21);
  room.live_changed_at_ms = optionalInt(statement, 22);
  room.ended_reason = optionalText(statement, 23);
  if (sqlite3_column_count(statement) > 24) room.viewers = static_cast<size_t>(sqlite3_column_int64(statement, 24));
  return room;
}

void bindEndpoints(StatementUse& use, int first, const RoomRecord& room) {
  use.bind(first, room.ingest.whip_url);
  use.bind(first + 1, room.ingest.rtmps_url);
  use.bind(first + 2, room.ingest.rtmps_stream_key);
  use.bind(first + 3, room.ingest.srt_url);
  use.bind(first + 4, room.ingest.srt_stream_id);
  use.bind(first + 5, room.ingest.srt_passphrase);
  use.bind(first + 6, room.playback.whep_url);
  use.bind(first + 7, room.playback.hls_url);
  use.bind(first + 8, room.playback.dash_url);
}

const char* const kSettingsSchema = R"sql(
CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
INSERT INTO settings (key, value) VALUES ('deployment_id', 'lrd_' || lower(hex(randomblob(12))));
)sql";

std::string deploymentId(Connection& connection) {
  StatementUse use(connection, "SELECT value FROM settings WHERE key = 'deployment_id'");
  if (!use.step()) throw Error(codes::kStoreUnavailable, "the store has no deployment id");
  return text(use.get(), 0);
}

RoomCounts countRooms(Connection& connection, const std::string& sql) {
  RoomCounts counts;
  StatementUse use(connection, sql);
  while (use.step()) {
    const auto n = static_cast<size_t>(sqlite3_column_int64(use.get(), 2));
    (text(use.get(), 0) == "ended" ? counts.ended : counts.active) += n;
    if (sqlite3_column_int64(use.get(), 1) != 0) counts.live += n;
  }
  return counts;
}

std::vector<RoomRecord> listRooms(Connection& connection, const std::string& select, std::string_view prefix,
                                  const ListQuery& query) {
  std::vector<RoomRecord> rooms;
  if (query.limit <= 0) return rooms;
  std::string sql = select + " WHERE 1";
  if (query.status) sql += fmt::format(" AND {}status = ?1", prefix);
  if (query.host) sql += fmt::format(" AND {}host = ?2", prefix);
  if (query.visibility) sql += fmt::format(" AND {}visibility = ?6", prefix);
  if (query.after) sql += fmt::format(" AND ({0}created_at, {0}room_id) < (?3, ?4)", prefix);
  sql += fmt::format(" ORDER BY {0}created_at DESC, {0}room_id DESC LIMIT ?5", prefix);
  StatementUse use(connection, sql);
  if (query.status) use.bind(1, toString(*query.status));
  if (query.host) use.bind(2, std::string_view(*query.host));
  if (query.visibility) use.bind(6, std::string_view(*query.visibility));
  if (query.after) {
    use.bind(3, query.after->created_at_ms);
    use.bind(4, std::string_view(query.after->room_id));
  }
  use.bind(5, int64_t{query.limit});
  rooms.reserve(std::min<std::size_t>(static_cast<std::size_t>(query.limit), 100));
  while (use.step()) rooms.push_back(readRoom(use.get()));
  return rooms;
}

std::optional<RoomRecord> singleRoom(StatementUse& use) {
  if (!use.step()) return std::nullopt;
  RoomRecord room = readRoom(use.get());
  while (use.step()) {
  }
  return room;
}

}  // namespace liveroom::sqlite

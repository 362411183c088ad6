// SqliteRoomStore: schema and migrations, connection handling, and the room queries.
#include "store/sqlite/sqlite_room_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.hpp"

namespace liveroom {

namespace {

// Long enough to ride out a checkpoint or another process holding the write lock,
// short enough that a wedged database surfaces as store_unavailable to the caller.
constexpr int kBusyTimeoutMs = 5000;

struct DatabaseCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using DatabaseHandle = std::unique_ptr<sqlite3, DatabaseCloser>;
using StatementHandle = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// Column order shared by every SELECT/RETURNING and readRoom().
constexpr const char* kRoomColumns =
    "room_id, title, host, mode, status, live, session_id, "
    "whip_url, rtmps_url, rtmps_stream_key, srt_url, srt_stream_id, srt_passphrase, "
    "whep_url, hls_url, dash_url, host_token_hash, created_at, updated_at, ended_at, provider";

// Migrations by target version; index i brings a database from version i to i + 1.
const char* const kMigrations[] = {
    // v1: the rooms table and the indexes of the list query (all, by status, by host),
    // each ending in (created_at DESC, room_id DESC) so a page is one index range scan.
    R"sql(
CREATE TABLE rooms (
  room_id          TEXT PRIMARY KEY NOT NULL,
  title            TEXT NOT NULL,
  host             TEXT NOT NULL,
  mode             TEXT NOT NULL,
  status           TEXT NOT NULL,
  live             INTEGER NOT NULL DEFAULT 0,
  session_id       TEXT NOT NULL,
  whip_url         TEXT,
  rtmps_url        TEXT,
  rtmps_stream_key TEXT,
  srt_url          TEXT,
  srt_stream_id    TEXT,
  srt_passphrase   TEXT,
  whep_url         TEXT,
  hls_url          TEXT,
  dash_url         TEXT,
  host_token_hash  TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  ended_at         INTEGER
);
CREATE INDEX rooms_by_created ON rooms (created_at DESC, room_id DESC);
CREATE INDEX rooms_by_status ON rooms (status, created_at DESC, room_id DESC);
CREATE INDEX rooms_by_host ON rooms (host, created_at DESC, room_id DESC);
)sql",
    // v2: provider events (Cloudflare webhooks) name the live input, not the room.
    R"sql(
CREATE INDEX rooms_by_session ON rooms (session_id);
)sql",
    // v3: the StreamProvider that created the room ("cloudflare" | "local"); rooms made
    // before it were all on Cloudflare, the only provider then.
    R"sql(
ALTER TABLE rooms ADD COLUMN provider TEXT NOT NULL DEFAULT 'cloudflare';
)sql",
};
static_assert(std::size(kMigrations) == SqliteRoomStore::kSchemaVersion);

}  // namespace

class SqliteRoomStore::Connection {
 public:
  Connection(const std::string& path, bool read_only) : path_(path) {
    sqlite3* raw = nullptr;
    // NOMUTEX: a connection is used by one thread at a time (the writer mutex or the
    // reader pool guarantees it), so SQLite's own per-connection mutex is redundant.
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
      exec("PRAGMA journal_mode=WAL");
      // NORMAL is durable across application crashes in WAL mode; only a power loss can
      // drop the last transactions, which is acceptable for room metadata.
      exec("PRAGMA synchronous=NORMAL");
    }
  }

  sqlite3* db() const { return db_.get(); }

  void exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : sqlite3_errmsg(db_.get());
      sqlite3_free(message);
      throw Error(codes::kStoreUnavailable, fmt::format("SQLite {}: {}", path_, text));
    }
  }

  // Prepared once per connection and reused: keyed by the SQL text.
  sqlite3_stmt* statement(const std::string& sql) {
    auto found = statements_.find(sql);
    if (found != statements_.end()) return found->second.get();
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw,
                           nullptr) != SQLITE_OK) {
      throw failure("prepare");
    }
    return statements_.emplace(sql, StatementHandle(raw)).first->second.get();
  }

  Error failure(std::string_view what) const {
    return Error(codes::kStoreUnavailable,
                 fmt::format("SQLite {} failed on {}: {}", what, path_, sqlite3_errmsg(db_.get())));
  }

 private:
  std::string path_;
  DatabaseHandle db_;
  std::map<std::string, StatementHandle, std::less<>> statements_;
};

namespace {

// Resets and unbinds a cached statement when the call using it ends, however it ends.
class StatementUse {
 public:
  StatementUse(SqliteRoomStore::Connection& connection, const std::string& sql)
      : connection_(connection), statement_(connection.statement(sql)) {}
  ~StatementUse() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;

  sqlite3_stmt* get() const { return statement_; }

  void bind(int index, std::string_view text) {
    check(sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
  }
  void bind(int index, const std::optional<std::string>& text) {
    if (text) {
      bind(index, std::string_view(*text));
    } else {
      check(sqlite3_bind_null(statement_, index));
    }
  }
  void bind(int index, int64_t value) { check(sqlite3_bind_int64(statement_, index, value)); }
  void bind(int index, std::optional<int64_t> value) {
    if (value) {
      bind(index, *value);
    } else {
      check(sqlite3_bind_null(statement_, index));
    }
  }

  // SQLITE_ROW -> true, SQLITE_DONE -> false, anything else throws.
  bool step() {
    int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if ((rc & 0xff) == SQLITE_CONSTRAINT && (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)) {
      throw Error(codes::kRoomExists, "a room with this id already exists");
    }
    throw connection_.failure("query");
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw connection_.failure("bind");
  }

  SqliteRoomStore::Connection& connection_;
  sqlite3_stmt* statement_;
};

std::optional<std::string> optionalText(sqlite3_stmt* statement, int column) {
  if (sqlite3_column_type(statement, column) == SQLITE_NULL) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(sqlite3_column_text(statement, column)),
                     static_cast<std::size_t>(sqlite3_column_bytes(statement, column)));
}

std::string text(sqlite3_stmt* statement, int column) {
  return optionalText(statement, column).value_or(std::string());
}

// Reads one row laid out as kRoomColumns.
RoomRecord readRoom(sqlite3_stmt* statement) {
  RoomRecord room;
  room.room_id = text(statement, 0);
  room.title = text(statement, 1);
  room.host = text(statement, 2);
  room.mode = text(statement, 3);
  room.status = text(statement, 4);
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
  if (sqlite3_column_type(statement, 19) != SQLITE_NULL) {
    room.ended_at_ms = sqlite3_column_int64(statement, 19);
  }
  room.provider = text(statement, 20);
  return room;
}

// Runs a statement expected to yield at most one room (SELECT by id, UPDATE ... RETURNING).
std::optional<RoomRecord> singleRoom(StatementUse& use) {
  if (!use.step()) return std::nullopt;
  RoomRecord room = readRoom(use.get());
  // Drain so an UPDATE ... RETURNING completes and commits before the reset.
  while (use.step()) {
  }
  return room;
}

void migrate(SqliteRoomStore::Connection& connection, const std::string& path) {
  // IMMEDIATE takes the write lock up front, so two processes starting together on the
  // same file migrate one after the other instead of both trying.
  connection.exec("BEGIN IMMEDIATE");
  try {
    StatementUse version_query(connection, "PRAGMA user_version");
    int version = version_query.step() ? sqlite3_column_int(version_query.get(), 0) : 0;
    if (version > SqliteRoomStore::kSchemaVersion) {
      throw Error(codes::kStoreUnavailable,
                  fmt::format("SQLite database {} has schema version {}, newer than the {} this "
                              "liveroom knows: upgrade liveroom",
                              path, version, SqliteRoomStore::kSchemaVersion));
    }
    for (int next = version; next < SqliteRoomStore::kSchemaVersion; ++next) {
      connection.exec(kMigrations[next]);
      spdlog::info("sqlite store: migrated {} to schema version {}", path, next + 1);
    }
    // PRAGMA takes no bound parameters; the value is our own constant.
    connection.exec(fmt::format("PRAGMA user_version={}", SqliteRoomStore::kSchemaVersion).c_str());
    connection.exec("COMMIT");
  } catch (...) {
    sqlite3_exec(connection.db(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

}  // namespace

// Hands a reader connection back to the pool when the call is done with it.
class SqliteRoomStore::ReaderLease {
 public:
  ReaderLease(SqliteRoomStore& store, std::unique_ptr<Connection> connection)
      : store_(store), connection_(std::move(connection)) {}
  ~ReaderLease() {
    if (connection_) store_.returnReader(std::move(connection_));
  }
  ReaderLease(ReaderLease&& other) noexcept : store_(other.store_), connection_(std::move(other.connection_)) {}
  ReaderLease(const ReaderLease&) = delete;
  ReaderLease& operator=(const ReaderLease&) = delete;
  ReaderLease& operator=(ReaderLease&&) = delete;

  Connection& operator*() const { return *connection_; }

 private:
  SqliteRoomStore& store_;
  std::unique_ptr<Connection> connection_;
};

SqliteRoomStore::SqliteRoomStore(std::string path, std::size_t max_readers)
    : path_(std::move(path)), max_readers_(max_readers == 0 ? 1 : max_readers) {
  std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw Error(codes::kStoreUnavailable,
                  fmt::format("cannot create directory {} for the SQLite database: {}", parent.string(), ec.message()));
    }
  }
  writer_ = std::make_unique<Connection>(path_, /*read_only=*/false);
  migrate(*writer_, path_);
}

SqliteRoomStore::~SqliteRoomStore() = default;

SqliteRoomStore::ReaderLease SqliteRoomStore::leaseReader() {
  std::unique_lock lock(readers_mutex_);
  reader_returned_.wait(lock, [&] { return !idle_readers_.empty() || open_readers_ < max_readers_; });
  if (!idle_readers_.empty()) {
    std::unique_ptr<Connection> connection = std::move(idle_readers_.back());
    idle_readers_.pop_back();
    return ReaderLease(*this, std::move(connection));
  }
  // Reserve the slot before opening outside the lock, so opening never serializes reads.
  ++open_readers_;
  lock.unlock();
  try {
    return ReaderLease(*this, std::make_unique<Connection>(path_, /*read_only=*/true));
  } catch (...) {
    lock.lock();
    --open_readers_;
    reader_returned_.notify_one();
    throw;
  }
}

void SqliteRoomStore::returnReader(std::unique_ptr<Connection> connection) {
  {
    std::lock_guard lock(readers_mutex_);
    idle_readers_.push_back(std::move(connection));
  }
  reader_returned_.notify_one();
}

void SqliteRoomStore::insert(const RoomRecord& room) {
  static const std::string sql = fmt::format(
      "INSERT INTO rooms ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
      "?15, ?16, ?17, ?18, ?19, ?20, ?21)",
      kRoomColumns);
  std::lock_guard lock(writer_mutex_);
  StatementUse use(*writer_, sql);
  use.bind(1, std::string_view(room.room_id));
  use.bind(2, std::string_view(room.title));
  use.bind(3, std::string_view(room.host));
  use.bind(4, std::string_view(room.mode));
  use.bind(5, std::string_view(room.status));
  use.bind(6, int64_t{room.live ? 1 : 0});
  use.bind(7, std::string_view(room.session_id));
  use.bind(8, room.ingest.whip_url);
  use.bind(9, room.ingest.rtmps_url);
  use.bind(10, room.ingest.rtmps_stream_key);
  use.bind(11, room.ingest.srt_url);
  use.bind(12, room.ingest.srt_stream_id);
  use.bind(13, room.ingest.srt_passphrase);
  use.bind(14, room.playback.whep_url);
  use.bind(15, room.playback.hls_url);
  use.bind(16, room.playback.dash_url);
  use.bind(17, std::string_view(room.host_token_hash));
  use.bind(18, room.created_at_ms);
  use.bind(19, room.updated_at_ms);
  use.bind(20, room.ended_at_ms);
  use.bind(21, std::string_view(room.provider));
  use.step();
}

std::optional<RoomRecord> SqliteRoomStore::get(std::string_view room_id) {
  static const std::string sql = fmt::format("SELECT {} FROM rooms WHERE room_id = ?1", kRoomColumns);
  ReaderLease reader = leaseReader();
  StatementUse use(*reader, sql);
  use.bind(1, room_id);
  return singleRoom(use);
}

std::optional<RoomRecord> SqliteRoomStore::getBySessionId(std::string_view session_id) {
  static const std::string sql =
      fmt::format("SELECT {} FROM rooms WHERE session_id = ?1 ORDER BY created_at DESC LIMIT 1", kRoomColumns);
  ReaderLease reader = leaseReader();
  StatementUse use(*reader, sql);
  use.bind(1, session_id);
  return singleRoom(use);
}

std::optional<RoomRecord> SqliteRoomStore::updateTitle(std::string_view room_id, std::string_view title,
                                                       int64_t now_ms) {
  static const std::string sql =
      fmt::format("UPDATE rooms SET title = ?2, updated_at = ?3 WHERE room_id = ?1 RETURNING {}", kRoomColumns);
  std::lock_guard lock(writer_mutex_);
  StatementUse use(*writer_, sql);
  use.bind(1, room_id);
  use.bind(2, title);
  use.bind(3, now_ms);
  return singleRoom(use);
}

std::optional<RoomRecord> SqliteRoomStore::markEnded(std::string_view room_id, int64_t ended_at_ms) {
  // Only the first end moves ended_at/updated_at; a repeated end (retry, second tab)
  // still forces status/live in case a stray setLive raced with it.
  static const std::string sql = fmt::format(
      "UPDATE rooms SET status = 'ended', live = 0, "
      "updated_at = CASE WHEN ended_at IS NULL THEN ?2 ELSE updated_at END, "
      "ended_at = COALESCE(ended_at, ?2) WHERE room_id = ?1 RETURNING {}",
      kRoomColumns);
  std::lock_guard lock(writer_mutex_);
  StatementUse use(*writer_, sql);
  use.bind(1, room_id);
  use.bind(2, ended_at_ms);
  return singleRoom(use);
}

std::optional<RoomRecord> SqliteRoomStore::setLive(std::string_view room_id, bool live, int64_t now_ms) {
  static const std::string sql =
      fmt::format("UPDATE rooms SET live = ?2, updated_at = ?3 WHERE room_id = ?1 RETURNING {}", kRoomColumns);
  std::lock_guard lock(writer_mutex_);
  StatementUse use(*writer_, sql);
  use.bind(1, room_id);
  use.bind(2, int64_t{live ? 1 : 0});
  use.bind(3, now_ms);
  return singleRoom(use);
}

std::vector<RoomRecord> SqliteRoomStore::list(const ListQuery& query) {
  // One SQL text per filter combination (at most 8), each prepared once per connection;
  // spelled without "x IS NULL OR" tricks so the planner can use the matching index.
  std::string sql = fmt::format("SELECT {} FROM rooms WHERE 1", kRoomColumns);
  if (query.status) sql += " AND status = ?1";
  if (query.host) sql += " AND host = ?2";
  if (query.after) sql += " AND (created_at, room_id) < (?3, ?4)";
  sql += " ORDER BY created_at DESC, room_id DESC LIMIT ?5";

  std::vector<RoomRecord> rooms;
  if (query.limit <= 0) return rooms;
  ReaderLease reader = leaseReader();
  StatementUse use(*reader, sql);
  if (query.status) use.bind(1, std::string_view(*query.status));
  if (query.host) use.bind(2, std::string_view(*query.host));
  if (query.after) {
    use.bind(3, query.after->created_at_ms);
    use.bind(4, std::string_view(query.after->room_id));
  }
  use.bind(5, int64_t{query.limit});
  rooms.reserve(std::min<std::size_t>(static_cast<std::size_t>(query.limit), 100));
  while (use.step()) rooms.push_back(readRoom(use.get()));
  return rooms;
}

bool SqliteRoomStore::ping() {
  try {
    ReaderLease reader = leaseReader();
    StatementUse use(*reader, "SELECT 1 FROM rooms LIMIT 1");
    use.step();
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("sqlite store: ping failed: {}", e.what());
    return false;
  }
}

}  // namespace liveroom

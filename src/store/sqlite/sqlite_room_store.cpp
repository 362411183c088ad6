// SqliteRoomStore: schema and migrations, connection handling, and the room queries.
#include "store/sqlite/sqlite_room_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_outbox.hpp"

namespace liveroom {

namespace {

using sqlite::kRoomColumns;
using sqlite::kRoomReadColumns;
using sqlite::readRoom;
using sqlite::singleRoom;
using sqlite::StatementUse;

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
    // v4: who may list the room, when its live flag last changed (the auto-end timers count
    // from it), why it ended.
    R"sql(
ALTER TABLE rooms ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';
ALTER TABLE rooms ADD COLUMN live_changed_at INTEGER;
ALTER TABLE rooms ADD COLUMN ended_reason TEXT;
)sql",
    // v5: the webhook outbox (store/sqlite/sqlite_outbox.cpp).
    sqlite::kOutboxSchema,
    // v6: settings, with this deployment's id (RoomStore::deploymentId).
    sqlite::kSettingsSchema,
    // v7: the live rooms, so /metrics counts them without reading every room.
    R"sql(
CREATE INDEX rooms_live ON rooms (live) WHERE live = 1;
)sql",
    // v8: the viewer count the instance carrying the room's media stored (RoomStore::setViewers).
    R"sql(
ALTER TABLE rooms ADD COLUMN viewers INTEGER NOT NULL DEFAULT 0;
)sql",
};
static_assert(std::size(kMigrations) == SqliteRoomStore::kSchemaVersion);

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
  sqlite::migrate(*writer_, kMigrations, "sqlite store");
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

template <typename Body>
auto SqliteRoomStore::write(Body&& body) {
  std::lock_guard lock(writer_mutex_);
  if (!recording()) return body(nullptr);
  using Result = decltype(body(nullptr));
  if constexpr (std::is_void_v<Result>) {
    sqlite::transaction(*writer_, [&] { body(recording()); });
  } else {
    std::optional<Result> result;
    sqlite::transaction(*writer_, [&] { result.emplace(body(recording())); });
    return std::move(*result);
  }
}

void SqliteRoomStore::insert(const RoomRecord& room) {
  static const std::string sql = fmt::format(
      "INSERT INTO rooms ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
      "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
      kRoomColumns);
  write([&](const OutboxPolicy* outbox) {
    {
      StatementUse use(*writer_, sql);
      use.bind(1, std::string_view(room.room_id));
      use.bind(2, std::string_view(room.title));
      use.bind(3, std::string_view(room.host));
      use.bind(4, toString(room.mode));
      use.bind(5, toString(room.status));
      use.bind(6, int64_t{room.live ? 1 : 0});
      use.bind(7, std::string_view(room.session_id));
      sqlite::bindEndpoints(use, 8, room);
      use.bind(17, std::string_view(room.host_token_hash));
      use.bind(18, room.created_at_ms);
      use.bind(19, room.updated_at_ms);
      use.bind(20, room.ended_at_ms);
      use.bind(21, std::string_view(room.provider));
      use.bind(22, std::string_view(room.visibility));
      use.bind(23, room.live_changed_at_ms);
      use.bind(24, room.ended_reason);
      use.step();
    }
    if (outbox) sqlite::recordEvent(*writer_, *outbox, RoomEventType::kCreated, room, room.created_at_ms);
  });
}

std::optional<RoomRecord> SqliteRoomStore::get(std::string_view room_id) {
  static const std::string sql = fmt::format("SELECT {} FROM rooms WHERE room_id = ?1", kRoomReadColumns);
  ReaderLease reader = leaseReader();
  StatementUse use(*reader, sql);
  use.bind(1, room_id);
  return singleRoom(use);
}

std::optional<RoomRecord> SqliteRoomStore::getBySessionId(std::string_view session_id) {
  static const std::string sql =
      fmt::format("SELECT {} FROM rooms WHERE session_id = ?1 ORDER BY created_at DESC LIMIT 1", kRoomReadColumns);
  ReaderLease reader = leaseReader();
  StatementUse use(*reader, sql);
  use.bind(1, session_id);
  return singleRoom(use);
}

std::optional<RoomRecord> SqliteRoomStore::updateTitle(std::string_view room_id, std::string_view title,
                                                       int64_t now_ms) {
  static const std::string sql =
      fmt::format("UPDATE rooms SET title = ?2, updated_at = ?3 WHERE room_id = ?1 RETURNING {}", kRoomReadColumns);
  return write([&](const OutboxPolicy* outbox) {
    std::optional<RoomRecord> room;
    {
      StatementUse use(*writer_, sql);
      use.bind(1, room_id);
      use.bind(2, title);
      use.bind(3, now_ms);
      room = singleRoom(use);
    }
    if (outbox && room) sqlite::recordEvent(*writer_, *outbox, RoomEventType::kUpdated, *room, now_ms);
    return room;
  });
}

std::optional<RoomRecord> SqliteRoomStore::markEnded(std::string_view room_id, int64_t ended_at_ms,
                                                     std::string_view reason) {
  // Only the first end moves ended_at/updated_at; a repeated end (retry, second tab)
  // still forces status/live in case a stray setLive raced with it.
  static const std::string sql = fmt::format(
      "UPDATE rooms SET status = 'ended', live = 0, "
      "updated_at = CASE WHEN ended_at IS NULL THEN ?2 ELSE updated_at END, "
      "ended_reason = CASE WHEN ended_at IS NULL THEN ?3 ELSE ended_reason END, "
      "ended_at = COALESCE(ended_at, ?2) WHERE room_id = ?1 RETURNING {}",
      kRoomReadColumns);
  return write([&](const OutboxPolicy* outbox) {
    const std::optional<RoomRecord> before = outbox ? roomForWrite(room_id) : std::nullopt;
    std::optional<RoomRecord> room;
    {
      StatementUse use(*writer_, sql);
      use.bind(1, room_id);
      use.bind(2, ended_at_ms);
      use.bind(3, reason);
      room = singleRoom(use);
    }
    if (outbox && room && before && !before->ended_at_ms) {
      sqlite::recordEvent(*writer_, *outbox, RoomEventType::kEnded, *room, ended_at_ms);
    }
    return room;
  });
}

std::optional<RoomRecord> SqliteRoomStore::setLive(std::string_view room_id, bool live, int64_t now_ms) {
  static const std::string sql = fmt::format(
      "UPDATE rooms SET live_changed_at = CASE WHEN live != ?2 THEN ?3 ELSE live_changed_at END, "
      "live = ?2, updated_at = ?3 WHERE room_id = ?1 RETURNING {}",
      kRoomReadColumns);
  return write([&](const OutboxPolicy* outbox) {
    const std::optional<RoomRecord> before = outbox ? roomForWrite(room_id) : std::nullopt;
    std::optional<RoomRecord> room;
    {
      StatementUse use(*writer_, sql);
      use.bind(1, room_id);
      use.bind(2, int64_t{live ? 1 : 0});
      use.bind(3, now_ms);
      room = singleRoom(use);
    }
    if (outbox && room && before && before->live != live) {
      sqlite::recordEvent(*writer_, *outbox, live ? RoomEventType::kLive : RoomEventType::kOffline, *room, now_ms);
    }
    return room;
  });
}

size_t SqliteRoomStore::clearLive(std::string_view provider, std::string_view whep_prefix, int64_t now_ms) {
  static const std::string sql = fmt::format(
      "UPDATE rooms SET live = 0, updated_at = ?2, live_changed_at = ?2 WHERE provider = ?1 AND live = 1 AND "
      "(?3 = '' OR substr(whep_url, 1, length(?3)) = ?3) RETURNING {}",
      kRoomReadColumns);
  return write([&](const OutboxPolicy* outbox) {
    std::vector<RoomRecord> cleared;
    {
      StatementUse use(*writer_, sql);
      use.bind(1, provider);
      use.bind(2, now_ms);
      use.bind(3, whep_prefix);
      while (use.step()) cleared.push_back(sqlite::readRoom(use.get()));
    }
    if (outbox) {
      for (const RoomRecord& room : cleared) {
        sqlite::recordEvent(*writer_, *outbox, RoomEventType::kOffline, room, now_ms);
      }
    }
    return cleared.size();
  });
}

std::vector<RoomRecord> SqliteRoomStore::list(const ListQuery& query) {
  static const std::string select = fmt::format("SELECT {} FROM rooms", kRoomReadColumns);
  if (query.limit <= 0) return {};
  ReaderLease reader = leaseReader();
  return sqlite::listRooms(*reader, select, "", query);
}

// The room as the writer sees it (inside its transaction).
std::optional<RoomRecord> SqliteRoomStore::roomForWrite(std::string_view room_id) {
  static const std::string sql = fmt::format("SELECT {} FROM rooms WHERE room_id = ?1", kRoomReadColumns);
  StatementUse use(*writer_, sql);
  use.bind(1, room_id);
  return singleRoom(use);
}

void SqliteRoomStore::recordViewers(std::string_view room_id, size_t viewers, int64_t now_ms) {
  write([&](const OutboxPolicy* outbox) {
    if (!outbox) return;
    const std::optional<RoomRecord> room = roomForWrite(room_id);
    if (room && room->status != RoomStatus::ended) {
      sqlite::recordEvent(*writer_, *outbox, RoomEventType::kViewers, *room, now_ms, viewers);
    }
  });
}

std::vector<OutboxDelivery> SqliteRoomStore::claim(int64_t now_ms, std::string_view owner, int64_t lease_ms,
                                                   size_t limit) {
  std::lock_guard lock(writer_mutex_);
  return sqlite::claimDeliveries(*writer_, now_ms, owner, lease_ms, limit);
}

bool SqliteRoomStore::finish(const OutboxDelivery& delivery, std::string_view owner) {
  std::lock_guard lock(writer_mutex_);
  return sqlite::finishDelivery(*writer_, delivery, owner);
}

std::vector<OutboxDelivery> SqliteRoomStore::deliveries(const DeliveryQuery& query) {
  ReaderLease reader = leaseReader();
  return sqlite::listDeliveries(*reader, query);
}

OutboxCounts SqliteRoomStore::counts() {
  ReaderLease reader = leaseReader();
  return sqlite::countDeliveries(*reader);
}

size_t SqliteRoomStore::prune(int64_t before_ms) {
  std::lock_guard lock(writer_mutex_);
  return sqlite::pruneDeliveries(*writer_, before_ms);
}

void SqliteRoomStore::setViewers(std::string_view room_id, size_t viewers) {
  write([&](const OutboxPolicy*) {
    StatementUse use(*writer_, "UPDATE rooms SET viewers = ?2 WHERE room_id = ?1 AND status = 'active'");
    use.bind(1, room_id);
    use.bind(2, static_cast<int64_t>(viewers));
    use.step();
  });
}

std::string SqliteRoomStore::deploymentId() {
  ReaderLease reader = leaseReader();
  return sqlite::deploymentId(*reader);
}

std::optional<RoomCounts> SqliteRoomStore::countRooms() {
  // Each count reads an index alone (rooms_by_status, rooms_live), never the rooms themselves.
  ReaderLease reader = leaseReader();
  StatementUse use(*reader,
                   "SELECT (SELECT count(*) FROM rooms WHERE status = 'active'), "
                   "(SELECT count(*) FROM rooms WHERE status = 'ended'), (SELECT count(*) FROM rooms WHERE live = 1)");
  RoomCounts counts;
  if (use.step()) {
    counts.active = static_cast<size_t>(sqlite3_column_int64(use.get(), 0));
    counts.ended = static_cast<size_t>(sqlite3_column_int64(use.get(), 1));
    counts.live = static_cast<size_t>(sqlite3_column_int64(use.get(), 2));
  }
  return counts;
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

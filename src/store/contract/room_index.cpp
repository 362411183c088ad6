// The contract store's local index and side table (see room_index.hpp).
#include "store/contract/room_index.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "common/error.hpp"
#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_outbox.hpp"

namespace liveroom::contract {

namespace {

using sqlite::StatementUse;

const char* const kMigrations[] = {
    // v1. chain_rooms: the public index, rebuilt from events; title_position orders title
    // changes (RegistryEvent::position). room_offchain: the side table, never on chain.
    R"sql(
CREATE TABLE chain_rooms (
  room_id        TEXT PRIMARY KEY NOT NULL,
  room_key       TEXT NOT NULL UNIQUE,
  title          TEXT NOT NULL,
  host           TEXT NOT NULL,
  mode           TEXT NOT NULL,
  provider       TEXT NOT NULL,
  session_id     TEXT NOT NULL,
  status         TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  ended_at       INTEGER,
  title_position INTEGER NOT NULL
);
CREATE INDEX chain_rooms_by_created ON chain_rooms (created_at DESC, room_id DESC);
CREATE INDEX chain_rooms_by_status ON chain_rooms (status, created_at DESC, room_id DESC);
CREATE INDEX chain_rooms_by_host ON chain_rooms (host, created_at DESC, room_id DESC);
CREATE INDEX chain_rooms_by_session ON chain_rooms (session_id);
CREATE TABLE room_offchain (
  room_id          TEXT PRIMARY KEY NOT NULL,
  whip_url         TEXT,
  rtmps_url        TEXT,
  rtmps_stream_key TEXT,
  srt_url          TEXT,
  srt_stream_id    TEXT,
  srt_passphrase   TEXT,
  whep_url         TEXT,
  hls_url          TEXT,
  dash_url         TEXT,
  host_token_hash  TEXT,
  created_at       INTEGER,
  updated_at       INTEGER,
  ended_at         INTEGER,
  live             INTEGER NOT NULL DEFAULT 0,
  abandoned        INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE index_state (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  chain_id   INTEGER NOT NULL,
  contract   TEXT NOT NULL,
  next_block INTEGER NOT NULL
);
)sql",
    // v2: visibility (public, from the event's meta), when the live flag last changed and why a
    // room ended (side table: this server's knowledge).
    R"sql(
ALTER TABLE chain_rooms ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';
ALTER TABLE room_offchain ADD COLUMN live_changed_at INTEGER;
ALTER TABLE room_offchain ADD COLUMN ended_reason TEXT;
)sql",
    // v3: settings, with this index's deployment id (RoomStore::deploymentId).
    sqlite::kSettingsSchema,
    // v4: the viewer count the instance carrying the room's media stored.
    R"sql(
ALTER TABLE room_offchain ADD COLUMN viewers INTEGER NOT NULL DEFAULT 0;
)sql",
    // v5: the webhook outbox (store/sqlite/sqlite_outbox.cpp).
    sqlite::kOutboxSchema,
    // v6: this server's end in flight (RoomIndex::intendEnd).
    R"sql(
ALTER TABLE room_offchain ADD COLUMN end_intent_at INTEGER;
ALTER TABLE room_offchain ADD COLUMN end_intent_reason TEXT;
)sql",
};
static_assert(std::size(kMigrations) == RoomIndex::kSchemaVersion);

// The merged room, in sqlite::kRoomReadColumns order. A room ended on chain by someone else
// (no ended_at of ours) is not live, whatever the side row last said.
constexpr const char* kMergedColumns =
    "c.room_id, c.title, c.host, c.mode, c.status, "
    "CASE WHEN c.status = 'ended' AND o.ended_at IS NULL THEN 0 ELSE COALESCE(o.live, 0) END, c.session_id, "
    "o.whip_url, o.rtmps_url, o.rtmps_stream_key, o.srt_url, o.srt_stream_id, o.srt_passphrase, "
    "o.whep_url, o.hls_url, o.dash_url, COALESCE(o.host_token_hash, ''), c.created_at, "
    "COALESCE(o.updated_at, c.updated_at), c.ended_at, c.provider, c.visibility, o.live_changed_at, "
    "CASE WHEN c.status = 'ended' THEN COALESCE(o.ended_reason, o.end_intent_reason) END, COALESCE(o.viewers, 0)";
constexpr const char* kMergedFrom = "chain_rooms c LEFT JOIN room_offchain o ON o.room_id = c.room_id";

std::string selectWhere(const char* condition) {
  return fmt::format("SELECT {} FROM {} WHERE {}", kMergedColumns, kMergedFrom, condition);
}

}  // namespace

RoomIndex::RoomIndex(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw Error(codes::kStoreUnavailable, fmt::format("cannot create {}: {}", parent.string(), ec.message()));
  }
  db_ = std::make_unique<sqlite::Connection>(path, /*read_only=*/false);
  sqlite::migrate(*db_, kMigrations, "contract store index");
}

RoomIndex::~RoomIndex() = default;

uint64_t RoomIndex::bind(uint64_t chain_id, const std::string& contract, uint64_t deploy_block) {
  std::lock_guard lock(mutex_);
  StatementUse read(*db_, "SELECT chain_id, contract, next_block FROM index_state WHERE id = 1");
  if (read.step()) {
    const auto stored_chain = static_cast<uint64_t>(sqlite3_column_int64(read.get(), 0));
    const std::string stored_contract = sqlite::text(read.get(), 1);
    if (stored_chain != chain_id || stored_contract != contract) {
      throw Error(codes::kStoreUnavailable,
                  fmt::format("{} indexes contract {} on chain {}, not {} on chain {}", db_->path(), stored_contract,
                              stored_chain, contract, chain_id));
    }
    return static_cast<uint64_t>(sqlite3_column_int64(read.get(), 2));
  }
  StatementUse write(*db_, "INSERT INTO index_state (id, chain_id, contract, next_block) VALUES (1, ?1, ?2, ?3)");
  write.bind(1, static_cast<int64_t>(chain_id));
  write.bind(2, std::string_view(contract));
  write.bind(3, static_cast<int64_t>(deploy_block));
  write.step();
  return deploy_block;
}

uint64_t RoomIndex::nextBlock() {
  std::lock_guard lock(mutex_);
  StatementUse read(*db_, "SELECT next_block FROM index_state WHERE id = 1");
  if (!read.step()) throw Error(codes::kStoreUnavailable, "the contract index is not bound to a registry");
  return static_cast<uint64_t>(sqlite3_column_int64(read.get(), 0));
}

void RoomIndex::apply(const std::vector<IndexChange>& changes, std::optional<uint64_t> next_block,
                      const OutboxPolicy* outbox) {
  std::lock_guard lock(mutex_);
  sqlite::transaction(*db_, [&] {
    for (const IndexChange& change : changes) {
      if (const auto* room = std::get_if<IndexedRoom>(&change)) {
        StatementUse use(*db_,
                         "INSERT INTO chain_rooms (room_id, room_key, title, host, mode, provider, session_id, status, "
                         "created_at, updated_at, ended_at, title_position, visibility) "
                         "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', t, t, NULL, ?9, ?10 FROM (SELECT COALESCE("
                         "(SELECT created_at FROM room_offchain WHERE room_id = ?1), ?8) AS t) "
                         "WHERE true ON CONFLICT DO NOTHING");
        use.bind(1, std::string_view(room->room_id));
        use.bind(2, std::string_view(room->key));
        use.bind(3, std::string_view(room->title));
        use.bind(4, std::string_view(room->host));
        use.bind(5, toString(room->mode));
        use.bind(6, std::string_view(room->provider));
        use.bind(7, std::string_view(room->session_id));
        use.bind(8, room->created_at_ms);
        use.bind(9, room->position);
        use.bind(10, std::string_view(room->visibility));
        use.step();
        if (outbox && sqlite3_changes(db_->db()) > 0) recordIfOwn(*outbox, RoomEventType::kCreated, room->room_id);
      } else if (const auto* title = std::get_if<IndexedTitle>(&change)) {
        StatementUse use(*db_,
                         "UPDATE chain_rooms SET title = ?2, title_position = ?3 "
                         "WHERE room_key = ?1 AND title_position < ?3");
        use.bind(1, std::string_view(title->key));
        use.bind(2, std::string_view(title->title));
        use.bind(3, title->position);
        use.step();
        if (outbox && sqlite3_changes(db_->db()) > 0) {
          recordIfOwn(*outbox, RoomEventType::kUpdated, title->key, /*by_key=*/true);
        }
      } else if (const auto* end = std::get_if<IndexedEnd>(&change)) {
        bool was_active = false;
        if (outbox) {
          StatementUse status(*db_, "SELECT 1 FROM chain_rooms WHERE room_key = ?1 AND status = 'active'");
          status.bind(1, std::string_view(end->key));
          was_active = status.step();
        }
        // The first end wins, ours over the block's: this server's time is the one its API
        // answered with, and the side row keeps it across a rebuild.
        StatementUse use(*db_, end->own ? "UPDATE chain_rooms SET status = 'ended', ended_at = ?2, updated_at = ?2 "
                                          "WHERE room_key = ?1"
                                        : "UPDATE chain_rooms SET status = 'ended', ended_at = COALESCE(ended_at, "
                                          "(SELECT COALESCE(ended_at, end_intent_at) FROM room_offchain o "
                                          "WHERE o.room_id = chain_rooms.room_id), ?2), updated_at = CASE WHEN "
                                          "ended_at IS NULL THEN ?2 ELSE updated_at END "
                                          "WHERE room_key = ?1");
        use.bind(1, std::string_view(end->key));
        use.bind(2, end->ended_at_ms);
        use.step();
        if (was_active) recordIfOwn(*outbox, RoomEventType::kEnded, end->key, /*by_key=*/true);
      }
    }
    if (next_block) {
      StatementUse cursor(*db_, "UPDATE index_state SET next_block = ?1 WHERE id = 1");
      cursor.bind(1, static_cast<int64_t>(*next_block));
      cursor.step();
    }
  });
}

void RoomIndex::recordIfOwn(const OutboxPolicy& outbox, RoomEventType type, std::string_view id, bool by_key,
                            std::optional<int64_t> at_ms, std::optional<size_t> viewers) {
  // This server's rooms: a side row with a host token, not a create answered as failed.
  static const std::string by_room_id =
      selectWhere("c.room_id = ?1 AND o.host_token_hash IS NOT NULL AND o.abandoned = 0");
  static const std::string by_room_key =
      selectWhere("c.room_key = ?1 AND o.host_token_hash IS NOT NULL AND o.abandoned = 0");
  StatementUse read(*db_, by_key ? by_room_key : by_room_id);
  read.bind(1, id);
  const std::optional<RoomRecord> own = sqlite::singleRoom(read);
  if (!own || (type == RoomEventType::kViewers && own->status == liveroom::RoomStatus::ended)) return;
  // Without `at_ms`, the time of the change as the room now records it.
  const int64_t at = at_ms                             ? *at_ms
                     : type == RoomEventType::kCreated ? own->created_at_ms
                     : type == RoomEventType::kEnded   ? own->ended_at_ms.value_or(own->updated_at_ms)
                                                       : own->updated_at_ms;
  sqlite::recordEvent(*db_, outbox, type, *own, at, viewers);
}

void RoomIndex::insertOffchain(const RoomRecord& room) {
  std::lock_guard lock(mutex_);
  sqlite::transaction(*db_, [&] {
    StatementUse known(*db_, "SELECT 1 FROM chain_rooms WHERE room_id = ?1");
    known.bind(1, std::string_view(room.room_id));
    if (known.step()) throw Error(codes::kRoomExists, "a room with this id already exists");
    StatementUse use(*db_,
                     "INSERT INTO room_offchain (room_id, whip_url, rtmps_url, rtmps_stream_key, srt_url, "
                     "srt_stream_id, srt_passphrase, whep_url, hls_url, dash_url, host_token_hash, created_at, "
                     "updated_at, ended_at, live, live_changed_at, ended_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                     "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
    use.bind(1, std::string_view(room.room_id));
    sqlite::bindEndpoints(use, 2, room);
    use.bind(11, std::string_view(room.host_token_hash));
    use.bind(12, room.created_at_ms);
    use.bind(13, room.updated_at_ms);
    use.bind(14, room.ended_at_ms);
    use.bind(15, int64_t{room.live ? 1 : 0});
    use.bind(16, room.live_changed_at_ms);
    use.bind(17, room.ended_reason);
    use.step();
  });
}

void RoomIndex::deleteOffchain(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  StatementUse use(*db_, "DELETE FROM room_offchain WHERE room_id = ?1");
  use.bind(1, room_id);
  use.step();
}

void RoomIndex::abandonOffchain(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  StatementUse use(*db_, "UPDATE room_offchain SET abandoned = 1 WHERE room_id = ?1");
  use.bind(1, room_id);
  use.step();
}

std::vector<std::string> RoomIndex::abandonedActiveRooms() {
  std::lock_guard lock(mutex_);
  StatementUse use(*db_,
                   "SELECT c.room_id FROM chain_rooms c JOIN room_offchain o ON o.room_id = c.room_id "
                   "WHERE o.abandoned = 1 AND c.status = 'active' LIMIT 100");
  std::vector<std::string> rooms;
  while (use.step()) rooms.push_back(sqlite::text(use.get(), 0));
  return rooms;
}

void RoomIndex::endOffchain(std::string_view room_id, int64_t ended_at_ms, std::string_view reason) {
  std::lock_guard lock(mutex_);
  StatementUse use(*db_,
                   "INSERT INTO room_offchain (room_id, updated_at, ended_at, live, ended_reason) "
                   "VALUES (?1, ?2, ?2, 0, ?3) ON CONFLICT (room_id) DO UPDATE SET live = 0, updated_at = ?2, "
                   "ended_at = ?2, ended_reason = COALESCE(ended_reason, ?3)");
  use.bind(1, room_id);
  use.bind(2, ended_at_ms);
  use.bind(3, reason);
  use.step();
}

void RoomIndex::intendEnd(std::string_view room_id, int64_t ended_at_ms, std::string_view reason) {
  std::lock_guard lock(mutex_);
  StatementUse use(*db_, "UPDATE room_offchain SET end_intent_at = ?2, end_intent_reason = ?3 WHERE room_id = ?1");
  use.bind(1, room_id);
  use.bind(2, ended_at_ms);
  use.bind(3, reason);
  use.step();
}

void RoomIndex::cancelEnd(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  StatementUse use(*db_,
                   "UPDATE room_offchain SET end_intent_at = NULL, end_intent_reason = NULL WHERE room_id = ?1 AND "
                   "room_id IN (SELECT room_id FROM chain_rooms WHERE status = 'active')");
  use.bind(1, room_id);
  use.step();
}

void RoomIndex::touchOffchain(std::string_view room_id, int64_t updated_at_ms) {
  std::lock_guard lock(mutex_);
  StatementUse use(*db_,
                   "INSERT INTO room_offchain (room_id, updated_at) VALUES (?1, ?2) "
                   "ON CONFLICT (room_id) DO UPDATE SET updated_at = ?2");
  use.bind(1, room_id);
  use.bind(2, updated_at_ms);
  use.step();
}

size_t RoomIndex::clearLive(std::string_view provider, std::string_view whep_prefix, int64_t now_ms,
                            const OutboxPolicy* outbox) {
  std::lock_guard lock(mutex_);
  size_t cleared = 0;
  sqlite::transaction(*db_, [&] {
    StatementUse use(*db_,
                     "UPDATE room_offchain SET live = 0, updated_at = ?2, live_changed_at = ?2 WHERE live = 1 AND "
                     "(?3 = '' OR substr(whep_url, 1, length(?3)) = ?3) AND room_id IN "
                     "(SELECT room_id FROM chain_rooms WHERE provider = ?1) RETURNING room_id");
    use.bind(1, provider);
    use.bind(2, now_ms);
    use.bind(3, whep_prefix);
    std::vector<std::string> rooms;
    while (use.step()) rooms.push_back(sqlite::text(use.get(), 0));
    cleared = rooms.size();
    if (!outbox) return;
    for (const std::string& room_id : rooms) recordIfOwn(*outbox, RoomEventType::kOffline, room_id, false, now_ms);
  });
  return cleared;
}

std::optional<RoomRecord> RoomIndex::setLive(std::string_view room_id, bool live, int64_t now_ms,
                                             const OutboxPolicy* outbox) {
  std::lock_guard lock(mutex_);
  std::optional<RoomRecord> room;
  sqlite::transaction(*db_, [&] {
    StatementUse known(*db_,
                       "SELECT COALESCE((SELECT live FROM room_offchain WHERE room_id = ?1), 0) "
                       "FROM chain_rooms WHERE room_id = ?1");
    known.bind(1, room_id);
    if (!known.step()) return;
    const bool was_live = sqlite3_column_int64(known.get(), 0) != 0;
    StatementUse use(*db_,
                     "INSERT INTO room_offchain (room_id, updated_at, live, live_changed_at) VALUES (?1, ?2, ?3, ?2) "
                     "ON CONFLICT (room_id) DO UPDATE SET updated_at = ?2, live_changed_at = CASE WHEN live != ?3 "
                     "THEN ?2 ELSE live_changed_at END, live = ?3");
    use.bind(1, room_id);
    use.bind(2, now_ms);
    use.bind(3, int64_t{live ? 1 : 0});
    use.step();
    static const std::string sql = selectWhere("c.room_id = ?1");
    StatementUse read(*db_, sql);
    read.bind(1, room_id);
    room = sqlite::singleRoom(read);
    if (outbox && was_live != live) {
      recordIfOwn(*outbox, live ? RoomEventType::kLive : RoomEventType::kOffline, room_id, false, now_ms);
    }
  });
  return room;
}

void RoomIndex::recordViewers(std::string_view room_id, size_t viewers, int64_t now_ms, const OutboxPolicy& outbox) {
  std::lock_guard lock(mutex_);
  sqlite::transaction(*db_, [&] { recordIfOwn(outbox, RoomEventType::kViewers, room_id, false, now_ms, viewers); });
}

std::vector<OutboxDelivery> RoomIndex::claim(int64_t now_ms, std::string_view owner, int64_t lease_ms, size_t limit) {
  std::lock_guard lock(mutex_);
  return sqlite::claimDeliveries(*db_, now_ms, owner, lease_ms, limit);
}

bool RoomIndex::finish(const OutboxDelivery& delivery, std::string_view owner) {
  std::lock_guard lock(mutex_);
  return sqlite::finishDelivery(*db_, delivery, owner);
}

std::vector<OutboxDelivery> RoomIndex::deliveries(const DeliveryQuery& query) {
  std::lock_guard lock(mutex_);
  return sqlite::listDeliveries(*db_, query);
}

OutboxCounts RoomIndex::counts() {
  std::lock_guard lock(mutex_);
  return sqlite::countDeliveries(*db_);
}

size_t RoomIndex::prune(int64_t before_ms) {
  std::lock_guard lock(mutex_);
  return sqlite::pruneDeliveries(*db_, before_ms);
}

std::optional<RoomRecord> RoomIndex::get(std::string_view room_id) {
  static const std::string sql = selectWhere("c.room_id = ?1");
  std::lock_guard lock(mutex_);
  StatementUse use(*db_, sql);
  use.bind(1, room_id);
  return sqlite::singleRoom(use);
}

std::optional<RoomRecord> RoomIndex::getBySessionId(std::string_view session_id) {
  static const std::string sql = selectWhere("c.session_id = ?1") + " ORDER BY c.created_at DESC LIMIT 1";
  std::lock_guard lock(mutex_);
  StatementUse use(*db_, sql);
  use.bind(1, session_id);
  return sqlite::singleRoom(use);
}

std::vector<RoomRecord> RoomIndex::list(const ListQuery& query) {
  static const std::string select = fmt::format("SELECT {} FROM {}", kMergedColumns, kMergedFrom);
  std::lock_guard lock(mutex_);
  return sqlite::listRooms(*db_, select, "c.", query);
}

int64_t RoomIndex::count() {
  std::lock_guard lock(mutex_);
  StatementUse use(*db_, "SELECT count(*) FROM chain_rooms");
  return use.step() ? sqlite3_column_int64(use.get(), 0) : 0;
}

void RoomIndex::setViewers(std::string_view room_id, size_t viewers) {
  std::lock_guard lock(mutex_);
  StatementUse use(*db_, "UPDATE room_offchain SET viewers = ?2 WHERE room_id = ?1");
  use.bind(1, room_id);
  use.bind(2, static_cast<int64_t>(viewers));
  use.step();
}

std::string RoomIndex::deploymentId() {
  std::lock_guard lock(mutex_);
  return sqlite::deploymentId(*db_);
}

RoomCounts RoomIndex::countRooms() {
  // The live column as the merged room reads it (kMergedColumns).
  static const std::string sql = fmt::format(
      "SELECT c.status, CASE WHEN c.status = 'ended' AND o.ended_at IS NULL THEN 0 ELSE COALESCE(o.live, 0) END "
      "AS live, count(*) FROM {} GROUP BY c.status, live",
      kMergedFrom);
  std::lock_guard lock(mutex_);
  return sqlite::countRooms(*db_, sql);
}

void RoomIndex::ping() {
  std::lock_guard lock(mutex_);
  StatementUse use(*db_, "SELECT 1 FROM index_state LIMIT 1");
  use.step();
}

}  // namespace liveroom::contract

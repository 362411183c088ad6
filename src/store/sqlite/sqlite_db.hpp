// Thin SQLite helpers shared by the stores that keep rooms in SQLite (the SQLite store, and the
// contract store's local index and side table): one connection with its prepared statements,
// a statement in use (bind, step, reset), the room row layout every room SELECT follows, and
// versioned migrations. Every failure is Error(store_unavailable), except a primary-key or
// unique conflict, which is Error(room_exists).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "store/room_record.hpp"
#include "store/room_store.hpp"

namespace liveroom::sqlite {

class Connection {
 public:
  // Opens `path` (read-write and created when missing, unless read_only); WAL mode for writers.
  Connection(const std::string& path, bool read_only);

  sqlite3* db() const { return db_.get(); }
  const std::string& path() const { return path_; }

  void exec(const char* sql);
  // Prepared once per connection and reused: keyed by the SQL text.
  sqlite3_stmt* statement(const std::string& sql);
  Error failure(std::string_view what) const;

 private:
  struct DatabaseCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  struct StatementFinalizer {
    void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
  };
  std::string path_;
  std::unique_ptr<sqlite3, DatabaseCloser> db_;
  std::map<std::string, std::unique_ptr<sqlite3_stmt, StatementFinalizer>, std::less<>> statements_;
};

// Resets and unbinds a cached statement when the call using it ends, however it ends.
class StatementUse {
 public:
  StatementUse(Connection& connection, const std::string& sql)
      : connection_(connection), statement_(connection.statement(sql)) {}
  ~StatementUse() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;

  sqlite3_stmt* get() const { return statement_; }

  void bind(int index, std::string_view text);
  void bind(int index, const std::optional<std::string>& text);
  void bind(int index, int64_t value);
  void bind(int index, std::optional<int64_t> value);

  // SQLITE_ROW -> true, SQLITE_DONE -> false; a key conflict throws room_exists, anything else
  // store_unavailable.
  bool step();

 private:
  void check(int rc);

  Connection& connection_;
  sqlite3_stmt* statement_;
};

std::optional<std::string> optionalText(sqlite3_stmt* statement, int column);
std::string text(sqlite3_stmt* statement, int column);
std::optional<int64_t> optionalInt(sqlite3_stmt* statement, int column);

// BEGIN IMMEDIATE ... COMMIT, rolled back when `body` throws.
void transaction(Connection& connection, const std::function<void()>& body);

// Brings the database to migrations.size() (PRAGMA user_version): migrations[i] takes version
// i to i + 1. A database newer than this build is refused. `what` names the database in logs.
void migrate(Connection& connection, std::span<const char* const> migrations, std::string_view what);

// The columns of a room row, in the order readRoom() reads them: every SELECT of a room names
// these (or expressions giving them, in this order).
#define LIVEROOM_ROOM_COLUMNS                                                                  \
  "room_id, title, host, mode, status, live, session_id, "                                     \
  "whip_url, rtmps_url, rtmps_stream_key, srt_url, srt_stream_id, srt_passphrase, "            \
  "whep_url, hls_url, dash_url, host_token_hash, created_at, updated_at, ended_at, provider, " \
  "visibility, live_changed_at, ended_reason"
// What an insert writes.
inline constexpr const char* kRoomColumns = LIVEROOM_ROOM_COLUMNS;
// What reads and RETURNING clauses take: the above and the stored viewer count.
inline constexpr const char* kRoomReadColumns = LIVEROOM_ROOM_COLUMNS ", viewers";
#undef LIVEROOM_ROOM_COLUMNS

RoomRecord readRoom(sqlite3_stmt* statement);
// Binds the ingest and playback URLs to ?first .. ?first+8, in kRoomColumns order (whip_url ..
// dash_url).
void bindEndpoints(StatementUse& use, int first, const RoomRecord& room);
// The newest-first page of `query`: `select` is "SELECT <room columns> FROM <tables>" and
// `prefix` qualifies status, host, created_at and room_id ("" or "c."). One SQL text per filter
// combination (at most 8), each prepared once per connection; spelled without "x IS NULL OR"
// tricks so the planner can use the matching index.
std::vector<RoomRecord> listRooms(Connection& connection, const std::string& select, std::string_view prefix,
                                  const ListQuery& query);
// A migration: the settings table, with a deployment id drawn once, when the database is made or
// first migrated to it ("lrd_" + 24 hex digits).
extern const char* const kSettingsSchema;
// The deployment id kSettingsSchema made.
std::string deploymentId(Connection& connection);
// Runs `sql`, which yields rows (status, live, count), into RoomCounts.
RoomCounts countRooms(Connection& connection, const std::string& sql);
// Runs a statement expected to yield at most one room (SELECT by id, UPDATE ... RETURNING),
// draining it so an UPDATE ... RETURNING completes before the reset.
std::optional<RoomRecord> singleRoom(StatementUse& use);

}  // namespace liveroom::sqlite

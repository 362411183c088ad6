// The webhook outbox in SQLite (see sqlite_outbox.hpp).
#include "store/sqlite/sqlite_outbox.hpp"

#include <string>

#include <fmt/format.h>

namespace liveroom::sqlite {

const char* const kOutboxSchema = R"sql(
CREATE TABLE webhook_sequences (
  room_id  TEXT PRIMARY KEY NOT NULL,
  last_seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE webhook_deliveries (
  event_id        TEXT NOT NULL,
  endpoint        TEXT NOT NULL,
  room_id         TEXT NOT NULL,
  seq             INTEGER NOT NULL,
  type            TEXT NOT NULL,
  body            TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending',
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_owner     TEXT,
  lease_until     INTEGER NOT NULL DEFAULT 0,
  last_attempt_at INTEGER,
  last_status     INTEGER,
  last_error      TEXT NOT NULL DEFAULT '',
  delivered_at    INTEGER,
  PRIMARY KEY (event_id, endpoint)
);
CREATE INDEX webhook_queue ON webhook_deliveries (endpoint, room_id, seq) WHERE state = 'pending';
CREATE INDEX webhook_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_by_created ON webhook_deliveries (created_at DESC, event_id DESC, endpoint DESC);
CREATE INDEX webhook_by_room ON webhook_deliveries (room_id, created_at DESC);
)sql";

namespace {

constexpr const char* kColumns =
    "event_id, endpoint, room_id, seq, type, body, created_at, state, attempts, next_attempt_at, "
    "last_attempt_at, last_status, last_error, delivered_at";

OutboxDelivery readDelivery(sqlite3_stmt* row) {
  OutboxDelivery d;
  d.event_id = text(row, 0);
  d.endpoint = text(row, 1);
  d.room_id = text(row, 2);
  d.seq = sqlite3_column_int64(row, 3);
  d.type = text(row, 4);
  d.body = text(row, 5);
  d.created_at_ms = sqlite3_column_int64(row, 6);
  d.state = text(row, 7);
  d.attempts = sqlite3_column_int(row, 8);
  d.next_attempt_at_ms = sqlite3_column_int64(row, 9);
  d.last_attempt_at_ms = optionalInt(row, 10);
  if (auto status = optionalInt(row, 11)) d.last_status = static_cast<int>(*status);
  d.last_error = text(row, 12);
  d.delivered_at_ms = optionalInt(row, 13);
  return d;
}

std::vector<OutboxDelivery> readAll(StatementUse& use) {
  std::vector<OutboxDelivery> out;
  while (use.step()) out.push_back(readDelivery(use.get()));
  return out;
}

}  // namespace

void recordEvent(Connection& writer, const OutboxPolicy& policy, RoomEventType type, const RoomRecord& room,
                 int64_t at_ms, std::optional<size_t> viewers) {
  if (policy.endpoints.empty()) return;
  int64_t seq = 0;
  {
    StatementUse next(writer,
                      "INSERT INTO webhook_sequences (room_id, last_seq) VALUES (?1, 1) "
                      "ON CONFLICT (room_id) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq");
    next.bind(1, std::string_view(room.room_id));
    if (!next.step()) throw writer.failure("webhook sequence");
    seq = sqlite3_column_int64(next.get(), 0);
    while (next.step()) {
    }
  }
  const std::string event_id = webhookEventId(room.room_id, seq);
  const std::string body = policy.render(type, room, event_id, seq, at_ms, viewers);
  for (const std::string& endpoint : policy.endpoints) {
    StatementUse insert(writer,
                        "INSERT INTO webhook_deliveries (event_id, endpoint, room_id, seq, type, body, created_at, "
                        "next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)");
    insert.bind(1, std::string_view(event_id));
    insert.bind(2, std::string_view(endpoint));
    insert.bind(3, std::string_view(room.room_id));
    insert.bind(4, seq);
    insert.bind(5, std::string_view(webhookEventName(type)));
    insert.bind(6, std::string_view(body));
    insert.bind(7, at_ms);
    insert.step();
  }
}

std::vector<OutboxDelivery> claimDeliveries(Connection& writer, int64_t now_ms, std::string_view owner,
                                            int64_t lease_ms, size_t limit) {
  // The heads of the (endpoint, room) queues (no pending row of the queue before them) that are
  // due and not leased, soonest due first. Only heads go, so a room's events reach an endpoint in
  // order; a head that is not due or is leased holds its queue. Walking the due index in order
  // meets the heads first in a backlog (they are the oldest of their queues), and each head test
  // is one probe of the queue index: a claim costs little however long the backlog is.
  static const std::string select = fmt::format(
      "SELECT {} FROM webhook_deliveries d INDEXED BY webhook_due WHERE d.state = 'pending' AND "
      "d.next_attempt_at <= ?1 AND d.lease_until <= ?1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p "
      "WHERE p.state = 'pending' AND p.endpoint = d.endpoint AND p.room_id = d.room_id AND p.seq < d.seq) "
      "ORDER BY d.next_attempt_at LIMIT ?2",
      kColumns);
  std::vector<OutboxDelivery> claimed;
  transaction(writer, [&] {
    {
      StatementUse use(writer, select);
      use.bind(1, now_ms);
      use.bind(2, static_cast<int64_t>(limit));
      claimed = readAll(use);
    }
    for (const OutboxDelivery& d : claimed) {
      StatementUse lease(writer,
                         "UPDATE webhook_deliveries SET lease_owner = ?3, lease_until = ?4 "
                         "WHERE event_id = ?1 AND endpoint = ?2");
      lease.bind(1, std::string_view(d.event_id));
      lease.bind(2, std::string_view(d.endpoint));
      lease.bind(3, owner);
      lease.bind(4, now_ms + lease_ms);
      lease.step();
    }
  });
  return claimed;
}

bool finishDelivery(Connection& writer, const OutboxDelivery& d, std::string_view owner) {
  StatementUse use(writer,
                   "UPDATE webhook_deliveries SET state = ?4, attempts = ?5, next_attempt_at = ?6, "
                   "last_attempt_at = ?7, last_status = ?8, last_error = ?9, delivered_at = ?10, lease_owner = NULL, "
                   "lease_until = 0 WHERE event_id = ?1 AND endpoint = ?2 AND lease_owner = ?3");
  use.bind(1, std::string_view(d.event_id));
  use.bind(2, std::string_view(d.endpoint));
  use.bind(3, owner);
  use.bind(4, std::string_view(d.state));
  use.bind(5, int64_t{d.attempts});
  use.bind(6, d.next_attempt_at_ms);
  use.bind(7, d.last_attempt_at_ms);
  use.bind(8, d.last_status ? std::optional<int64_t>(*d.last_status) : std::nullopt);
  use.bind(9, std::string_view(d.last_error));
  use.bind(10, d.delivered_at_ms);
  use.step();
  return sqlite3_changes(writer.db()) > 0;
}

std::vector<OutboxDelivery> listDeliveries(Connection& connection, const DeliveryQuery& query) {
  if (query.limit <= 0) return {};
  std::string sql = fmt::format("SELECT {} FROM webhook_deliveries WHERE 1", kColumns);
  if (query.state) sql += " AND state = ?1";
  if (query.room_id) sql += " AND room_id = ?2";
  if (query.before) sql += " AND (created_at, event_id, endpoint) < (?3, ?4, ?5)";
  sql += " ORDER BY created_at DESC, event_id DESC, endpoint DESC LIMIT ?6";
  StatementUse use(connection, sql);
  if (query.state) use.bind(1, std::string_view(*query.state));
  if (query.room_id) use.bind(2, std::string_view(*query.room_id));
  if (query.before) {
    use.bind(3, query.before->created_at_ms);
    use.bind(4, std::string_view(query.before->event_id));
    use.bind(5, std::string_view(query.before->endpoint));
  }
  use.bind(6, int64_t{query.limit});
  return readAll(use);
}

OutboxCounts countDeliveries(Connection& connection) {
  StatementUse use(connection,
                   "SELECT COALESCE(SUM(state = 'pending'), 0), COALESCE(SUM(state = 'delivered'), 0), "
                   "COALESCE(SUM(state = 'failed'), 0) FROM webhook_deliveries");
  OutboxCounts counts;
  if (use.step()) {
    counts.pending = static_cast<size_t>(sqlite3_column_int64(use.get(), 0));
    counts.delivered = static_cast<size_t>(sqlite3_column_int64(use.get(), 1));
    counts.failed = static_cast<size_t>(sqlite3_column_int64(use.get(), 2));
  }
  return counts;
}

size_t pruneDeliveries(Connection& writer, int64_t before_ms) {
  StatementUse use(writer,
                   "DELETE FROM webhook_deliveries WHERE state != 'pending' AND "
                   "COALESCE(delivered_at, last_attempt_at, created_at) < ?1");
  use.bind(1, before_ms);
  use.step();
  return static_cast<size_t>(sqlite3_changes(writer.db()));
}

}  // namespace liveroom::sqlite

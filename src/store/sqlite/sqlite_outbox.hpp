// The webhook outbox in SQLite (see store/outbox.hpp), shared by the SQLite store and the
// contract store's local side database: its tables, recording an event inside the caller's
// write transaction, and the delivery queries. Callers serialize writers (their writer mutex).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "store/outbox.hpp"
#include "store/sqlite/sqlite_db.hpp"

namespace liveroom::sqlite {

// A migration that adds the outbox tables (webhook_sequences, webhook_deliveries).
extern const char* const kOutboxSchema;

// Inside the caller's transaction: the room's next sequence number and one delivery per
// endpoint of `policy` (nothing when it has none).
void recordEvent(Connection& writer, const OutboxPolicy& policy, RoomEventType type, const RoomRecord& room,
                 int64_t at_ms, std::optional<size_t> viewers = std::nullopt);

// WebhookOutbox's calls on one connection (claim, finish and prune write: the writer).
std::vector<OutboxDelivery> claimDeliveries(Connection& writer, int64_t now_ms, std::string_view owner,
                                            int64_t lease_ms, size_t limit);
bool finishDelivery(Connection& writer, const OutboxDelivery& delivery, std::string_view owner);
std::vector<OutboxDelivery> listDeliveries(Connection& connection, const DeliveryQuery& query);
OutboxCounts countDeliveries(Connection& connection);
size_t pruneDeliveries(Connection& writer, int64_t before_ms);

}  // namespace liveroom::sqlite

// The webhook outbox: events a store records in the same write as the room change that caused
// them (so a change is never stored without its event, nor an event without its change), one
// delivery per configured endpoint, handed out in order per room and endpoint. A store that
// keeps an outbox returns it from RoomStore::outbox(); the webhooks/ dispatcher drains it.
//
// Which writes record which event (only when the write changes something):
//   insert -> room.created; updateTitle -> room.updated; setLive -> room.live / room.offline
//   (only when the flag flips); clearLive -> room.offline per room; markEnded -> room.ended
//   (only the first end); recordViewers -> room.viewers.
// Each room numbers its events 1, 2, 3, ... (its "sequence"), the same for every endpoint.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/room_record.hpp"

namespace liveroom {

enum class RoomEventType { kCreated, kUpdated, kLive, kOffline, kEnded, kViewers };
// "room.created", "room.updated", "room.live", "room.offline", "room.ended", "room.viewers".
const char* webhookEventName(RoomEventType type) noexcept;

// An event's id: the room's id and its sequence number ("evt_<room id>_<seq>"), so the same
// change always carries the same id (receivers de-duplicate on it: Standard Webhooks'
// webhook-id).
std::string webhookEventId(std::string_view room_id, int64_t seq);

// Set once, before the store is used (RoomStore::setOutboxPolicy).
struct OutboxPolicy {
  // One delivery per endpoint and event. Empty: nothing is recorded.
  std::vector<std::string> endpoints;
  // The event's JSON body: from the room as the write left it, the event's id, the room's
  // sequence number, the time of the change and, for room.viewers, the count. Called inside
  // the store's write: it must not call the store.
  std::function<std::string(RoomEventType type, const RoomRecord& room, const std::string& event_id, int64_t seq,
                            int64_t at_ms, std::optional<size_t> viewers)>
      render;
};

// One event's delivery to one endpoint.
struct OutboxDelivery {
  std::string event_id;
  std::string endpoint;
  std::string room_id;
  int64_t seq = 0;
  std::string type;  // "room.live", ...
  std::string body;  // signed and sent as is
  int64_t created_at_ms = 0;
  std::string state = "pending";  // "pending" | "delivered" | "failed" (given up)
  int attempts = 0;
  int64_t next_attempt_at_ms = 0;
  std::optional<int64_t> last_attempt_at_ms;
  std::optional<int> last_status;  // the endpoint's HTTP status; none: no HTTP answer
  std::string last_error;          // why the last attempt failed ("" when it did not)
  std::optional<int64_t> delivered_at_ms;
  bool operator==(const OutboxDelivery&) const = default;
};

// Newest first; `before` continues a page (created_at, event_id, endpoint of its last row).
struct DeliveryQuery {
  std::optional<std::string> state;
  std::optional<std::string> room_id;
  int limit = 50;
  struct Position {
    int64_t created_at_ms = 0;
    std::string event_id;
    std::string endpoint;
  };
  std::optional<Position> before;
};

struct OutboxCounts {
  size_t pending = 0;
  size_t delivered = 0;
  size_t failed = 0;
};

class WebhookOutbox {
 public:
  virtual ~WebhookOutbox() = default;
  // Records room.viewers for a room that has not ended (nothing for an unknown or ended room).
  virtual void recordViewers(std::string_view room_id, size_t viewers, int64_t now_ms) = 0;
  // At most `limit` deliveries that may be attempted now: per endpoint and room only the lowest
  // sequence not yet delivered or given up, and only when it is due and not leased. Each is
  // leased to `owner` until now + lease_ms, so several processes on one store never send the
  // same delivery at once; a process that dies leaves its lease to run out.
  virtual std::vector<OutboxDelivery> claim(int64_t now_ms, std::string_view owner, int64_t lease_ms, size_t limit) = 0;
  // Stores the outcome of an attempt (state, attempts, next_attempt_at, last_*, delivered_at of
  // `delivery`) and ends its lease, if `owner` still holds it; false if it does not.
  virtual bool finish(const OutboxDelivery& delivery, std::string_view owner) = 0;
  virtual std::vector<OutboxDelivery> deliveries(const DeliveryQuery& query) = 0;
  virtual OutboxCounts counts() = 0;
  // Forgets deliveries delivered or given up before `before_ms`; returns how many.
  virtual size_t prune(int64_t before_ms) = 0;
};

}  // namespace liveroom

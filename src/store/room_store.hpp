// RoomStore: the one interface every room store implements (SQLite, MongoDB, contract).
// Calls block; callers run them on the blocking worker pool, never on an event loop.
// Failures throw liveroom::Error: `room_exists` on a duplicate id, `store_unavailable`
// when the backend cannot be reached or written.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/outbox.hpp"
#include "store/room_record.hpp"

namespace liveroom {

// Position in the newest-first order (created_at desc, room_id desc); a list returns
// rooms strictly after it, so pages stay stable while new rooms are inserted.
struct ListCursor {
  int64_t created_at_ms = 0;
  std::string room_id;
  bool operator==(const ListCursor&) const = default;
};

struct ListQuery {
  std::optional<RoomStatus> status;
  std::optional<std::string> host;
  int limit = 20;
  std::optional<ListCursor> after;
  std::optional<std::string> visibility;  // "public" | "unlisted"; none: both
};

// How many rooms a store holds, by status, and how many are live (for /metrics).
struct RoomCounts {
  size_t active = 0;
  size_t ended = 0;
  size_t live = 0;
  bool operator==(const RoomCounts&) const = default;
};

class RoomStore {
 public:
  virtual ~RoomStore() = default;

  virtual void insert(const RoomRecord& room) = 0;
  virtual std::optional<RoomRecord> get(std::string_view room_id) = 0;
  // The room of a provider live input (its session_id), for provider events; nullopt if none.
  virtual std::optional<RoomRecord> getBySessionId(std::string_view session_id) = 0;
  // Sets the title and updated_at; returns the updated room, nullopt if unknown.
  virtual std::optional<RoomRecord> updateTitle(std::string_view room_id, std::string_view title, int64_t now_ms) = 0;
  // Sets status "ended", live false, ended_at and ended_reason (both kept from the first call
  // when already ended); returns the room, nullopt if unknown.
  virtual std::optional<RoomRecord> markEnded(std::string_view room_id, int64_t ended_at_ms,
                                              std::string_view reason) = 0;
  // Sets the live flag and updated_at, and live_changed_at when the flag changes; returns the
  // room, nullopt if unknown.
  virtual std::optional<RoomRecord> setLive(std::string_view room_id, bool live, int64_t now_ms) = 0;
  // Sets live false (and updated_at, live_changed_at) on every room of `provider` that is live and
  // whose playback.whep_url starts with `whep_prefix` ("" matches every room); returns how many
  // changed. At start, for rooms whose media lived in this instance before it stopped (a crash
  // sends no "publisher left"); the prefix (this instance's URL) spares other instances' rooms.
  virtual size_t clearLive(std::string_view provider, std::string_view whep_prefix, int64_t now_ms) = 0;
  // Newest first (created_at desc, room_id desc), at most query.limit rooms.
  virtual std::vector<RoomRecord> list(const ListQuery& query) = 0;
  // True when the backend answers (readiness).
  virtual bool ping() = 0;
  // Rooms by status and live, counted by the backend (one query or two, using its indexes);
  // nullopt from a store that cannot count.
  virtual std::optional<RoomCounts> countRooms() { return std::nullopt; }
  // A random id made once per store and kept in it ("lrd_" + 24 hex digits): what this deployment
  // creates elsewhere carries it (Cloudflare live inputs' meta), so the orphan sweeper knows its
  // own and never touches another deployment's. Every instance on one store reads the same id
  // (the contract store: each instance's own index). Empty from a store that keeps none.
  virtual std::string deploymentId() { return {}; }
  // Stores how many watch an active room now (no event, no updated_at): what other instances on
  // the store show. No-op in a store that keeps no count.
  virtual void setViewers(std::string_view room_id, size_t viewers) {
    (void)room_id;
    (void)viewers;
  }
  virtual std::string_view name() const = 0;

  // The webhook outbox this store keeps beside its rooms (store/outbox.hpp); null when it keeps
  // none.
  virtual WebhookOutbox* outbox() { return nullptr; }
  // What the writes record in the outbox, set once before the store is used; none: nothing.
  void setOutboxPolicy(std::shared_ptr<const OutboxPolicy> policy) { outbox_policy_ = std::move(policy); }

 protected:
  // The policy when it has endpoints, else null (nothing to record).
  const OutboxPolicy* recording() const {
    return outbox_policy_ && !outbox_policy_->endpoints.empty() ? outbox_policy_.get() : nullptr;
  }

 private:
  std::shared_ptr<const OutboxPolicy> outbox_policy_;
};

}  // namespace liveroom

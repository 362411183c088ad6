// RoomIndex: the contract store's local SQLite file (one per chain and registry, under
// --data-dir). Two parts with different lifetimes:
//  - the public index (table chain_rooms): what the registry's events say about every room
//    (id, title, host name, mode, provider, input uid, status, times). It can always be
//    rebuilt from the chain; `next_block` (table index_state) is how far the events are applied.
//  - the side table (room_offchain): what the contract never sees, for rooms this server
//    created: ingest secrets, host token hash, playback URLs, millisecond times, the live flag.
//    It is never on chain and cannot be rebuilt: it is the one part to back up.
// A room read merges both (LEFT JOIN: a room created elsewhere has no side row). Writers are
// the store (its own transactions, as soon as their receipts arrive) and the event scanner;
// both go through apply(), whose rules make the order between them irrelevant: a create that
// exists is kept, a title change applies only if its event is newer than the title's, an end
// keeps the first ended_at. Thread-safe (one connection behind a mutex).
//
// The file also keeps the contract store's webhook outbox (store/sqlite/sqlite_outbox.hpp): a
// change to a room this server created (a side row with a host token, not an abandoned create)
// records its event in the transaction that applies it, whoever applies it first — the store
// as its receipt arrives, or the scanner after a crash between the two — and only when it
// changes something, so the scanner re-applying the store's own change records nothing.
// Rooms other servers created on the registry are theirs to announce.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "store/outbox.hpp"
#include "store/room_record.hpp"
#include "store/room_store.hpp"

namespace liveroom::sqlite {
class Connection;
}

namespace liveroom::contract {

// A room as its RoomCreated event announces it.
struct IndexedRoom {
  std::string room_id;
  std::string key;  // 0x-prefixed keccak256(room_id)
  std::string title;
  std::string host;
  RoomMode mode = RoomMode::webrtc;
  std::string provider;
  std::string session_id;
  std::string visibility = "public";
  int64_t created_at_ms = 0;  // a side row's created_at wins over this (block time)
  int64_t position = 0;       // RegistryEvent::position() of the event
};
struct IndexedTitle {
  std::string key;
  std::string title;
  int64_t position = 0;
};
struct IndexedEnd {
  std::string key;
  int64_t ended_at_ms = 0;
  bool own = false;  // from this server's own endRoom: its time replaces the block's
};
using IndexChange = std::variant<IndexedRoom, IndexedTitle, IndexedEnd>;

class RoomIndex {
 public:
  static constexpr int kSchemaVersion = 6;

  // Opens or creates the file at `path`.
  explicit RoomIndex(const std::string& path);
  ~RoomIndex();
  RoomIndex(const RoomIndex&) = delete;
  RoomIndex& operator=(const RoomIndex&) = delete;

  // Ties the file to one registry on first use; afterwards refuses (store_unavailable) a
  // different chain or contract. Returns the next block to scan (deploy_block when new).
  uint64_t bind(uint64_t chain_id, const std::string& contract, uint64_t deploy_block);
  uint64_t nextBlock();

  // Applies changes in order in one SQLite transaction; with `next_block`, also moves the
  // cursor (the scanner's batches, so a crash never skips or half-applies a block range). With
  // `outbox`, records room.created / room.updated / room.ended for own rooms it changes.
  void apply(const std::vector<IndexChange>& changes, std::optional<uint64_t> next_block = std::nullopt,
             const OutboxPolicy* outbox = nullptr);

  // Side table. insertOffchain fails with room_exists when the id is taken here or in the
  // index (a room made elsewhere).
  void insertOffchain(const RoomRecord& room);
  void deleteOffchain(std::string_view room_id);
  // A create that failed after its transaction may have been sent (no receipt in time, node
  // gone): the row stays, marked, so a room that is mined after all can be recognised and ended.
  void abandonOffchain(std::string_view room_id);
  // Abandoned creates that were mined after all and are still active (at most 100).
  std::vector<std::string> abandonedActiveRooms();
  // This server ended the room (its transaction confirmed): not live, ended_at and updated_at.
  void endOffchain(std::string_view room_id, int64_t ended_at_ms, std::string_view reason);
  // Before this server's end transaction: its time and reason, kept aside (end_intent_*) and
  // shown only once the chain says ended, so the scanner, should it apply the end before this
  // server's receipt arrives, takes them too; cancelEnd forgets them after a failed transaction.
  void intendEnd(std::string_view room_id, int64_t ended_at_ms, std::string_view reason);
  void cancelEnd(std::string_view room_id);
  void touchOffchain(std::string_view room_id, int64_t updated_at_ms);
  // Sets the live flag (a side row is created for a room made elsewhere); nullopt if unknown.
  // With `outbox`: room.live / room.offline for an own room whose flag flips.
  std::optional<RoomRecord> setLive(std::string_view room_id, bool live, int64_t now_ms,
                                    const OutboxPolicy* outbox = nullptr);
  size_t clearLive(std::string_view provider, std::string_view whep_prefix, int64_t now_ms,
                   const OutboxPolicy* outbox = nullptr);
  // room.viewers for an own room that has not ended.
  void recordViewers(std::string_view room_id, size_t viewers, int64_t now_ms, const OutboxPolicy& outbox);

  std::optional<RoomRecord> get(std::string_view room_id);
  std::optional<RoomRecord> getBySessionId(std::string_view session_id);
  std::vector<RoomRecord> list(const ListQuery& query);
  // Rooms in the public index (rooms this file knows from the chain).
  int64_t count();
  void ping();
  RoomCounts countRooms();
  std::string deploymentId();
  void setViewers(std::string_view room_id, size_t viewers);

  // The outbox's queue (WebhookOutbox's calls, see store/outbox.hpp).
  std::vector<OutboxDelivery> claim(int64_t now_ms, std::string_view owner, int64_t lease_ms, size_t limit);
  bool finish(const OutboxDelivery& delivery, std::string_view owner);
  std::vector<OutboxDelivery> deliveries(const DeliveryQuery& query);
  OutboxCounts counts();
  size_t prune(int64_t before_ms);

 private:
  // With mutex_ held, in the change's transaction: records `type` for the room with this id (its
  // room_key with `by_key`) if this server created it (see above); at `at_ms`, else at the time
  // the room records for that change (created_at, ended_at, updated_at). No room.viewers once
  // ended.
  void recordIfOwn(const OutboxPolicy& outbox, RoomEventType type, std::string_view id, bool by_key = false,
                   std::optional<int64_t> at_ms = std::nullopt, std::optional<size_t> viewers = std::nullopt);

  std::mutex mutex_;
  std::unique_ptr<sqlite::Connection> db_;
};

}  // namespace liveroom::contract

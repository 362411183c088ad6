// ContractRoomStore: rooms on the RoomRegistry smart contract (contracts/). Each write is one
// transaction from the server's operator key (createRoom, updateRoom, endRoom; an insert of an
// already-ended room, which the API never makes, is two). One room is read with eth_call
// getRoom (the chain decides whether it exists and whether it ended) merged with the local
// index; lists, session lookups and the live flag come from the local index only (RoomIndex),
// kept current by a scanner that applies the registry's events in bounded block ranges from the
// registry's deployBlock, `confirmations` blocks behind the head, every poll interval. What
// the contract must never see (ingest secrets, host token hash) stays in the index file's side
// table. Chain failures become Error(store_unavailable) naming what to fix; contract reverts map
// to room_exists / room_ended / nullopt (unknown room). A create that failed after its
// transaction may have been sent is remembered; if the scanner sees it mined, it ends the room.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "eth/json_rpc.hpp"
#include "eth/sender.hpp"
#include "store/contract/room_index.hpp"
#include "store/contract/room_registry.hpp"
#include "store/room_store.hpp"

namespace liveroom::contract {

struct ContractStoreOptions {
  std::string index_path;      // the SQLite file of the index and side table
  uint64_t confirmations = 1;  // events are indexed once this many blocks include them
  std::chrono::milliseconds poll_interval{1000};
  uint64_t max_block_range = 2000;  // eth_getLogs range; halved while the node refuses it
  // What the index's writes record in the webhook outbox (RoomStore::setOutboxPolicy), here
  // because the first catch-up runs in the constructor and may apply this server's own changes
  // a crash left unapplied. Null: nothing.
  std::shared_ptr<const OutboxPolicy> outbox_policy;
};

class ContractRoomStore final : public RoomStore, public WebhookOutbox {
 public:
  // Checks the registry (code at the address, its deployBlock, the sender's operator role),
  // opens the index and catches up with the chain before returning, then scans in the
  // background. Throws Error(store_unavailable) saying what to fix.
  ContractRoomStore(eth::JsonRpcClient& rpc, eth::TransactionSender& sender, const eth::Address& contract,
                    uint64_t chain_id, ContractStoreOptions options);
  ~ContractRoomStore() override;
  ContractRoomStore(const ContractRoomStore&) = delete;
  ContractRoomStore& operator=(const ContractRoomStore&) = delete;

  void insert(const RoomRecord& room) override;
  std::optional<RoomRecord> get(std::string_view room_id) override;
  std::optional<RoomRecord> getBySessionId(std::string_view session_id) override;
  std::optional<RoomRecord> updateTitle(std::string_view room_id, std::string_view title, int64_t now_ms) override;
  std::optional<RoomRecord> markEnded(std::string_view room_id, int64_t ended_at_ms, std::string_view reason) override;
  std::optional<RoomRecord> setLive(std::string_view room_id, bool live, int64_t now_ms) override;
  size_t clearLive(std::string_view provider, std::string_view whep_prefix, int64_t now_ms) override;
  std::vector<RoomRecord> list(const ListQuery& query) override;
  bool ping() override;
  std::optional<RoomCounts> countRooms() override;
  std::string deploymentId() override;
  void setViewers(std::string_view room_id, size_t viewers) override;
  std::string_view name() const override { return "contract"; }

  // The webhook outbox, in the index's file (RoomIndex).
  WebhookOutbox* outbox() override { return this; }
  void recordViewers(std::string_view room_id, size_t viewers, int64_t now_ms) override;
  std::vector<OutboxDelivery> claim(int64_t now_ms, std::string_view owner, int64_t lease_ms, size_t limit) override;
  bool finish(const OutboxDelivery& delivery, std::string_view owner) override;
  std::vector<OutboxDelivery> deliveries(const DeliveryQuery& query) override;
  OutboxCounts counts() override;
  size_t prune(int64_t before_ms) override;

  // Applies the registry's events up to the confirmed head, then ends the creates answered as
  // failed that were mined after all. Thread-safe; the scanner calls it.
  void catchUp();
  uint64_t nextBlock() { return index_.nextBlock(); }

  // The public metadata a room's RoomCreated event carries (never secrets), and back.
  static std::string encodeMeta(const RoomRecord& room);
  static IndexedRoom indexedRoom(const RoomCreated& event, int64_t position);

 private:
  Error chainError(std::string_view action) const;  // call inside a catch block
  // Position of the receipt's event of variant index `topic` (RegistryEvent::position()).
  int64_t eventPosition(const eth::SentTransaction& sent, size_t topic) const;
  void scanLoop();
  // Applies the registry's events up to the confirmed head (under scan_mutex_); false when the
  // store is stopping.
  bool scanEvents();
  void dropFailedCreate(const std::string& room_id, bool maybe_sent);
  // Ends the rooms whose create failed from the API's view but was mined after all.
  void endAbandonedRooms();

  eth::JsonRpcClient& rpc_;
  eth::TransactionSender& sender_;
  RoomRegistry registry_;
  ContractStoreOptions options_;
  RoomIndex index_;

  std::mutex scan_mutex_;     // one scan of the registry's events at a time
  std::mutex abandon_mutex_;  // one endAbandonedRooms() at a time
  uint64_t block_range_;      // guarded by scan_mutex_

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool scan_failing_ = false;  // guarded by stop_mutex_: log a failure streak once
  std::thread scanner_;
};

}  // namespace liveroom::contract

// Rooms on the RoomRegistry contract (see contract_room_store.hpp).
#include "store/contract/contract_room_store.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "common/utf8.hpp"
#include "eth/hex.hpp"

namespace liveroom::contract {

namespace {

constexpr size_t kMaxChainText = 1024;  // bytes of any text taken from an event

std::string keyHex(std::string_view room_id) { return eth::toHex(roomKey(room_id), true); }

// A block timestamp (seconds, from a remote node) as epoch milliseconds, clamped so a hostile
// value cannot overflow.
int64_t blockTimeMs(uint64_t seconds) { return static_cast<int64_t>(std::min<uint64_t>(seconds, 1ull << 40) * 1000); }

// Event text is untrusted (anyone with the operator role wrote it): kept only when it is
// well-formed UTF-8 of a sane size, so it can always be rendered as JSON.
std::string chainText(std::string text) {
  if (text.size() > kMaxChainText || !isValidUtf8(text)) return std::string();
  return text;
}

std::string metaString(const nlohmann::json& meta, const char* field) {
  auto it = meta.find(field);
  if (it == meta.end() || !it->is_string()) return std::string();
  return chainText(it->get<std::string>());
}

}  // namespace

std::string ContractRoomStore::encodeMeta(const RoomRecord& room) {
  // Public fields only: anything here is readable by everyone, forever.
  nlohmann::json meta = {{"host", room.host}, {"mode", toString(room.mode)}, {"provider", room.provider}};
  if (!inputUidBytes(room.session_id)) meta["session"] = room.session_id;  // no bytes16 form
  // Unlisted rooms are left out of listings; on a public chain that hides nothing from someone
  // reading events, it only keeps the room out of liveroom's lists.
  if (room.visibility != "public") meta["visibility"] = room.visibility;
  return meta.dump();
}

IndexedRoom ContractRoomStore::indexedRoom(const RoomCreated& event, int64_t position) {
  IndexedRoom room;
  room.room_id = event.room_id;  // decodeEvent checked it hashes to the key
  room.key = eth::toHex(event.key, true);
  room.title = chainText(event.title);
  room.created_at_ms = blockTimeMs(event.created_at_s);
  room.position = position;
  nlohmann::json meta = nlohmann::json::parse(event.meta, nullptr, /*allow_exceptions=*/false);
  if (!meta.is_object()) meta = nlohmann::json::object();
  room.host = metaString(meta, "host");
  room.mode = parseRoomMode(metaString(meta, "mode")).value_or(RoomMode::webrtc);
  room.provider = metaString(meta, "provider");
  room.session_id = metaString(meta, "session");
  room.visibility = metaString(meta, "visibility") == "unlisted" ? "unlisted" : "public";
  if (room.session_id.empty() && event.input_uid != InputUid{}) room.session_id = eth::toHex(event.input_uid);
  return room;
}

ContractRoomStore::ContractRoomStore(eth::JsonRpcClient& rpc, eth::TransactionSender& sender,
                                     const eth::Address& contract, uint64_t chain_id, ContractStoreOptions options)
    : rpc_(rpc),
      sender_(sender),
      registry_(rpc, sender, contract),
      options_(std::move(options)),
      index_(options_.index_path),
      block_range_(std::max<uint64_t>(1, options_.max_block_range)) {
  const std::string where = fmt::format("{} on chain {}", registry_.addressHex(), chain_id);
  uint64_t deploy_block = 0;
  try {
    if (!registry_.hasCode()) {
      throw Error(codes::kStoreUnavailable,
                  fmt::format("there is no contract at {} (deploy one with `liveroom contract deploy`)", where));
    }
    try {
      deploy_block = registry_.deployBlock();
    } catch (const eth::TransactionReverted&) {
      throw Error(codes::kStoreUnavailable, fmt::format("the contract at {} is not a liveroom RoomRegistry", where));
    }
    if (!registry_.isOperator(sender_.address())) {
      throw Error(codes::kStoreUnavailable,
                  fmt::format("the key of {} is not an operator of the RoomRegistry at {}: have its admin run "
                              "`liveroom contract grant-operator {}`",
                              eth::checksumAddress(sender_.address()), where, eth::checksumAddress(sender_.address())));
    }
  } catch (const Error&) {
    throw;
  } catch (...) {
    throw chainError("check the RoomRegistry");
  }
  if (options_.outbox_policy) setOutboxPolicy(options_.outbox_policy);
  const uint64_t next = index_.bind(chain_id, eth::toHex(contract, true), deploy_block);
  spdlog::info("contract store: RoomRegistry {} (deployed in block {}), operator {}, indexing from block {}", where,
               deploy_block, eth::checksumAddress(sender_.address()), next);
  try {
    catchUp();
  } catch (const Error&) {
    throw;
  } catch (...) {
    throw chainError("read the registry's events");
  }
  spdlog::info("contract store: {} rooms indexed up to block {}", index_.count(), index_.nextBlock() - 1);
  scanner_ = std::thread([this] { scanLoop(); });
}

ContractRoomStore::~ContractRoomStore() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (scanner_.joinable()) scanner_.join();
}

Error ContractRoomStore::chainError(std::string_view action) const {
  try {
    throw;
  } catch (const Error& e) {
    return e;
  } catch (const eth::TransactionReverted& e) {
    switch (classify(e.revert())) {
      case RegistryError::RoomExists:
        return Error(codes::kRoomExists, "a room with this id already exists on the RoomRegistry");
      case RegistryError::InvalidTransition:
        return Error(codes::kRoomEnded, "the room has ended on the RoomRegistry");
      case RegistryError::RoomNotFound:
        return Error(codes::kRoomNotFound, "the RoomRegistry has no such room");
      case RegistryError::MissingRole:
      case RegistryError::NotAuthorized:
        return Error(codes::kStoreUnavailable,
                     fmt::format("cannot {}: the key of {} is not an operator of the RoomRegistry at {} (have its "
                                 "admin run `liveroom contract grant-operator {}`)",
                                 action, eth::checksumAddress(sender_.address()), registry_.addressHex(),
                                 eth::checksumAddress(sender_.address())));
      case RegistryError::Other:
        break;
    }
    return Error(codes::kStoreUnavailable, fmt::format("cannot {}: the RoomRegistry at {} reverted ({})", action,
                                                       registry_.addressHex(), e.revert().describe()));
  } catch (const eth::ReceiptTimeout& e) {
    return Error(codes::kStoreUnavailable,
                 fmt::format("cannot {}: transaction {} was not confirmed in time", action, e.hash()));
  } catch (const eth::RpcUnavailable& e) {
    return Error(codes::kStoreUnavailable, fmt::format("cannot {}: {}", action, e.what()));
  } catch (const eth::RpcError& e) {
    return Error(codes::kStoreUnavailable,
                 fmt::format("cannot {}: the Ethereum node refused ({}, code {}; is key {} funded?)", action, e.what(),
                             e.code(), eth::checksumAddress(sender_.address())));
  } catch (const std::exception& e) {
    return Error(codes::kStoreUnavailable, fmt::format("cannot {}: {}", action, e.what()));
  }
}

int64_t ContractRoomStore::eventPosition(const eth::SentTransaction& sent, size_t topic) const {
  for (const eth::LogEntry& log : sent.receipt.logs) {
    auto event = decodeEvent(log);
    if (event && event->event.index() == topic) return event->position();
  }
  // No such log in the receipt (a node that trims them): the end of the transaction's block.
  RegistryEvent last;
  last.block_number = sent.receipt.block_number;
  last.log_index = UINT64_MAX;
  return last.position();
}

void ContractRoomStore::catchUp() {
  if (!scanEvents()) return;
  // Outside the scan lock: ending a room is a transaction, and waiting for its receipt must not
  // hold up the reads that scan for a room they do not know yet (REVIEW §5). One sweep at a time.
  std::lock_guard sweeping(abandon_mutex_);
  endAbandonedRooms();
}

bool ContractRoomStore::scanEvents() {
  std::lock_guard lock(scan_mutex_);
  const uint64_t head = rpc_.blockNumber();
  if (head + 1 < options_.confirmations) return true;
  const uint64_t safe = head + 1 - options_.confirmations;
  uint64_t next = index_.nextBlock();
  while (next <= safe) {
    {
      std::lock_guard stop(stop_mutex_);
      if (stopping_) return false;
    }
    const uint64_t to = std::min(safe, next + block_range_ - 1);
    std::vector<RegistryEvent> events;
    size_t skipped = 0;
    try {
      events = registry_.events(next, to, &skipped);
    } catch (const eth::RpcError& e) {
      // Providers cap eth_getLogs by range or result count: narrow the range and retry.
      if (block_range_ == 1) throw;
      block_range_ = std::max<uint64_t>(1, block_range_ / 2);
      spdlog::warn("contract store: eth_getLogs refused blocks {}-{} ({}); scanning {} blocks at a time", next, to,
                   e.what(), block_range_);
      continue;
    }
    if (skipped > 0) {
      spdlog::warn("contract store: ignored {} malformed or foreign logs in blocks {}-{}", skipped, next, to);
    }
    std::vector<IndexChange> changes;
    changes.reserve(events.size());
    for (const RegistryEvent& event : events) {
      if (const auto* created = std::get_if<RoomCreated>(&event.event)) {
        changes.emplace_back(indexedRoom(*created, event.position()));
      } else if (const auto* updated = std::get_if<RoomUpdated>(&event.event)) {
        changes.emplace_back(IndexedTitle{eth::toHex(updated->key, true), chainText(updated->title), event.position()});
      } else if (const auto* ended = std::get_if<RoomEnded>(&event.event)) {
        changes.emplace_back(IndexedEnd{eth::toHex(ended->key, true), blockTimeMs(ended->ended_at_s), false});
      }
    }
    index_.apply(changes, to + 1, recording());
    next = to + 1;
  }
  return true;
}

void ContractRoomStore::scanLoop() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_cv_.wait_for(lock, options_.poll_interval, [this] { return stopping_; })) {
    lock.unlock();
    std::string failure;
    try {
      catchUp();
    } catch (...) {
      failure = chainError("index the registry's events").what();
    }
    lock.lock();
    if (!failure.empty() && !scan_failing_) spdlog::warn("contract store: {}; retrying", failure);
    if (failure.empty() && scan_failing_) spdlog::info("contract store: indexing the registry's events again");
    scan_failing_ = !failure.empty();
  }
}

void ContractRoomStore::insert(const RoomRecord& room) {
  const eth::Hash key = roomKey(room.room_id);
  const InputUid uid = inputUidBytes(room.session_id).value_or(InputUid{});
  index_.insertOffchain(room);  // room_exists when this file knows the id already
  eth::SentTransaction sent;
  try {
    sent = registry_.createRoom(key, eth::Address{}, uid, room.room_id, room.title, encodeMeta(room));
  } catch (const eth::TransactionReverted&) {  // refused by the contract: nothing on chain
    Error error = chainError("create the room");
    dropFailedCreate(room.room_id, /*maybe_sent=*/false);
    throw error;
  } catch (...) {  // the transaction may be out there and still be mined
    Error error = chainError("create the room");
    dropFailedCreate(room.room_id, /*maybe_sent=*/true);
    throw error;
  }
  IndexedRoom indexed;
  indexed.room_id = room.room_id;
  indexed.key = eth::toHex(key, true);
  indexed.title = room.title;
  indexed.host = room.host;
  indexed.mode = room.mode;
  indexed.provider = room.provider;
  indexed.session_id = room.session_id;
  indexed.visibility = room.visibility;
  indexed.created_at_ms = room.created_at_ms;
  indexed.position = eventPosition(sent, 0);
  index_.apply({indexed}, std::nullopt, recording());
  if (room.status == liveroom::RoomStatus::ended) {  // an import: the API only creates active rooms
    try {
      registry_.endRoom(key);
    } catch (...) {
      throw chainError("end the imported room");
    }
    index_.apply({IndexedEnd{indexed.key, room.ended_at_ms.value_or(room.updated_at_ms), true}}, std::nullopt,
                 recording());
  }
}

void ContractRoomStore::dropFailedCreate(const std::string& room_id, bool maybe_sent) {
  try {
    if (maybe_sent) {
      index_.abandonOffchain(room_id);
      spdlog::warn("contract store: the create of {} failed; if its transaction is mined later, the room is ended",
                   room_id);
    } else {
      index_.deleteOffchain(room_id);
    }
  } catch (const std::exception& e) {
    spdlog::error("contract store: could not clear the side row of {} after a failed create: {}", room_id, e.what());
  }
}

void ContractRoomStore::endAbandonedRooms() {
  for (const std::string& room_id : index_.abandonedActiveRooms()) {
    const int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    try {
      registry_.endRoom(roomKey(room_id));
    } catch (const eth::TransactionReverted& e) {
      if (classify(e.revert()) != RegistryError::InvalidTransition) {  // InvalidTransition: ended already
        spdlog::warn("contract store: cannot end abandoned room {} yet: {}", room_id, e.what());
        continue;
      }
    } catch (const std::exception& e) {  // tried again after the next scan
      spdlog::warn("contract store: cannot end abandoned room {} yet: {}", room_id, e.what());
      continue;
    }
    index_.endOffchain(room_id, now_ms, "abandoned");
    index_.apply({IndexedEnd{keyHex(room_id), now_ms, true}});  // no events: its create was answered as failed
    spdlog::warn("contract store: ended room {}: its create was answered as failed, but the transaction was mined",
                 room_id);
  }
}

std::optional<RoomRecord> ContractRoomStore::get(std::string_view room_id) {
  const std::string key = keyHex(room_id);
  ChainRoom chain;
  try {
    chain = registry_.getRoom(roomKey(room_id));
  } catch (...) {
    Error error = chainError("read the room");
    // While the chain cannot answer, a room the index knows is served from it (joins keep
    // working); an unknown one stays an error: the chain may know it.
    if (std::optional<RoomRecord> indexed = index_.get(room_id)) return indexed;
    throw error;
  }
  if (chain.status == RoomStatus::None) return std::nullopt;
  std::optional<RoomRecord> room = index_.get(room_id);
  if (!room) {  // created elsewhere since the last scan
    try {
      scanEvents();  // not catchUp(): a read never waits for the abandoned creates' transactions
    } catch (...) {
      throw chainError("read the registry's events");
    }
    room = index_.get(room_id);
    if (!room) return std::nullopt;  // not yet `confirmations` deep
  }
  if (chain.status == RoomStatus::Ended &&
      room->status != liveroom::RoomStatus::ended) {  // ended on chain since the last scan
    index_.apply({IndexedEnd{key, blockTimeMs(chain.ended_at_s), false}}, std::nullopt, recording());
    room = index_.get(room_id);
  }
  return room;
}

std::optional<RoomRecord> ContractRoomStore::getBySessionId(std::string_view session_id) {
  return index_.getBySessionId(session_id);
}

std::optional<RoomRecord> ContractRoomStore::updateTitle(std::string_view room_id, std::string_view title,
                                                         int64_t now_ms) {
  if (!index_.get(room_id) && !get(room_id)) return std::nullopt;
  const std::string key = keyHex(room_id);
  // Before the transaction: the scanner may apply its event before this call does, and
  // room.updated carries the room's updated_at.
  index_.touchOffchain(room_id, now_ms);
  eth::SentTransaction sent;
  try {
    sent = registry_.updateRoom(roomKey(room_id), title);
  } catch (...) {
    Error error = chainError("update the room");
    if (error.code() == codes::kRoomNotFound) return std::nullopt;
    throw error;
  }
  index_.apply({IndexedTitle{key, std::string(title), eventPosition(sent, 1)}}, std::nullopt, recording());
  return index_.get(room_id);
}

std::optional<RoomRecord> ContractRoomStore::markEnded(std::string_view room_id, int64_t ended_at_ms,
                                                       std::string_view reason) {
  std::optional<RoomRecord> room = index_.get(room_id);
  if (!room) room = get(room_id);
  if (!room) return std::nullopt;
  if (room->status == liveroom::RoomStatus::ended) return room;
  const std::string key = keyHex(room_id);
  index_.intendEnd(room_id, ended_at_ms, reason);  // what the scanner takes if it applies the end first
  try {
    registry_.endRoom(roomKey(room_id));
  } catch (...) {
    index_.cancelEnd(room_id);
    Error error = chainError("end the room");
    if (error.code() == codes::kRoomNotFound) return std::nullopt;
    if (error.code() != codes::kRoomEnded) throw error;
    return get(room_id);  // ended on chain by someone else: take the chain's time
  }
  index_.endOffchain(room_id, ended_at_ms, reason);
  index_.apply({IndexedEnd{key, ended_at_ms, true}}, std::nullopt, recording());
  return index_.get(room_id);
}

std::optional<RoomRecord> ContractRoomStore::setLive(std::string_view room_id, bool live, int64_t now_ms) {
  return index_.setLive(room_id, live, now_ms, recording());
}

size_t ContractRoomStore::clearLive(std::string_view provider, std::string_view whep_prefix, int64_t now_ms) {
  return index_.clearLive(provider, whep_prefix, now_ms, recording());
}

std::vector<RoomRecord> ContractRoomStore::list(const ListQuery& query) { return index_.list(query); }

std::optional<RoomCounts> ContractRoomStore::countRooms() { return index_.countRooms(); }

std::string ContractRoomStore::deploymentId() { return index_.deploymentId(); }

void ContractRoomStore::setViewers(std::string_view room_id, size_t viewers) { index_.setViewers(room_id, viewers); }

void ContractRoomStore::recordViewers(std::string_view room_id, size_t viewers, int64_t now_ms) {
  if (const OutboxPolicy* outbox = recording()) index_.recordViewers(room_id, viewers, now_ms, *outbox);
}

std::vector<OutboxDelivery> ContractRoomStore::claim(int64_t now_ms, std::string_view owner, int64_t lease_ms,
                                                     size_t limit) {
  return index_.claim(now_ms, owner, lease_ms, limit);
}

bool ContractRoomStore::finish(const OutboxDelivery& delivery, std::string_view owner) {
  return index_.finish(delivery, owner);
}

std::vector<OutboxDelivery> ContractRoomStore::deliveries(const DeliveryQuery& query) {
  return index_.deliveries(query);
}

OutboxCounts ContractRoomStore::counts() { return index_.counts(); }

size_t ContractRoomStore::prune(int64_t before_ms) { return index_.prune(before_ms); }

bool ContractRoomStore::ping() {
  try {
    rpc_.blockNumber();
    index_.ping();
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("contract store: ping failed: {}", e.what());
    return false;
  }
}

}  // namespace liveroom::contract

// RoomRegistry: the liveroom contract (contracts/src/RoomRegistry.sol) as C++ sees it. Encodes
// its calls, decodes its return data, events and custom errors (all hostile-safe: they come
// from a remote node), and sends its transactions through one TransactionSender. The contract's
// bytecode (contracts/build/RoomRegistry.bin) is compiled into the binary for `deploy`, so the
// server needs no Node at run time. Blocking; thread-safe as far as the sender and client are.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "eth/abi.hpp"
#include "eth/json_rpc.hpp"
#include "eth/keys.hpp"
#include "eth/sender.hpp"

namespace liveroom::contract {

using InputUid = std::array<uint8_t, 16>;

// keccak256 of the room id's UTF-8 bytes: the contract's bytes32 room key.
eth::Hash roomKey(std::string_view room_id);
// A live input uid as bytes16: exactly 32 lower-case hex digits (Cloudflare's and the local
// provider's uids). Anything else has no bytes16 form (nullopt).
std::optional<InputUid> inputUidBytes(std::string_view session_id);

enum class RoomStatus : uint8_t { None = 0, Active = 1, Ended = 2 };

// getRoom(id): what storage keeps. Unknown ids read as status None.
struct ChainRoom {
  eth::Address host{};
  RoomStatus status = RoomStatus::None;
  uint64_t created_at_s = 0;  // block.timestamp
  uint64_t ended_at_s = 0;
  InputUid input_uid{};
};

struct RoomCreated {
  eth::Hash key{};
  eth::Address host{};
  InputUid input_uid{};
  uint64_t created_at_s = 0;
  std::string room_id;
  std::string title;
  std::string meta;
};
struct RoomUpdated {
  eth::Hash key{};
  std::string title;
};
struct RoomEnded {
  eth::Hash key{};
  uint64_t ended_at_s = 0;
};

// One of the registry's events with its position in the chain.
struct RegistryEvent {
  uint64_t block_number = 0;
  uint64_t log_index = 0;
  std::variant<RoomCreated, RoomUpdated, RoomEnded> event;
  // A total order of events: block, then index in the block.
  int64_t position() const;
};

// The topic0 of each registry event, 0x-prefixed (an eth_getLogs filter).
const std::vector<std::string>& eventTopics();
// The event a log carries; nullopt for any other or a malformed log (wrong topic count, bad
// encoding, a RoomCreated whose room id does not hash to its key).
std::optional<RegistryEvent> decodeEvent(const eth::LogEntry& log);

// The registry's custom errors (and OpenZeppelin's role error) recognised in revert data.
enum class RegistryError {
  Other,              // any other revert (Error(string), Panic, unknown)
  RoomExists,         // RoomExists(bytes32)
  RoomNotFound,       // RoomNotFound(bytes32)
  InvalidTransition,  // InvalidTransition(bytes32,uint8): the room is not active
  NotAuthorized,      // NotAuthorized(address): neither operator nor the room's host
  MissingRole,        // AccessControlUnauthorizedAccount(address,bytes32): not an operator
};
RegistryError classify(const eth::abi::Revert& revert);

// keccak256("OPERATOR_ROLE").
const eth::Hash& operatorRole();

// The compiled contract (creation code) embedded at build time.
const eth::Bytes& creationCode();

class RoomRegistry {
 public:
  RoomRegistry(eth::JsonRpcClient& rpc, eth::TransactionSender& sender, eth::Address address);

  // Deploys a new registry from the sender's key (which becomes admin and operator); the
  // receipt's contract address is checked.
  struct Deployment {
    eth::Address address{};
    uint64_t block_number = 0;
    std::string transaction_hash;
    uint64_t gas_used = 0;
  };
  static Deployment deploy(eth::TransactionSender& sender);

  const eth::Address& address() const { return address_; }
  std::string addressHex() const;

  // Writes: one transaction each; throw what TransactionSender::send throws.
  eth::SentTransaction createRoom(const eth::Hash& key, const eth::Address& host, const InputUid& input_uid,
                                  std::string_view room_id, std::string_view title, std::string_view meta);
  eth::SentTransaction updateRoom(const eth::Hash& key, std::string_view title);
  eth::SentTransaction endRoom(const eth::Hash& key);
  eth::SentTransaction grantOperator(const eth::Address& account);
  eth::SentTransaction revokeOperator(const eth::Address& account);

  // Reads (eth_call at the latest block). Malformed return data throws eth::RpcUnavailable.
  ChainRoom getRoom(const eth::Hash& key);
  uint64_t deployBlock();
  bool isOperator(const eth::Address& account);
  // Whether the address holds code at all (a typo'd address holds none).
  bool hasCode();

  // The registry's events in [from, to], in chain order (malformed logs skipped and counted).
  std::vector<RegistryEvent> events(uint64_t from_block, uint64_t to_block, size_t* skipped = nullptr);

 private:
  eth::Bytes call(const eth::Bytes& data);

  eth::JsonRpcClient& rpc_;
  eth::TransactionSender& sender_;
  eth::Address address_;
};

}  // namespace liveroom::contract

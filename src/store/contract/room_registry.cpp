// RoomRegistry calls, events and errors (see room_registry.hpp).
#include "store/contract/room_registry.hpp"

#include <algorithm>

#include "eth/hex.hpp"
#include "store/contract/registry_bytecode.hpp"

namespace liveroom::contract {

namespace abi = eth::abi;

namespace {

constexpr const char* kCreated = "RoomCreated(bytes32,address,bytes16,uint64,string,string,string)";
constexpr const char* kUpdated = "RoomUpdated(bytes32,string)";
constexpr const char* kEnded = "RoomEnded(bytes32,uint64)";

abi::Value key(const eth::Hash& k) { return abi::Value::ofFixedBytes(k); }

template <size_t N>
std::array<uint8_t, N> fixed(const abi::Value& v) {
  std::array<uint8_t, N> out{};
  const auto& b = v.bytes();
  if (b.size() != N) throw abi::DecodeError("unexpected fixed-bytes size");
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

eth::Hash topicHash(const std::string& text) {
  const eth::Bytes b = eth::fromHex(text);
  if (b.size() != 32) throw std::invalid_argument("a topic is not 32 bytes");
  eth::Hash h{};
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

}  // namespace

eth::Hash roomKey(std::string_view room_id) { return eth::keccak256(room_id); }

std::optional<InputUid> inputUidBytes(std::string_view session_id) {
  if (session_id.size() != 32) return std::nullopt;
  for (char c : session_id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  const eth::Bytes b = eth::fromHex(session_id);
  InputUid uid{};
  std::copy(b.begin(), b.end(), uid.begin());
  return uid;
}

int64_t RegistryEvent::position() const {
  // 2^24 logs per block is far beyond any block's gas limit; 2^39 blocks is far off.
  return static_cast<int64_t>((std::min<uint64_t>(block_number, (1ull << 39) - 1) << 24) |
                              std::min<uint64_t>(log_index, (1u << 24) - 1));
}

const std::vector<std::string>& eventTopics() {
  static const std::vector<std::string> topics = {eth::toHex(abi::eventTopic(kCreated), true),
                                                  eth::toHex(abi::eventTopic(kUpdated), true),
                                                  eth::toHex(abi::eventTopic(kEnded), true)};
  return topics;
}

std::optional<RegistryEvent> decodeEvent(const eth::LogEntry& log) {
  try {
    if (log.topics.empty()) return std::nullopt;
    const std::string topic0 = eth::toHex(topicHash(log.topics[0]), true);
    const eth::Bytes data = eth::fromHex(log.data);
    RegistryEvent out;
    out.block_number = log.block_number;
    out.log_index = log.log_index;
    const auto& topics = eventTopics();
    if (topic0 == topics[0]) {
      if (log.topics.size() != 3) return std::nullopt;
      RoomCreated e;
      e.key = topicHash(log.topics[1]);
      e.host = abi::decodeTopic(abi::Type::parse("address"), topicHash(log.topics[2])).toAddress();
      const auto v = abi::decode("bytes16,uint64,string,string,string", data);
      e.input_uid = fixed<16>(v[0]);
      e.created_at_s = v[1].toUint64();
      e.room_id = v[2].str();
      e.title = v[3].str();
      e.meta = v[4].str();
      if (roomKey(e.room_id) != e.key) return std::nullopt;  // not what this contract would emit
      out.event = std::move(e);
    } else if (topic0 == topics[1]) {
      if (log.topics.size() != 2) return std::nullopt;
      RoomUpdated e;
      e.key = topicHash(log.topics[1]);
      e.title = abi::decode("string", data)[0].str();
      out.event = std::move(e);
    } else if (topic0 == topics[2]) {
      if (log.topics.size() != 2) return std::nullopt;
      RoomEnded e;
      e.key = topicHash(log.topics[1]);
      e.ended_at_s = abi::decode("uint64", data)[0].toUint64();
      out.event = e;
    } else {
      return std::nullopt;
    }
    return out;
  } catch (const std::exception&) {  // abi::AbiError, std::invalid_argument from hex
    return std::nullopt;
  }
}

RegistryError classify(const abi::Revert& revert) {
  if (revert.kind != abi::Revert::Kind::Custom) return RegistryError::Other;
  try {
    if (abi::matchError(revert, "RoomExists(bytes32)")) return RegistryError::RoomExists;
    if (abi::matchError(revert, "RoomNotFound(bytes32)")) return RegistryError::RoomNotFound;
    if (abi::matchError(revert, "InvalidTransition(bytes32,uint8)")) return RegistryError::InvalidTransition;
    if (abi::matchError(revert, "NotAuthorized(address)")) return RegistryError::NotAuthorized;
    if (abi::matchError(revert, "AccessControlUnauthorizedAccount(address,bytes32)")) return RegistryError::MissingRole;
  } catch (const abi::DecodeError&) {
    // A known selector with malformed arguments: not from this contract; treat as unknown.
  }
  return RegistryError::Other;
}

const eth::Hash& operatorRole() {
  static const eth::Hash role = eth::keccak256(std::string_view("OPERATOR_ROLE"));
  return role;
}

const eth::Bytes& creationCode() {
  static const eth::Bytes code = eth::fromHex(kRegistryCreationCodeHex);
  return code;
}

RoomRegistry::RoomRegistry(eth::JsonRpcClient& rpc, eth::TransactionSender& sender, eth::Address address)
    : rpc_(rpc), sender_(sender), address_(address) {}

RoomRegistry::Deployment RoomRegistry::deploy(eth::TransactionSender& sender) {
  eth::SentTransaction sent = sender.send(std::nullopt, creationCode());
  if (!sent.receipt.contract_address) {
    throw eth::RpcUnavailable("the deployment receipt of " + sent.hash + " names no contract address");
  }
  Deployment d;
  d.address = eth::parseAddress(*sent.receipt.contract_address);
  d.block_number = sent.receipt.block_number;
  d.transaction_hash = sent.hash;
  d.gas_used = sent.receipt.gas_used;
  return d;
}

std::string RoomRegistry::addressHex() const { return eth::checksumAddress(address_); }

eth::SentTransaction RoomRegistry::createRoom(const eth::Hash& k, const eth::Address& host, const InputUid& input_uid,
                                              std::string_view room_id, std::string_view title, std::string_view meta) {
  return sender_.send(address_, abi::encodeCall("createRoom(bytes32,address,bytes16,string,string,string)",
                                                {key(k), abi::Value::ofAddress(host),
                                                 abi::Value::ofFixedBytes(input_uid), abi::Value::ofString(room_id),
                                                 abi::Value::ofString(title), abi::Value::ofString(meta)}));
}

eth::SentTransaction RoomRegistry::updateRoom(const eth::Hash& k, std::string_view title) {
  return sender_.send(address_, abi::encodeCall("updateRoom(bytes32,string)", {key(k), abi::Value::ofString(title)}));
}

eth::SentTransaction RoomRegistry::endRoom(const eth::Hash& k) {
  return sender_.send(address_, abi::encodeCall("endRoom(bytes32)", {key(k)}));
}

eth::SentTransaction RoomRegistry::grantOperator(const eth::Address& account) {
  return sender_.send(
      address_, abi::encodeCall("grantRole(bytes32,address)", {key(operatorRole()), abi::Value::ofAddress(account)}));
}

eth::SentTransaction RoomRegistry::revokeOperator(const eth::Address& account) {
  return sender_.send(
      address_, abi::encodeCall("revokeRole(bytes32,address)", {key(operatorRole()), abi::Value::ofAddress(account)}));
}

eth::Bytes RoomRegistry::call(const eth::Bytes& data) { return sender_.call(address_, data); }

ChainRoom RoomRegistry::getRoom(const eth::Hash& k) {
  const eth::Bytes data = call(abi::encodeCall("getRoom(bytes32)", {key(k)}));
  try {
    const auto v = abi::decode("address,uint8,uint64,uint64,bytes16", data);
    ChainRoom room;
    room.host = v[0].toAddress();
    const uint64_t status = v[1].toUint64();
    if (status > 2) throw abi::DecodeError("room status out of range");
    room.status = static_cast<RoomStatus>(status);
    room.created_at_s = v[2].toUint64();
    room.ended_at_s = v[3].toUint64();
    room.input_uid = fixed<16>(v[4]);
    return room;
  } catch (const abi::AbiError& e) {
    throw eth::RpcUnavailable(std::string("getRoom returned malformed data: ") + e.what());
  }
}

uint64_t RoomRegistry::deployBlock() {
  const eth::Bytes data = call(abi::encodeCall("deployBlock()", {}));
  try {
    return abi::decode("uint64", data)[0].toUint64();
  } catch (const abi::AbiError& e) {
    throw eth::RpcUnavailable(std::string("deployBlock returned malformed data: ") + e.what());
  }
}

bool RoomRegistry::isOperator(const eth::Address& account) {
  const eth::Bytes data =
      call(abi::encodeCall("hasRole(bytes32,address)", {key(operatorRole()), abi::Value::ofAddress(account)}));
  try {
    return abi::decode("bool", data)[0].toBool();
  } catch (const abi::AbiError& e) {
    throw eth::RpcUnavailable(std::string("hasRole returned malformed data: ") + e.what());
  }
}

bool RoomRegistry::hasCode() {
  const nlohmann::json code = rpc_.call("eth_getCode", {eth::toHex(address_, true), "latest"});
  return code.is_string() && code.get<std::string>().size() > 2;
}

std::vector<RegistryEvent> RoomRegistry::events(uint64_t from_block, uint64_t to_block, size_t* skipped) {
  const std::string self = eth::toHex(address_, true);
  std::vector<RegistryEvent> out;
  size_t bad = 0;
  for (const eth::LogEntry& log : rpc_.logs(self, from_block, to_block, eventTopics())) {
    std::string from = log.address;
    std::transform(from.begin(), from.end(), from.begin(), [](unsigned char c) { return std::tolower(c); });
    std::optional<RegistryEvent> event;
    if (from == self && log.block_number >= from_block && log.block_number <= to_block) event = decodeEvent(log);
    if (event) {
      out.push_back(std::move(*event));
    } else {
      ++bad;
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const RegistryEvent& a, const RegistryEvent& b) { return a.position() < b.position(); });
  if (skipped) *skipped = bad;
  return out;
}

}  // namespace liveroom::contract

// Ethereum JSON-RPC over HTTP (libcurl through http::HttpClient): one request per call, the
// JSON-RPC 2.0 envelope checked, node errors kept with their code, message and revert data
// (nodes put it in different places: `error.data` as a hex string, or as an object with a
// `data` field, or only inside the message). Quantities are hex strings ("0x1a") both ways.
// Blocking; no liveroom knowledge. Never logs request bodies (they carry signed transactions).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/http_client.hpp"

namespace liveroom::eth {

// The node answered with a JSON-RPC error object.
class RpcError : public std::runtime_error {
 public:
  RpcError(int64_t code, std::string message, std::optional<std::string> data)
      : std::runtime_error(std::move(message)), code_(code), data_(std::move(data)) {}
  int64_t code() const noexcept { return code_; }
  // Revert data ("0x08c379a0...") when the node gave any, as it sent it.
  const std::optional<std::string>& data() const noexcept { return data_; }

 private:
  int64_t code_;
  std::optional<std::string> data_;
};

// No usable answer: transport failure, HTTP error status, or a reply that is not JSON-RPC.
class RpcUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "0x1a" -> 26. Throws std::invalid_argument unless a 0x-prefixed hex quantity fitting 64 bits.
uint64_t parseQuantity(std::string_view text);
std::string toQuantity(uint64_t value);

struct LogEntry {
  std::string address;              // 0x-prefixed, lower case as the node sent it
  std::vector<std::string> topics;  // 0x-prefixed 32-byte words
  std::string data;                 // 0x-prefixed
  uint64_t block_number = 0;
  uint64_t log_index = 0;
  std::string transaction_hash;
};

struct Receipt {
  bool success = false;  // status 0x1
  uint64_t block_number = 0;
  uint64_t gas_used = 0;
  std::optional<std::string> contract_address;
  std::vector<LogEntry> logs;
};

struct FeeSuggestion {
  uint64_t max_priority_fee_per_gas = 0;
  uint64_t max_fee_per_gas = 0;  // 2 x latest base fee + priority fee
};

// The pure parts of JsonRpcClient, over what a node sent (tested and fuzzed on their own).
// Each throws RpcError (the node's JSON-RPC error object) or RpcUnavailable, nothing else.
//
// The `result` of the reply to `method` (named in messages), given the HTTP status and body.
nlohmann::json parseReply(std::string_view method, int http_status, std::string_view body);
// eth_getTransactionReceipt's result: nullopt for null (not mined yet).
std::optional<Receipt> parseReceipt(const nlohmann::json& result);
// eth_getLogs' result.
std::vector<LogEntry> parseLogs(const nlohmann::json& result);
// A quantity result ("0x1a"); `what` names it in the message.
uint64_t parseQuantityResult(const nlohmann::json& result, std::string_view what);

class JsonRpcClient {
 public:
  JsonRpcClient(std::string url, std::shared_ptr<http::HttpClient> http,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // One call; throws RpcError / RpcUnavailable.
  nlohmann::json call(const std::string& method, nlohmann::json params = nlohmann::json::array());

  uint64_t chainId();
  uint64_t blockNumber();
  uint64_t transactionCount(const std::string& address, const std::string& block = "pending");
  FeeSuggestion suggestFees();
  // eth_estimateGas of a call object ({"from","to","data","value"}).
  uint64_t estimateGas(const nlohmann::json& call_object);
  // eth_sendRawTransaction: the transaction hash.
  std::string sendRawTransaction(const std::string& raw_hex);
  std::optional<Receipt> transactionReceipt(const std::string& hash);
  // eth_call at `block`: the return data, 0x-prefixed hex.
  std::string ethCall(const nlohmann::json& call_object, const std::string& block = "latest");
  std::vector<LogEntry> logs(const std::string& address, uint64_t from_block, uint64_t to_block,
                             const std::vector<std::string>& topic0_any = {});

  const std::string& url() const noexcept { return url_; }

 private:
  std::string url_;
  std::shared_ptr<http::HttpClient> http_;
  std::chrono::milliseconds timeout_;
  std::atomic<uint64_t> next_id_{1};  // calls come from several threads
};

}  // namespace liveroom::eth

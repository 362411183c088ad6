// TransactionSender: sends EIP-1559 transactions signed locally with one key, the way a
// backend must: chain id checked at start, one nonce allocator per key (concurrent sends get
// distinct nonces; "nonce too low" or a failed send re-syncs it from the node's pending count),
// fees from eth_maxPriorityFeePerGas + eth_feeHistory, gas from eth_estimateGas with a margin,
// and the receipt polled until it has `confirmations` blocks or the timeout passes. A revert,
// whether caught by the estimate or seen in a receipt, becomes TransactionReverted with the
// decoded revert data. Thread-safe. The key never appears in logs or exception text.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "eth/abi.hpp"
#include "eth/json_rpc.hpp"
#include "eth/keys.hpp"
#include "eth/transaction.hpp"

namespace liveroom::eth {

struct SenderOptions {
  uint64_t chain_id = 0;  // the chain the key signs for; checkChain() compares it with the node's
  uint64_t gas_margin_percent = 20;
  uint64_t confirmations = 1;
  std::chrono::milliseconds receipt_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds poll_interval{200};
};

// The transaction (or its gas estimate) reverted; `revert` holds the decoded revert data.
class TransactionReverted : public std::runtime_error {
 public:
  TransactionReverted(abi::Revert revert, std::optional<std::string> hash)
      : std::runtime_error("transaction reverted: " + revert.describe()),
        revert_(std::move(revert)),
        hash_(std::move(hash)) {}
  const abi::Revert& revert() const noexcept { return revert_; }
  const std::optional<std::string>& hash() const noexcept { return hash_; }

 private:
  abi::Revert revert_;
  std::optional<std::string> hash_;
};

// Sent, but no receipt with enough confirmations within the timeout.
class ReceiptTimeout : public std::runtime_error {
 public:
  ReceiptTimeout(const std::string& hash)
      : std::runtime_error("no receipt for transaction " + hash + " in time"), hash_(hash) {}
  const std::string& hash() const noexcept { return hash_; }

 private:
  std::string hash_;
};

struct SentTransaction {
  std::string hash;
  uint64_t nonce = 0;
  Receipt receipt;
};

class TransactionSender {
 public:
  TransactionSender(JsonRpcClient& rpc, PrivateKey key, SenderOptions options);

  // Throws std::runtime_error naming both ids when the node serves another chain.
  void checkChain();
  const Address& address() const noexcept { return address_; }
  std::string addressHex() const;

  // Sends one transaction (to: nullopt deploys `data` as a contract) and waits for its receipt.
  // Throws TransactionReverted, ReceiptTimeout, RpcError, RpcUnavailable.
  SentTransaction send(const std::optional<Address>& to, const Bytes& data, const U256& value = U256());
  // eth_call from this key's address: the return data; a revert throws TransactionReverted.
  Bytes call(const Address& to, const Bytes& data);

 private:
  uint64_t allocateNonce();
  void resyncNonce();
  nlohmann::json callObject(const std::optional<Address>& to, const Bytes& data, const U256& value) const;
  Receipt waitForReceipt(const std::string& hash);

  JsonRpcClient& rpc_;
  PrivateKey key_;
  SenderOptions options_;
  Address address_;
  std::mutex send_mutex_;  // held from nonce allocation to the node's answer
  std::mutex mutex_;
  std::optional<uint64_t> next_nonce_;  // guarded by mutex_
};

}  // namespace liveroom::eth

// Locally signed EIP-1559 transactions with a nonce allocator (see sender.hpp).
#include "eth/sender.hpp"

#include <algorithm>
#include <cctype>
#include <thread>

#include <spdlog/spdlog.h>

#include "eth/hex.hpp"

namespace liveroom::eth {

namespace {

std::string quantity(const U256& v) {
  const Bytes b = v.minimalBytes();
  if (b.empty()) return "0x0";
  std::string hex = toHex(b);
  hex.erase(0, std::min(hex.find_first_not_of('0'), hex.size() - 1));
  return "0x" + hex;
}

bool mentions(const std::string& text, std::string_view needle) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find(needle) != std::string::npos;
}

// A node error that is a revert (with or without data): code 3 (geth/anvil "execution
// reverted"), or Hardhat's -32603 with revert data.
std::optional<abi::Revert> revertOf(const RpcError& e) {
  if (e.data()) {
    try {
      return abi::decodeRevert(fromHex(*e.data()));
    } catch (const std::invalid_argument&) {
      return abi::decodeRevert({});
    }
  }
  if (e.code() == 3 || mentions(e.what(), "revert")) return abi::decodeRevert({});
  return std::nullopt;
}

}  // namespace

TransactionSender::TransactionSender(JsonRpcClient& rpc, PrivateKey key, SenderOptions options)
    : rpc_(rpc), key_(std::move(key)), options_(options), address_(key_.address()) {}

std::string TransactionSender::addressHex() const { return toHex(address_, true); }

void TransactionSender::checkChain() {
  const uint64_t node = rpc_.chainId();
  if (node != options_.chain_id) {
    throw std::runtime_error("the Ethereum node serves chain " + std::to_string(node) + ", not the configured chain " +
                             std::to_string(options_.chain_id));
  }
}

void TransactionSender::resyncNonce() {
  std::lock_guard lock(mutex_);
  next_nonce_.reset();
}

uint64_t TransactionSender::allocateNonce() {
  std::lock_guard lock(mutex_);
  if (!next_nonce_) next_nonce_ = rpc_.transactionCount(addressHex(), "pending");
  return (*next_nonce_)++;
}

nlohmann::json TransactionSender::callObject(const std::optional<Address>& to, const Bytes& data,
                                             const U256& value) const {
  nlohmann::json o = {{"from", addressHex()}, {"data", toHex(data, true)}, {"value", quantity(value)}};
  if (to) o["to"] = toHex(*to, true);
  return o;
}

Bytes TransactionSender::call(const Address& to, const Bytes& data) {
  try {
    return fromHex(rpc_.ethCall(callObject(to, data, U256())));
  } catch (const RpcError& e) {
    if (auto revert = revertOf(e)) throw TransactionReverted(std::move(*revert), std::nullopt);
    throw;
  } catch (const std::invalid_argument&) {
    throw RpcUnavailable("the node's eth_call result is not hex");
  }
}

SentTransaction TransactionSender::send(const std::optional<Address>& to, const Bytes& data, const U256& value) {
  // The estimate runs the call: a revert is caught here, before a nonce is spent.
  uint64_t gas = 0;
  try {
    gas = rpc_.estimateGas(callObject(to, data, value));
  } catch (const RpcError& e) {
    if (auto revert = revertOf(e)) throw TransactionReverted(std::move(*revert), std::nullopt);
    throw;
  }
  const FeeSuggestion fees = rpc_.suggestFees();
  Eip1559Transaction tx;
  tx.chain_id = options_.chain_id;
  tx.max_priority_fee_per_gas = fees.max_priority_fee_per_gas;
  tx.max_fee_per_gas = fees.max_fee_per_gas;
  tx.gas_limit = gas + gas * options_.gas_margin_percent / 100;
  tx.to = to;
  tx.value = value;
  tx.data = data;

  std::string hash;
  // Nonces reach the node in order: a node that gets N+1 before N queues it, and anvil's
  // automine then leaves it unmined until another transaction arrives (seen as a stall under
  // concurrent creates). Only the send is serialized; estimates and receipts stay parallel.
  std::lock_guard in_order(send_mutex_);
  for (int attempt = 0;; ++attempt) {
    tx.nonce = allocateNonce();
    const SignedEip1559Transaction signed_tx = sign(tx, key_);
    try {
      hash = rpc_.sendRawTransaction(toHex(signed_tx.raw(), true));
      break;
    } catch (const RpcError& e) {
      // The nonce was not consumed (or another process used it): count again from the node.
      spdlog::warn("eth: the node refused transaction nonce {} ({}); counting nonces again", tx.nonce, e.what());
      resyncNonce();
      if (attempt == 0 && (mentions(e.what(), "nonce too low") || mentions(e.what(), "nonce has already been used") ||
                           mentions(e.what(), "already known"))) {
        continue;
      }
      throw;
    } catch (...) {
      resyncNonce();
      throw;
    }
  }
  SentTransaction sent{hash, tx.nonce, waitForReceipt(hash)};
  if (!sent.receipt.success) {
    // The receipt keeps no revert data: replay the call at the block before to learn why.
    abi::Revert why = abi::decodeRevert({});
    try {
      nlohmann::json o = callObject(to, data, value);
      rpc_.call("eth_call", {o, toQuantity(sent.receipt.block_number > 0 ? sent.receipt.block_number - 1 : 0)});
    } catch (const RpcError& e) {
      if (auto revert = revertOf(e)) why = std::move(*revert);
    } catch (const RpcUnavailable&) {
    }
    throw TransactionReverted(std::move(why), hash);
  }
  return sent;
}

Receipt TransactionSender::waitForReceipt(const std::string& hash) {
  const auto deadline = std::chrono::steady_clock::now() + options_.receipt_timeout;
  for (;;) {
    if (auto receipt = rpc_.transactionReceipt(hash)) {
      if (options_.confirmations <= 1) return *receipt;
      if (rpc_.blockNumber() + 1 >= receipt->block_number + options_.confirmations) return *receipt;
    }
    if (std::chrono::steady_clock::now() >= deadline) throw ReceiptTimeout(hash);
    std::this_thread::sleep_for(options_.poll_interval);
  }
}

}  // namespace liveroom::eth

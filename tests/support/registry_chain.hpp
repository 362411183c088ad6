// A RoomRegistry on a fresh local anvil chain, for the contract store's tests: anvil started on
// a free port, a client and a sender for anvil's first dev key (the registry's admin and
// operator), and the registry deployed from the bytecode compiled into liveroom. stop() kills
// the chain (a node that went away).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "eth/json_rpc.hpp"
#include "eth/keys.hpp"
#include "eth/sender.hpp"
#include "http/curl_http_client.hpp"
#include "store/contract/contract_room_store.hpp"
#include "store/contract/room_registry.hpp"
#include "support/anvil.hpp"

namespace liveroom::test_support {

class RegistryChain {
 public:
  static constexpr uint64_t kChainId = 31337;
  // Anvil's second dev account: not an operator unless granted.
  static constexpr const char* kOtherKey = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

  explicit RegistryChain(const std::filesystem::path& anvil_bin) : anvil_(std::make_unique<Anvil>(anvil_bin)) {}

  // Waits for anvil and deploys; false (with a test failure) when anvil does not come up.
  bool start() {
    if (!anvil_->ready()) {
      ADD_FAILURE() << "anvil did not start";
      return false;
    }
    rpc_ = std::make_unique<eth::JsonRpcClient>(anvil_->url(), std::make_shared<http::CurlHttpClient>(),
                                                std::chrono::seconds(5));
    sender_ = newSender(Anvil::kDevKey);
    contract_ = contract::RoomRegistry::deploy(*sender_).address;
    return true;
  }
  void stop() { anvil_.reset(); }

  std::unique_ptr<eth::TransactionSender> newSender(
      const char* key_hex, std::chrono::milliseconds receipt_timeout = std::chrono::seconds(30)) {
    eth::SenderOptions options;
    options.chain_id = kChainId;
    options.poll_interval = std::chrono::milliseconds(5);
    options.receipt_timeout = receipt_timeout;
    return std::make_unique<eth::TransactionSender>(*rpc_, eth::PrivateKey::fromHex(key_hex), options);
  }

  std::unique_ptr<contract::ContractRoomStore> openStore(const std::filesystem::path& index,
                                                         eth::TransactionSender* sender = nullptr,
                                                         uint64_t max_block_range = 2000,
                                                         std::shared_ptr<const OutboxPolicy> outbox = nullptr) {
    contract::ContractStoreOptions options;
    options.index_path = index.string();
    options.outbox_policy = std::move(outbox);
    options.poll_interval = std::chrono::milliseconds(20);  // races the store's own writes
    options.max_block_range = max_block_range;
    return std::make_unique<contract::ContractRoomStore>(*rpc_, sender ? *sender : *sender_, contract_, kChainId,
                                                         options);
  }
  contract::RoomRegistry registry(eth::TransactionSender* sender = nullptr) {
    return contract::RoomRegistry(*rpc_, sender ? *sender : *sender_, contract_);
  }

  eth::JsonRpcClient& rpc() { return *rpc_; }
  eth::TransactionSender& sender() { return *sender_; }
  const eth::Address& contract() const { return contract_; }

 private:
  std::unique_ptr<Anvil> anvil_;
  std::unique_ptr<eth::JsonRpcClient> rpc_;
  std::unique_ptr<eth::TransactionSender> sender_;
  eth::Address contract_{};
};

}  // namespace liveroom::test_support

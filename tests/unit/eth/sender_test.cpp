// TransactionSender on a real anvil chain with the committed RoomRegistry bytecode: deploy,
// concurrent sends get distinct nonces and all land, a revert (caught by the estimate) comes
// back decoded as the contract's custom error, a nonce taken behind the sender's back is
// re-synced, and a wrong chain id is refused.
#include "eth/sender.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "eth/hex.hpp"
#include "eth/keccak.hpp"
#include "support/anvil.hpp"

namespace liveroom::eth {
namespace {

using test_support::Anvil;

Bytes registryBytecode() {
  const std::filesystem::path file = std::filesystem::path(LIVEROOM_SOURCE_DIR) / "contracts/build/RoomRegistry.bin";
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  std::string hex = text.str();
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.pop_back();
  return fromHex(hex);
}

Bytes createRoomCall(const std::string& room_id) {
  const Hash id = keccak256(room_id);
  const std::array<uint8_t, 16> uid{1, 2, 3};
  return abi::encodeCall(
      "createRoom(bytes32,address,bytes16,string,string,string)",
      {abi::Value::ofFixedBytes(id), abi::Value::ofAddress(abi::Address{}), abi::Value::ofFixedBytes(uid),
       abi::Value::ofString(room_id), abi::Value::ofString("Lớp học online"), abi::Value::ofString("")});
}

class SenderTest : public ::testing::Test {
 protected:
  void start() {
    const auto bin = Anvil::binary();
    ASSERT_TRUE(bin.has_value());
    anvil_ = std::make_unique<Anvil>(*bin);
    ASSERT_TRUE(anvil_->ready());
    rpc_ = std::make_unique<JsonRpcClient>(anvil_->url(), std::make_shared<http::CurlHttpClient>());
    SenderOptions options;
    options.chain_id = 31337;
    options.receipt_timeout = std::chrono::seconds(30);
    options.poll_interval = std::chrono::milliseconds(20);
    sender_ = std::make_unique<TransactionSender>(*rpc_, PrivateKey::fromHex(Anvil::kDevKey), options);
  }
  std::unique_ptr<Anvil> anvil_;
  std::unique_ptr<JsonRpcClient> rpc_;
  std::unique_ptr<TransactionSender> sender_;
};

TEST_F(SenderTest, DeploysSendsConcurrentlyAndDecodesReverts) {
  LIVEROOM_REQUIRE_ANVIL(bin);
  start();
  sender_->checkChain();
  EXPECT_EQ(sender_->addressHex(), Anvil::kDevAddress);

  const SentTransaction deployed = sender_->send(std::nullopt, registryBytecode());
  ASSERT_TRUE(deployed.receipt.success);
  ASSERT_TRUE(deployed.receipt.contract_address.has_value());
  const Address registry = parseAddress(*deployed.receipt.contract_address);

  // Eight threads, three creates each: every nonce distinct, every transaction mined.
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::set<uint64_t> nonces;
  std::vector<std::string> failures;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        try {
          const SentTransaction sent =
              sender_->send(registry, createRoomCall("live_t" + std::to_string(t) + "_" + std::to_string(i)));
          std::lock_guard lock(mutex);
          nonces.insert(sent.nonce);
          if (!sent.receipt.success) failures.push_back("not successful");
          if (sent.receipt.logs.size() != 1) failures.push_back("no RoomCreated log");
        } catch (const std::exception& e) {
          std::lock_guard lock(mutex);
          failures.push_back(e.what());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_EQ(nonces.size(), 24u);

  // A duplicate create reverts with the contract's own error, decoded, before any nonce is spent.
  const uint64_t before = rpc_->transactionCount(Anvil::kDevAddress);
  try {
    sender_->send(registry, createRoomCall("live_t0_0"));
    FAIL() << "no revert";
  } catch (const TransactionReverted& e) {
    const auto args = abi::matchError(e.revert(), "RoomExists(bytes32)");
    ASSERT_TRUE(args.has_value()) << e.what();
    const Hash expected = keccak256("live_t0_0");
    EXPECT_EQ((*args)[0].bytes(), Bytes(expected.begin(), expected.end()));
    EXPECT_FALSE(e.hash().has_value());
  }
  EXPECT_EQ(rpc_->transactionCount(Anvil::kDevAddress), before);

  // getRoom through eth_call: status 1 (Active).
  const Bytes room =
      sender_->call(registry, abi::encodeCall("getRoom(bytes32)", {abi::Value::ofFixedBytes(keccak256("live_t3_2"))}));
  const auto fields = abi::decode("(address,uint8,uint64,uint64,bytes16)", room).at(0).items();
  EXPECT_EQ(fields.at(1).toUint64(), 1u);
}

TEST_F(SenderTest, ResyncsANonceUsedBehindItsBack) {
  LIVEROOM_REQUIRE_ANVIL(bin);
  start();
  const Address registry = parseAddress(*sender_->send(std::nullopt, registryBytecode()).receipt.contract_address);
  // Another sender with the same key (another process) takes the next nonce.
  SenderOptions options;
  options.chain_id = 31337;
  TransactionSender other(*rpc_, PrivateKey::fromHex(Anvil::kDevKey), options);
  other.send(registry, createRoomCall("live_other"));
  // Ours still believes the old nonce is next: the node says "nonce too low", it re-syncs.
  const SentTransaction sent = sender_->send(registry, createRoomCall("live_ours"));
  EXPECT_TRUE(sent.receipt.success);
  EXPECT_EQ(sent.nonce, 2u);
}

TEST_F(SenderTest, RefusesAnotherChain) {
  LIVEROOM_REQUIRE_ANVIL(bin);
  start();
  SenderOptions options;
  options.chain_id = 1;
  TransactionSender mainnet(*rpc_, PrivateKey::fromHex(Anvil::kDevKey), options);
  try {
    mainnet.checkChain();
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("31337"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find(Anvil::kDevKey), std::string::npos);
  }
}

}  // namespace
}  // namespace liveroom::eth

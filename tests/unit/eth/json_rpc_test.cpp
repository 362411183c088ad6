// JsonRpcClient against a local HTTP server answering like Ethereum nodes do (anvil/geth and
// Hardhat error shapes, broken replies), and against a real anvil chain when one is installed
// (contracts/node_modules, by scripts/setup --test; LIVEROOM_REQUIRE_CHAIN=1 makes its absence
// a failure instead of a skip).
#include "eth/json_rpc.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "http/curl_http_client.hpp"
#include "support/fake_http_server.hpp"

extern char** environ;

namespace liveroom::eth {
namespace {

using test_support::FakeHttpServer;
using test_support::FakeResponse;
using test_support::RecordedRequest;

FakeResponse json(int status, const std::string& body) {
  return {status, {{"Content-Type", "application/json"}}, body};
}

JsonRpcClient client(const FakeHttpServer& server) {
  return JsonRpcClient(server.baseUrl(), std::make_shared<http::CurlHttpClient>(), std::chrono::seconds(2));
}

TEST(JsonRpcQuantity, ParsesAndFormats) {
  EXPECT_EQ(parseQuantity("0x0"), 0u);
  EXPECT_EQ(parseQuantity("0x7a69"), 31337u);
  EXPECT_EQ(parseQuantity("0xffffffffffffffff"), UINT64_MAX);
  for (const char* bad : {"", "0x", "7a69", "0x1g", "0x10000000000000000", "0x-1", " 0x1"}) {
    EXPECT_THROW(parseQuantity(bad), std::invalid_argument) << bad;
  }
  EXPECT_EQ(toQuantity(0), "0x0");
  EXPECT_EQ(toQuantity(31337), "0x7a69");
}

TEST(JsonRpcClient, SendsAJsonRpcEnvelopeAndReadsTheResult) {
  FakeHttpServer server(
      [](const RecordedRequest&) { return json(200, R"({"jsonrpc":"2.0","id":1,"result":"0x7a69"})"); });
  auto c = client(server);
  EXPECT_EQ(c.chainId(), 31337u);
  const auto sent = nlohmann::json::parse(server.requests().at(0).body);
  EXPECT_EQ(sent["jsonrpc"], "2.0");
  EXPECT_EQ(sent["method"], "eth_chainId");
  EXPECT_TRUE(sent["params"].is_array());
  EXPECT_EQ(server.requests().at(0).header("content-type"), "application/json");
}

TEST(JsonRpcClient, RevertDataFromEachNodeShape) {
  const std::string data = "0x08c379a0" + std::string(128, '0');
  // anvil / geth: error.data is the hex string.
  FakeHttpServer anvil([&](const RecordedRequest&) {
    return json(200, R"({"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted: nope","data":")" +
                         data + R"("}})");
  });
  try {
    client(anvil).ethCall({{"to", "0x0000000000000000000000000000000000000001"}});
    FAIL() << "no RpcError";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), 3);
    EXPECT_EQ(e.data(), data);
    EXPECT_NE(std::string(e.what()).find("execution reverted"), std::string::npos);
  }
  // Hardhat: error.data is an object holding the hex data.
  FakeHttpServer hardhat([&](const RecordedRequest&) {
    return json(
        200,
        R"({"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Error: VM Exception","data":{"message":"x","data":")" +
            data + R"("}}})");
  });
  try {
    client(hardhat).estimateGas({{"to", "0x0000000000000000000000000000000000000001"}});
    FAIL() << "no RpcError";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), -32603);
    EXPECT_EQ(e.data(), data);
  }
  // Nonce too low, no data at all.
  FakeHttpServer nonce([&](const RecordedRequest&) {
    return json(200, R"({"jsonrpc":"2.0","id":1,"error":{"code":-32003,"message":"nonce too low"}})");
  });
  try {
    client(nonce).sendRawTransaction("0x02");
    FAIL() << "no RpcError";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), -32003);
    EXPECT_FALSE(e.data().has_value());
  }
}

TEST(JsonRpcClient, BrokenRepliesAreUnavailableNotCrashes) {
  for (const FakeResponse& reply :
       {FakeResponse{500, {}, "Internal Server Error"}, json(200, "not json"), json(200, "[1,2]"),
        json(200, R"({"jsonrpc":"2.0","id":1})"), json(200, R"({"jsonrpc":"2.0","id":1,"result":12})"),
        json(200, R"({"jsonrpc":"2.0","id":1,"result":"0xzz"})"),
        json(502, R"({"jsonrpc":"2.0","id":1,"result":"0x1"})")}) {
    FakeHttpServer server([&](const RecordedRequest&) { return reply; });
    EXPECT_THROW(client(server).blockNumber(), RpcUnavailable) << reply.status << " " << reply.body;
  }
  FakeHttpServer receipts([](const RecordedRequest&) {
    return json(200, R"({"jsonrpc":"2.0","id":1,"result":{"status":"0x1","blockNumber":7}})");
  });
  EXPECT_THROW(client(receipts).transactionReceipt("0x00"), RpcUnavailable);
  FakeHttpServer pending([](const RecordedRequest&) { return json(200, R"({"jsonrpc":"2.0","id":1,"result":null})"); });
  EXPECT_FALSE(client(pending).transactionReceipt("0x00").has_value());
}

TEST(JsonRpcClient, NoNodeIsUnavailable) {
  std::string url;
  {
    FakeHttpServer gone;
    url = gone.baseUrl();
  }
  JsonRpcClient c(url, std::make_shared<http::CurlHttpClient>(), std::chrono::seconds(2));
  EXPECT_THROW(c.chainId(), RpcUnavailable);
}

TEST(JsonRpcClient, FeeSuggestionFromFeeHistory) {
  FakeHttpServer server([](const RecordedRequest& r) {
    const auto method = nlohmann::json::parse(r.body)["method"].get<std::string>();
    if (method == "eth_maxPriorityFeePerGas") return json(200, R"({"jsonrpc":"2.0","id":1,"result":"0x3b9aca00"})");
    return json(
        200,
        R"({"jsonrpc":"2.0","id":2,"result":{"oldestBlock":"0x1","baseFeePerGas":["0x3b9aca00","0x342770c0"],"gasUsedRatio":[0.5]}})");
  });
  const FeeSuggestion fees = client(server).suggestFees();
  EXPECT_EQ(fees.max_priority_fee_per_gas, 1'000'000'000u);
  EXPECT_EQ(fees.max_fee_per_gas, 2u * 875'000'000u + 1'000'000'000u);
}

// A real anvil (the binary scripts/setup --test installs with the contract toolchain).
class Anvil {
 public:
  static std::optional<std::filesystem::path> binary() {
    if (const char* env = std::getenv("LIVEROOM_ANVIL_BIN")) return std::filesystem::path(env);
    const auto p =
        std::filesystem::path(LIVEROOM_SOURCE_DIR) / "contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
    if (std::filesystem::exists(p)) return p;
    return std::nullopt;
  }
  Anvil(const std::filesystem::path& bin, uint16_t port) : port_(port) {
    const std::string port_text = std::to_string(port);
    const std::string bin_text = bin.string();
    std::vector<char*> argv = {const_cast<char*>(bin_text.c_str()), const_cast<char*>("--port"),
                               const_cast<char*>(port_text.c_str()), const_cast<char*>("--silent"), nullptr};
    if (posix_spawn(&pid_, bin_text.c_str(), nullptr, nullptr, argv.data(), environ) != 0) pid_ = 0;
  }
  ~Anvil() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = 0;
  uint16_t port_;
};

TEST(JsonRpcAnvil, TalksToARealChain) {
  const auto bin = Anvil::binary();
  if (!bin) {
    if (std::getenv("LIVEROOM_REQUIRE_CHAIN")) FAIL() << "anvil is not installed (scripts/setup --test)";
    GTEST_SKIP() << "anvil is not installed (scripts/setup --test)";
  }
  uint16_t port = 0;
  {
    FakeHttpServer probe;  // borrow a free port number
    port = probe.port();
  }
  Anvil anvil(*bin, port);
  ASSERT_TRUE(anvil.started());
  JsonRpcClient c(anvil.url(), std::make_shared<http::CurlHttpClient>(), std::chrono::seconds(5));
  uint64_t chain = 0;
  for (int i = 0; i < 200 && chain == 0; ++i) {  // until anvil listens (bounded, not timed)
    try {
      chain = c.chainId();
    } catch (const RpcUnavailable&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ASSERT_EQ(chain, 31337u);
  EXPECT_EQ(c.blockNumber(), 0u);
  // Anvil's public dev account #0 (never on a real network) has sent nothing yet.
  EXPECT_EQ(c.transactionCount("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"), 0u);
  const FeeSuggestion fees = c.suggestFees();
  EXPECT_GT(fees.max_fee_per_gas, fees.max_priority_fee_per_gas);
  EXPECT_EQ(c.ethCall({{"to", "0x0000000000000000000000000000000000000000"}, {"data", "0x"}}), "0x");
  EXPECT_FALSE(c.transactionReceipt("0x" + std::string(64, '1')).has_value());
  EXPECT_TRUE(c.logs("0x0000000000000000000000000000000000000000", 0, 0).empty());
  EXPECT_THROW(c.call("eth_noSuchMethod"), RpcError);
}

}  // namespace
}  // namespace liveroom::eth

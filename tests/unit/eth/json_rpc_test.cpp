// JsonRpcClient against a local HTTP server answering like Ethereum nodes do (anvil/geth and
// Hardhat error shapes, broken replies), and against a real anvil chain when one is installed
// (contracts/node_modules, by scripts/setup --test; LIVEROOM_REQUIRE_CHAIN=1 makes its absence
// a failure instead of a skip).
#include "eth/json_rpc.hpp"

#include <gtest/gtest.h>

#include "http/curl_http_client.hpp"
#include "support/anvil.hpp"
#include "support/fake_http_server.hpp"

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

TEST(JsonRpcAnvil, TalksToARealChain) {
  LIVEROOM_REQUIRE_ANVIL(bin);
  test_support::Anvil anvil(*bin);
  ASSERT_TRUE(anvil.ready());
  JsonRpcClient c(anvil.url(), std::make_shared<http::CurlHttpClient>(), std::chrono::seconds(5));
  const uint64_t chain = c.chainId();
  ASSERT_EQ(chain, 31337u);
  EXPECT_EQ(c.blockNumber(), 0u);
  // Anvil's public dev account #0 (never on a real network) has sent nothing yet.
  EXPECT_EQ(c.transactionCount(test_support::Anvil::kDevAddress), 0u);
  const FeeSuggestion fees = c.suggestFees();
  EXPECT_GT(fees.max_fee_per_gas, fees.max_priority_fee_per_gas);
  EXPECT_EQ(c.ethCall({{"to", "0x0000000000000000000000000000000000000000"}, {"data", "0x"}}), "0x");
  EXPECT_FALSE(c.transactionReceipt("0x" + std::string(64, '1')).has_value());
  EXPECT_TRUE(c.logs("0x0000000000000000000000000000000000000000", 0, 0).empty());
  EXPECT_THROW(c.call("eth_noSuchMethod"), RpcError);
}

}  // namespace
}  // namespace liveroom::eth

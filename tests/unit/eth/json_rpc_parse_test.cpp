// The pure parsers of eth/json_rpc (parseReply, parseReceipt, parseLogs, parseQuantityResult),
// without a server: what JsonRpcClient does with each reply shape, and that nothing but
// RpcError / RpcUnavailable ever escapes (fuzz/json_rpc_fuzz checks the same on any bytes).
#include <gtest/gtest.h>

#include <string>

#include "eth/json_rpc.hpp"

namespace liveroom::eth {
namespace {

using json = nlohmann::json;

TEST(JsonRpcParse, ReplyResultErrorAndBrokenBodies) {
  EXPECT_EQ(parseReply("eth_chainId", 200, R"({"jsonrpc":"2.0","id":1,"result":"0x7a69"})"), "0x7a69");
  EXPECT_TRUE(parseReply("eth_getTransactionReceipt", 200, R"({"jsonrpc":"2.0","id":1,"result":null})").is_null());
  try {
    parseReply("eth_call", 200,
               R"({"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted","data":"0x08c3"}})");
    FAIL() << "no RpcError";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), 3);
    EXPECT_EQ(e.data(), "0x08c3");
  }
  // The node's error object counts even on an HTTP error status; without one it is unavailable.
  EXPECT_THROW(parseReply("eth_call", 500, R"({"error":{"code":-32000,"message":"boom"}})"), RpcError);
  EXPECT_THROW(parseReply("eth_call", 500, R"({"result":"0x1"})"), RpcUnavailable);
  for (const char* bad : {"", "not json", "[]", R"({"jsonrpc":"2.0","id":1})", "\"0x1\""}) {
    EXPECT_THROW(parseReply("eth_call", 200, bad), RpcUnavailable) << bad;
  }
}

TEST(JsonRpcParse, ReceiptsAndLogs) {
  const json receipt = json::parse(R"({"status":"0x1","blockNumber":"0x10","gasUsed":"0x5208",
    "contractAddress":"0xabc","logs":[{"address":"0xabc","topics":["0x01"],"data":"0x","blockNumber":"0x10",
    "logIndex":"0x2","transactionHash":"0xfeed"}]})");
  const std::optional<Receipt> r = parseReceipt(receipt);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success);
  EXPECT_EQ(r->block_number, 16u);
  EXPECT_EQ(r->gas_used, 21000u);
  EXPECT_EQ(r->contract_address, "0xabc");
  ASSERT_EQ(r->logs.size(), 1u);
  EXPECT_EQ(r->logs[0].log_index, 2u);
  EXPECT_EQ(r->logs[0].transaction_hash, "0xfeed");
  EXPECT_FALSE(parseReceipt(json(nullptr)));

  EXPECT_EQ(parseLogs(receipt["logs"]).size(), 1u);
  EXPECT_TRUE(parseLogs(json::array()).empty());
  // Malformed shapes are the node's fault: unavailable, never a json or std exception.
  EXPECT_THROW(parseReceipt(json::parse(R"({"status":1})")), RpcUnavailable);
  EXPECT_THROW(parseReceipt(json::parse(R"({"status":"0x1","blockNumber":"0x1","gasUsed":"0x1","logs":[7]})")),
               RpcUnavailable);
  EXPECT_THROW(parseReceipt(json("0x1")), RpcUnavailable);
  EXPECT_THROW(parseLogs(json::parse(R"([{"address":"0x1","topics":[1],"data":"0x"}])")), RpcUnavailable);
  EXPECT_THROW(parseLogs(json::object()), RpcUnavailable);
}

TEST(JsonRpcParse, Quantities) {
  EXPECT_EQ(parseQuantityResult(json("0x5208"), "gas"), 21000u);
  EXPECT_THROW(parseQuantityResult(json(21000), "gas"), RpcUnavailable);
  EXPECT_THROW(parseQuantityResult(json("0x1ffffffffffffffff"), "gas"), RpcUnavailable);
  EXPECT_THROW(parseQuantityResult(json(nullptr), "gas"), RpcUnavailable);
}

}  // namespace
}  // namespace liveroom::eth

// Ethereum JSON-RPC client (see json_rpc.hpp).
#include "eth/json_rpc.hpp"

#include "common/json.hpp"

#include <charconv>

namespace liveroom::eth {

namespace {

// Revert data as nodes report it: geth/anvil `error.data` = "0x..", Hardhat and some
// providers `error.data.data` = "0x..", others only "... reverted with data 0x.." in the text.
std::optional<std::string> revertData(const nlohmann::json& error) {
  auto isHexString = [](const nlohmann::json& j) {
    return j.is_string() && j.get_ref<const std::string&>().rfind("0x", 0) == 0;
  };
  if (auto it = error.find("data"); it != error.end()) {
    if (isHexString(*it)) return it->get<std::string>();
    if (it->is_object()) {
      if (auto inner = it->find("data"); inner != it->end() && isHexString(*inner)) return inner->get<std::string>();
    }
  }
  return std::nullopt;
}

LogEntry parseLog(const nlohmann::json& j) {
  LogEntry log;
  log.address = j.at("address").get<std::string>();
  for (const auto& t : j.at("topics")) log.topics.push_back(t.get<std::string>());
  log.data = j.at("data").get<std::string>();
  if (j.contains("blockNumber") && j["blockNumber"].is_string())
    log.block_number = parseQuantity(j["blockNumber"].get<std::string>());
  if (j.contains("logIndex") && j["logIndex"].is_string())
    log.log_index = parseQuantity(j["logIndex"].get<std::string>());
  if (j.contains("transactionHash") && j["transactionHash"].is_string()) {
    log.transaction_hash = j["transactionHash"].get<std::string>();
  }
  return log;
}

}  // namespace

uint64_t parseQuantity(std::string_view text) {
  if (text.size() < 3 || text.size() > 18 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    throw std::invalid_argument("not a hex quantity");
  }
  uint64_t value = 0;
  const auto digits = text.substr(2);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
  if (ec != std::errc() || end != digits.data() + digits.size()) throw std::invalid_argument("not a hex quantity");
  return value;
}

std::string toQuantity(uint64_t value) {
  char buf[19] = "0x";
  const auto [end, ec] = std::to_chars(buf + 2, buf + sizeof buf, value, 16);
  (void)ec;
  return std::string(buf, end);
}

uint64_t parseQuantityResult(const nlohmann::json& result, std::string_view what) {
  if (!result.is_string()) throw RpcUnavailable("the node's " + std::string(what) + " is not a quantity");
  try {
    return parseQuantity(result.get_ref<const std::string&>());
  } catch (const std::invalid_argument&) {
    throw RpcUnavailable("the node's " + std::string(what) + " is not a quantity");
  }
}

nlohmann::json parseReply(std::string_view method, int http_status, std::string_view body_text) {
  const std::string name(method);
  JsonParse parsed = parseJsonBounded(body_text, kMaxJsonDepth);
  nlohmann::json body = parsed.value ? std::move(*parsed.value) : nlohmann::json();
  if (!body.is_object()) {
    throw RpcUnavailable("the Ethereum node answered " + name + " with HTTP " + std::to_string(http_status) +
                         " and no JSON-RPC reply");
  }
  if (auto error = body.find("error"); error != body.end() && error->is_object()) {
    int64_t code = 0;
    if (auto c = error->find("code"); c != error->end() && c->is_number_integer()) code = c->get<int64_t>();
    std::string message = "error";
    if (auto m = error->find("message"); m != error->end() && m->is_string()) message = m->get<std::string>();
    throw RpcError(code, std::move(message), revertData(*error));
  }
  if (http_status != 200) {
    throw RpcUnavailable("the Ethereum node answered " + name + " with HTTP " + std::to_string(http_status));
  }
  auto result = body.find("result");
  if (result == body.end()) throw RpcUnavailable("the Ethereum node's reply to " + name + " has no result");
  return std::move(*result);
}

std::optional<Receipt> parseReceipt(const nlohmann::json& r) {
  if (r.is_null()) return std::nullopt;
  if (!r.is_object()) throw RpcUnavailable("the node's receipt is not an object");
  try {
    Receipt receipt;
    receipt.success = parseQuantityResult(r.at("status"), "receipt status") == 1;
    receipt.block_number = parseQuantityResult(r.at("blockNumber"), "receipt block");
    receipt.gas_used = parseQuantityResult(r.at("gasUsed"), "gas used");
    if (auto c = r.find("contractAddress"); c != r.end() && c->is_string())
      receipt.contract_address = c->get<std::string>();
    if (auto logs = r.find("logs"); logs != r.end() && logs->is_array()) {
      for (const auto& l : *logs) receipt.logs.push_back(parseLog(l));
    }
    return receipt;
  } catch (const nlohmann::json::exception&) {
    throw RpcUnavailable("the node's receipt is malformed");
  } catch (const std::invalid_argument&) {
    throw RpcUnavailable("the node's receipt is malformed");
  }
}

std::vector<LogEntry> parseLogs(const nlohmann::json& result) {
  if (!result.is_array()) throw RpcUnavailable("the node's logs are not a list");
  std::vector<LogEntry> out;
  try {
    for (const auto& l : result) out.push_back(parseLog(l));
  } catch (const nlohmann::json::exception&) {
    throw RpcUnavailable("the node's logs are malformed");
  } catch (const std::invalid_argument&) {
    throw RpcUnavailable("the node's logs are malformed");
  }
  return out;
}

JsonRpcClient::JsonRpcClient(std::string url, std::shared_ptr<http::HttpClient> http, std::chrono::milliseconds timeout)
    : url_(std::move(url)), http_(std::move(http)), timeout_(timeout) {}

nlohmann::json JsonRpcClient::call(const std::string& method, nlohmann::json params) {
  const uint64_t id = next_id_++;
  http::ClientRequest request;
  request.method = "POST";
  request.url = url_;
  request.headers = {{"Content-Type", "application/json"}};
  request.body =
      nlohmann::json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}}.dump();
  request.total_timeout = timeout_;
  http::ClientResponse response;
  try {
    response = http_->send(request);
  } catch (const http::TransportError& e) {
    throw RpcUnavailable(std::string("the Ethereum node did not answer ") + method + ": " + e.what());
  }
  return parseReply(method, response.status, response.body);
}

uint64_t JsonRpcClient::chainId() { return parseQuantityResult(call("eth_chainId"), "chain id"); }

uint64_t JsonRpcClient::blockNumber() { return parseQuantityResult(call("eth_blockNumber"), "block number"); }

uint64_t JsonRpcClient::transactionCount(const std::string& address, const std::string& block) {
  return parseQuantityResult(call("eth_getTransactionCount", {address, block}), "nonce");
}

FeeSuggestion JsonRpcClient::suggestFees() {
  FeeSuggestion fees;
  fees.max_priority_fee_per_gas = parseQuantityResult(call("eth_maxPriorityFeePerGas"), "priority fee");
  // The next block's base fee is the last entry of baseFeePerGas.
  const nlohmann::json history = call("eth_feeHistory", {"0x1", "latest", nlohmann::json::array()});
  const auto base = history.find("baseFeePerGas");
  if (base == history.end() || !base->is_array() || base->empty()) {
    throw RpcUnavailable("the node's fee history has no base fee");
  }
  const uint64_t base_fee = parseQuantityResult(base->back(), "base fee");
  fees.max_fee_per_gas = 2 * base_fee + fees.max_priority_fee_per_gas;
  return fees;
}

uint64_t JsonRpcClient::estimateGas(const nlohmann::json& call_object) {
  return parseQuantityResult(call("eth_estimateGas", {call_object}), "gas estimate");
}

std::string JsonRpcClient::sendRawTransaction(const std::string& raw_hex) {
  const nlohmann::json hash = call("eth_sendRawTransaction", {raw_hex});
  if (!hash.is_string()) throw RpcUnavailable("the node's transaction hash is not a string");
  return hash.get<std::string>();
}

std::optional<Receipt> JsonRpcClient::transactionReceipt(const std::string& hash) {
  return parseReceipt(call("eth_getTransactionReceipt", {hash}));
}

std::string JsonRpcClient::ethCall(const nlohmann::json& call_object, const std::string& block) {
  const nlohmann::json data = call("eth_call", {call_object, block});
  if (!data.is_string()) throw RpcUnavailable("the node's eth_call result is not a string");
  return data.get<std::string>();
}

std::vector<LogEntry> JsonRpcClient::logs(const std::string& address, uint64_t from_block, uint64_t to_block,
                                          const std::vector<std::string>& topic0_any) {
  nlohmann::json filter = {
      {"address", address}, {"fromBlock", toQuantity(from_block)}, {"toBlock", toQuantity(to_block)}};
  if (!topic0_any.empty()) filter["topics"] = nlohmann::json::array({topic0_any});
  return parseLogs(call("eth_getLogs", {filter}));
}

}  // namespace liveroom::eth

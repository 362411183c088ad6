// Fuzz target: JSON-RPC replies of an Ethereum node (eth/json_rpc: parseReply, parseReceipt,
// parseLogs, parseQuantityResult). Input: one byte choosing the HTTP status, then the body.
// Checks, beyond "no crash":
//  - nothing but RpcError and RpcUnavailable escapes, whatever the body (not JSON, wrong
//    types, huge numbers), and a body nested deeper than kMaxJsonDepth never gives a result;
//  - a non-200 reply never yields a result; an RpcError's revert data is always 0x-prefixed
//    text; a result is the body's "result" member;
//  - a receipt or log list that parses round-trips: written back as JSON and parsed again it
//    gives the same fields.
#include <string>

#include <nlohmann/json.hpp>

#include "common/json.hpp"
#include "eth/json_rpc.hpp"
#include "fuzz_check.hpp"
#include "json_depth.hpp"

namespace {

using namespace liveroom::eth;
using json = nlohmann::json;

json logToJson(const LogEntry& l) {
  json j = {{"address", l.address},
            {"topics", l.topics},
            {"data", l.data},
            {"blockNumber", toQuantity(l.block_number)},
            {"logIndex", toQuantity(l.log_index)}};
  if (!l.transaction_hash.empty()) j["transactionHash"] = l.transaction_hash;
  return j;
}

bool sameLog(const LogEntry& a, const LogEntry& b) {
  return a.address == b.address && a.topics == b.topics && a.data == b.data && a.block_number == b.block_number &&
         a.log_index == b.log_index && a.transaction_hash == b.transaction_hash;
}

template <typename F>
void onlyRpcErrors(F&& f) {
  try {
    f();
  } catch (const RpcUnavailable&) {
  } catch (const RpcError&) {
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);
  }
}

void checkResult(const json& result) {
  onlyRpcErrors([&] {
    const uint64_t q = parseQuantityResult(result, "value");
    FUZZ_CHECK(parseQuantity(toQuantity(q)) == q, "quantity round-trip");
  });
  onlyRpcErrors([&] {
    const std::optional<Receipt> receipt = parseReceipt(result);
    FUZZ_CHECK(receipt.has_value() != result.is_null(), "null is 'not mined yet', anything else a receipt");
    if (!receipt) return;
    json again = {{"status", receipt->success ? "0x1" : "0x0"},
                  {"blockNumber", toQuantity(receipt->block_number)},
                  {"gasUsed", toQuantity(receipt->gas_used)},
                  {"logs", json::array()}};
    if (receipt->contract_address) again["contractAddress"] = *receipt->contract_address;
    for (const LogEntry& l : receipt->logs) again["logs"].push_back(logToJson(l));
    const std::optional<Receipt> second = parseReceipt(again);
    FUZZ_CHECK(second && second->success == receipt->success && second->block_number == receipt->block_number &&
                   second->gas_used == receipt->gas_used && second->contract_address == receipt->contract_address &&
                   second->logs.size() == receipt->logs.size(),
               "receipt round-trip");
  });
  onlyRpcErrors([&] {
    const std::vector<LogEntry> logs = parseLogs(result);
    FUZZ_CHECK(result.is_array() && logs.size() == result.size(), "one entry per log");
    json again = json::array();
    for (const LogEntry& l : logs) again.push_back(logToJson(l));
    const std::vector<LogEntry> second = parseLogs(again);
    FUZZ_CHECK(second.size() == logs.size(), "log list round-trip");
    for (size_t i = 0; i < logs.size(); ++i) FUZZ_CHECK(sameLog(second[i], logs[i]), "log round-trip");
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr int kStatuses[] = {200, 200, 200, 200, 200, 200, 400, 500, 502, 429, 0, 201};
  const int status = kStatuses[data[0] % (sizeof(kStatuses) / sizeof(kStatuses[0]))];
  const std::string_view body = liveroom::fuzz::asText(data + 1, size - 1);
  json result;
  try {
    result = parseReply("eth_fuzz", status, body);
  } catch (const RpcError& e) {
    if (e.data()) FUZZ_CHECK(e.data()->rfind("0x", 0) == 0, "revert data is 0x-prefixed");
    return 0;
  } catch (const RpcUnavailable&) {
    return 0;
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);
  }
  FUZZ_CHECK(status == 200, "only a 200 reply has a result");
  const json whole = json::parse(body, nullptr, false);
  FUZZ_CHECK(whole.is_object() && whole.contains("result") && whole["result"] == result,
             "the result is the body's result member");
  FUZZ_CHECK(liveroom::fuzz::jsonDepth(whole) <= liveroom::kMaxJsonDepth, "a reply nested too deeply is refused");
  checkResult(result);
  return 0;
}

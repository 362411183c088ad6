// Settings and clients for an Ethereum chain, shared by `liveroom contract ...` and
// `liveroom serve --store contract`: where the node is, which chain, which key signs. The
// private key comes from a file (ETH_PRIVATE_KEY_FILE / --key-file) or ETH_PRIVATE_KEY, never
// from a flag value (flags show in `ps`), and no message ever quotes it. RPC URLs often carry
// a provider's API key in their path, so logs name only the node's scheme and host.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "eth/json_rpc.hpp"
#include "eth/keys.hpp"
#include "eth/sender.hpp"

namespace liveroom::app {

struct ChainConfig {
  std::string rpc_url = "http://127.0.0.1:8545";  // anvil's and hardhat's default
  std::string key_file;
  uint64_t chain_id = 0;  // required: the chain the key signs for
  uint64_t confirmations = 1;
  std::string contract;  // the RoomRegistry address (serve, grant/revoke)
};

// --rpc-url, --key-file, --chain-id, --confirmations with their env twins; --contract too
// when `with_contract`.
void addChainOptions(CLI::App& command, ChainConfig& config, bool with_contract);

// "https://node.example/v3/KEY" -> "https://node.example/…": what logs and errors may show.
std::string redactUrl(const std::string& url);

// The signing key: --key-file / ETH_PRIVATE_KEY_FILE, else ETH_PRIVATE_KEY. Throws
// ConfigError (without the key's text) when none is set or it is not a valid key.
eth::PrivateKey loadPrivateKey(const ChainConfig& config, const std::function<const char*(const char*)>& getenv);

// A JSON-RPC client and a sender for one key, the chain id checked against the node's.
struct ChainClient {
  std::unique_ptr<eth::JsonRpcClient> rpc;
  std::unique_ptr<eth::TransactionSender> sender;
};
// Throws ConfigError when the settings are incomplete or the node serves another chain, and
// std::runtime_error (eth::RpcUnavailable) when the node does not answer.
ChainClient connectChain(const ChainConfig& config, const std::function<const char*(const char*)>& getenv);

// `liveroom contract deploy | grant-operator | revoke-operator`.
struct ContractCommand {
  ChainConfig chain;
  std::string account;  // grant-operator / revoke-operator
  CLI::App* deploy = nullptr;
  CLI::App* grant = nullptr;
  CLI::App* revoke = nullptr;
};
void addContractCommands(CLI::App& contract, ContractCommand& command);
int runContractCommand(const ContractCommand& command);

}  // namespace liveroom::app

// Chain settings, key loading and the `contract` commands (see chain.hpp).
#include "app/chain.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/config.hpp"
#include "eth/hex.hpp"
#include "http/curl_http_client.hpp"
#include "store/contract/room_registry.hpp"

namespace liveroom::app {

namespace {
constexpr std::streamsize kMaxKeyFileBytes = 4096;
}

void addChainOptions(CLI::App& command, ChainConfig& config, bool with_contract) {
  command.add_option("--rpc-url", config.rpc_url, "Ethereum JSON-RPC URL (prefer the env var: URLs can hold API keys)")
      ->envname("ETH_RPC_URL")
      ->capture_default_str();
  command
      .add_option("--key-file", config.key_file,
                  "file holding the signing key (64 hex digits); or set ETH_PRIVATE_KEY. Never pass the key itself")
      ->envname("ETH_PRIVATE_KEY_FILE");
  command.add_option("--chain-id", config.chain_id, "chain id the key signs for (checked against the node)")
      ->envname("LIVEROOM_CHAIN_ID");
  command.add_option("--confirmations", config.confirmations, "blocks that must include a transaction")
      ->envname("LIVEROOM_CONFIRMATIONS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  if (with_contract) {
    command.add_option("--contract", config.contract, "address of the RoomRegistry contract")
        ->envname("LIVEROOM_CONTRACT");
  }
}

std::string redactUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t host_start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t host_end = url.find_first_of("/?#", host_start);
  if (host_end == std::string::npos) host_end = url.size();
  std::string host = url.substr(host_start, host_end - host_start);
  if (const size_t at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);  // user:password@
  std::string out = url.substr(0, host_start) + host;
  if (host_end < url.size() && url.substr(host_end) != "/") out += "/…";
  return out;
}

eth::PrivateKey loadPrivateKey(const ChainConfig& config, const std::function<const char*(const char*)>& getenv) {
  std::string text;
  std::string source;
  if (!config.key_file.empty()) {
    source = "the key file " + config.key_file;
    std::ifstream in(config.key_file, std::ios::binary);
    if (!in) throw ConfigError("cannot read " + source + " (ETH_PRIVATE_KEY_FILE / --key-file)");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
    if (static_cast<std::streamsize>(text.size()) > kMaxKeyFileBytes) {
      throw ConfigError(source + " is not a private key (too long)");
    }
    struct stat info {};
    if (::stat(config.key_file.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
      std::cerr << "liveroom: warning: " << source << " is readable by other users (chmod 600 it)\n";
    }
  } else if (const char* env = getenv("ETH_PRIVATE_KEY"); env && *env) {
    source = "ETH_PRIVATE_KEY";
    text = env;
  } else {
    throw ConfigError(
        "no signing key: set ETH_PRIVATE_KEY_FILE (or --key-file) to a file holding the key, or "
        "ETH_PRIVATE_KEY");
  }
  try {
    return eth::PrivateKey::fromHex(text);
  } catch (const std::invalid_argument&) {
    throw ConfigError(source + " does not hold a secp256k1 private key (64 hex digits, optionally 0x-prefixed)");
  }
}

ChainClient connectChain(const ChainConfig& config, const std::function<const char*(const char*)>& getenv) {
  if (config.chain_id == 0)
    throw ConfigError("--chain-id (LIVEROOM_CHAIN_ID) is required: the chain the key signs for");
  if (config.rpc_url.rfind("http://", 0) != 0 && config.rpc_url.rfind("https://", 0) != 0) {
    throw ConfigError("--rpc-url (ETH_RPC_URL) must be an http(s) URL");
  }
  eth::PrivateKey key = loadPrivateKey(config, getenv);
  ChainClient client;
  client.rpc = std::make_unique<eth::JsonRpcClient>(config.rpc_url, std::make_shared<http::CurlHttpClient>());
  eth::SenderOptions options;
  options.chain_id = config.chain_id;
  options.confirmations = config.confirmations;
  client.sender = std::make_unique<eth::TransactionSender>(*client.rpc, std::move(key), options);
  const uint64_t node_chain = client.rpc->chainId();  // throws RpcUnavailable when down
  if (node_chain != config.chain_id) {
    throw ConfigError("the Ethereum node at " + redactUrl(config.rpc_url) + " serves chain " +
                      std::to_string(node_chain) + ", not --chain-id " + std::to_string(config.chain_id));
  }
  return client;
}

void addContractCommands(CLI::App& contract, ContractCommand& command) {
  contract.require_subcommand(1);
  command.deploy = contract.add_subcommand(
      "deploy", "deploy a RoomRegistry; the key becomes its admin and operator; prints the address last");
  addChainOptions(*command.deploy, command.chain, /*with_contract=*/false);
  command.grant = contract.add_subcommand("grant-operator", "let ADDRESS create and end rooms (admin key)");
  command.revoke = contract.add_subcommand("revoke-operator", "take the operator role from ADDRESS (admin key)");
  for (CLI::App* role : {command.grant, command.revoke}) {
    role->add_option("address", command.account, "the account (0x…)")->required();
    addChainOptions(*role, command.chain, /*with_contract=*/true);
  }
}

int runContractCommand(const ContractCommand& command) {
  const auto getenv = [](const char* name) { return std::getenv(name); };
  try {
    ChainClient chain = connectChain(command.chain, getenv);
    std::cerr << "chain " << command.chain.chain_id << " at " << redactUrl(command.chain.rpc_url) << ", key "
              << eth::checksumAddress(chain.sender->address()) << "\n";
    if (command.deploy->parsed()) {
      std::cerr << "deploying RoomRegistry…\n";
      const auto deployment = contract::RoomRegistry::deploy(*chain.sender);
      std::cerr << "deployed in block " << deployment.block_number << " by transaction " << deployment.transaction_hash
                << " (" << deployment.gas_used
                << " gas); admin and operator: " << eth::checksumAddress(chain.sender->address()) << "\n"
                << "serve with: LIVEROOM_CONTRACT=" << eth::checksumAddress(deployment.address)
                << " liveroom serve --store contract --chain-id " << command.chain.chain_id << "\n";
      std::cout << eth::checksumAddress(deployment.address) << std::endl;
      return 0;
    }
    if (command.chain.contract.empty()) throw ConfigError("--contract (LIVEROOM_CONTRACT) is required");
    eth::Address registry_address{};
    eth::Address account{};
    try {
      registry_address = eth::parseAddress(command.chain.contract);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("--contract: ") + e.what());
    }
    try {
      account = eth::parseAddress(command.account);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("ADDRESS: ") + e.what());
    }
    contract::RoomRegistry registry(*chain.rpc, *chain.sender, registry_address);
    const bool grant = command.grant->parsed();
    const auto sent = grant ? registry.grantOperator(account) : registry.revokeOperator(account);
    std::cerr << (grant ? "granted" : "revoked") << " the operator role " << (grant ? "to " : "from ")
              << eth::checksumAddress(account) << " in transaction " << sent.hash << "\n";
    std::cout << (registry.isOperator(account) ? "operator" : "not operator") << std::endl;
    return 0;
  } catch (const ConfigError& e) {
    std::cerr << "liveroom: " << e.what() << "\n";
    return 2;
  } catch (const eth::TransactionReverted& e) {
    std::string why = e.revert().describe();
    if (contract::classify(e.revert()) == contract::RegistryError::MissingRole) {
      why = "the key is not the registry's admin";
    }
    std::cerr << "liveroom: the transaction was refused: " << why << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "liveroom: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace liveroom::app

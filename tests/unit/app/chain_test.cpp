// Chain settings: where the signing key may come from (never quoted in an error), and what
// of an RPC URL a log may show.
#include "app/chain.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "app/config.hpp"
#include "eth/hex.hpp"

namespace liveroom::app {
namespace {

constexpr const char* kKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
constexpr const char* kAddress = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

std::function<const char*(const char*)> env(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

std::filesystem::path writeFile(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("liveroom_chain_test_" + std::to_string(::getpid()) + name);
  std::ofstream(path) << text;
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return path;
}

std::string errorOf(const ChainConfig& config, const std::map<std::string, std::string>& vars) {
  try {
    loadPrivateKey(config, env(vars));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "ok";
}

TEST(ChainSettings, KeyFromAFileWithWhitespaceOrPrefix) {
  auto file = writeFile("k1", std::string("0x") + kKey + "\n");
  ChainConfig config;
  config.key_file = file.string();
  EXPECT_EQ(eth::checksumAddress(loadPrivateKey(config, env({})).address()), kAddress);
  std::filesystem::remove(file);
}

TEST(ChainSettings, KeyFromTheEnvironmentWhenNoFile) {
  ChainConfig config;
  EXPECT_EQ(eth::checksumAddress(loadPrivateKey(config, env({{"ETH_PRIVATE_KEY", kKey}})).address()), kAddress);
}

TEST(ChainSettings, MissingOrBadKeysAreConfigErrorsThatNeverQuoteTheKey) {
  ChainConfig config;
  EXPECT_NE(errorOf(config, {}).find("ETH_PRIVATE_KEY_FILE"), std::string::npos);

  config.key_file = "/nonexistent/liveroom-key";
  EXPECT_NE(errorOf(config, {}).find("cannot read"), std::string::npos);

  const std::string almost = std::string(kKey).substr(0, 62) + "zz";  // a key with a typo
  auto file = writeFile("k2", almost);
  config.key_file = file.string();
  std::string message = errorOf(config, {});
  EXPECT_NE(message.find("does not hold"), std::string::npos) << message;
  EXPECT_EQ(message.find(almost.substr(0, 16)), std::string::npos) << message;
  std::filesystem::remove(file);

  config.key_file.clear();
  message = errorOf(config, {{"ETH_PRIVATE_KEY", almost}});
  EXPECT_NE(message.find("ETH_PRIVATE_KEY"), std::string::npos);
  EXPECT_EQ(message.find(almost.substr(0, 16)), std::string::npos) << message;
}

TEST(ChainSettings, RedactedUrlsKeepOnlySchemeAndHost) {
  EXPECT_EQ(redactUrl("https://mainnet.node.example/v3/0123456789abcdef"), "https://mainnet.node.example/…");
  EXPECT_EQ(redactUrl("https://user:pass@node.example:8545/?key=1"), "https://node.example:8545/…");
  EXPECT_EQ(redactUrl("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
  EXPECT_EQ(redactUrl("http://127.0.0.1:8545/"), "http://127.0.0.1:8545");
}

TEST(ChainSettings, ConnectNeedsAChainIdAndAnHttpUrl) {
  ChainConfig config;
  try {
    connectChain(config, env({{"ETH_PRIVATE_KEY", kKey}}));
    FAIL() << "connected without a chain id";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--chain-id"), std::string::npos);
  }
  config.chain_id = 1;
  config.rpc_url = "ws://node.example";
  EXPECT_THROW(connectChain(config, env({{"ETH_PRIVATE_KEY", kKey}})), ConfigError);
}

}  // namespace
}  // namespace liveroom::app

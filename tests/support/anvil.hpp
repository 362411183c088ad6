// A real anvil (local EVM chain) for tests: the binary scripts/setup --test installs with the
// contract toolchain (contracts/node_modules), or $LIVEROOM_ANVIL_BIN. Started on a free port,
// killed on destruction. `ready()` waits (bounded) until it answers eth_chainId.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/curl_http_client.hpp"
#include "eth/json_rpc.hpp"
#include "support/fake_http_server.hpp"

extern char** environ;

namespace liveroom::test_support {

class Anvil {
 public:
  // Anvil's public dev account #0 (never use it on a real network).
  static constexpr const char* kDevKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
  static constexpr const char* kDevAddress = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

  static std::optional<std::filesystem::path> binary() {
    if (const char* env = std::getenv("LIVEROOM_ANVIL_BIN")) return std::filesystem::path(env);
    const auto p =
        std::filesystem::path(LIVEROOM_SOURCE_DIR) / "contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
    if (std::filesystem::exists(p)) return p;
    return std::nullopt;
  }
  // Whether the tests must fail (not skip) without anvil: scripts/test sets it.
  static bool required() { return std::getenv("LIVEROOM_REQUIRE_CHAIN") != nullptr; }

  explicit Anvil(const std::filesystem::path& bin) {
    {
      FakeHttpServer probe;  // borrow a free port number
      port_ = probe.port();
    }
    const std::string port_text = std::to_string(port_);
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
  Anvil(const Anvil&) = delete;
  Anvil& operator=(const Anvil&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // True once it answers (up to ~10 s of attempts); false if it never started.
  bool ready() const {
    if (pid_ <= 0) return false;
    eth::JsonRpcClient c(url(), std::make_shared<http::CurlHttpClient>(), std::chrono::seconds(2));
    for (int i = 0; i < 200; ++i) {
      try {
        c.chainId();
        return true;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    return false;
  }

 private:
  pid_t pid_ = 0;
  uint16_t port_ = 0;
};

}  // namespace liveroom::test_support

// Skips (or fails under LIVEROOM_REQUIRE_CHAIN) when anvil is not installed.
#define LIVEROOM_REQUIRE_ANVIL(bin_var)                                                  \
  const auto bin_var = ::liveroom::test_support::Anvil::binary();                        \
  if (!bin_var) {                                                                        \
    if (::liveroom::test_support::Anvil::required()) FAIL() << "anvil is not installed"; \
    GTEST_SKIP() << "anvil is not installed (scripts/setup --test)";                     \
  }

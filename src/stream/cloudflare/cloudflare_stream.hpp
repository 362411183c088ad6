// StreamProvider over Cloudflare Stream's REST API (live inputs): auth headers, the retry
// policy (429 Retry-After for every call; 5xx/timeouts only for idempotent calls) and
// mapping Cloudflare's replies onto liveroom::Error codes. Parsing lives in cloudflare_api.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_client.hpp"
#include "stream/stream_provider.hpp"

namespace liveroom {

struct CloudflareConfig {
  std::string account_id;
  std::optional<std::string> api_token;       // Authorization: Bearer
  std::optional<std::string> email, api_key;  // X-Auth-Email + X-Auth-Key (legacy)
  std::string api_base = "https://api.cloudflare.com/client/v4";
  std::chrono::milliseconds connect_timeout{3000}, request_timeout{10000};
  int max_rate_limit_retries = 2;
  std::chrono::milliseconds max_total_retry_wait{10000};  // bound on all sleeping in one call
  std::chrono::milliseconds backoff_base{200};            // 5xx/timeout backoff for idempotent calls
};

class CloudflareStream final : public StreamProvider {
 public:
  // How a call waits between attempts. Defaults to std::this_thread::sleep_for; tests
  // pass one that records the waits instead of sleeping.
  using Sleeper = std::function<void(std::chrono::milliseconds)>;

  // Throws std::invalid_argument on an unusable config (no account id, no credentials,
  // control characters in a credential, api_base not http(s), null client).
  // The API token is preferred when both auth schemes are given.
  CloudflareStream(CloudflareConfig config, std::shared_ptr<http::HttpClient> client, Sleeper sleeper = {});

  std::string_view name() const override { return "cloudflare"; }
  LiveInput createInput(std::string_view title, RoomMode mode) override;
  std::optional<LiveInput> getInput(std::string_view uid, RoomMode mode) override;
  void deleteInput(std::string_view uid) override;
  std::vector<LiveInput> listInputs() override;

  // The deployment id (RoomStore::deploymentId) every input made from now on carries in its meta,
  // so the orphan sweeper can tell this deployment's inputs from anyone else's.
  void setDeployment(std::string id) {
    std::lock_guard lock(deployment_mutex_);
    deployment_ = std::move(id);
  }
  std::string deployment() const {
    std::lock_guard lock(deployment_mutex_);
    return deployment_;
  }

 private:
  struct Call {
    std::string_view op;   // "create live input", ... for messages and logs
    std::string_view uid;  // for logs; empty when none
    std::string method;
    std::string url;
    std::string body;
    bool idempotent = false;  // may be retried after a 5xx or a timeout
  };

  http::ClientResponse execute(const Call& call) const;
  [[noreturn]] void throwForReply(const Call& call, const http::ClientResponse& response) const;
  LiveInput parseInputReply(const Call& call, const http::ClientResponse& response, RoomMode mode) const;
  std::string inputsUrl() const;
  std::string inputUrl(std::string_view uid) const;

  CloudflareConfig config_;
  std::shared_ptr<http::HttpClient> client_;
  Sleeper sleep_;
  http::HeaderList base_headers_;  // auth + accept + user agent; never logged
  mutable std::mutex deployment_mutex_;
  std::string deployment_;
};

}  // namespace liveroom

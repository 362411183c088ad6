// Delivers the webhook outbox (store/outbox.hpp): a few threads claim the deliveries that are
// due (per endpoint and room only the oldest, so a room's events arrive in order), POST each
// with Standard Webhooks headers, and store the outcome: delivered on any 2xx, else retried with
// exponential backoff (retry_base doubling up to retry_max) until give_up_after has passed since
// the event, then "failed". Claims are leases in the store, so several processes on one store
// share the work and never send one delivery twice at once; a delivery whose 2xx was not stored
// (a crash in between) is sent again with the same webhook-id, which receivers de-duplicate on.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/http_client.hpp"
#include "store/outbox.hpp"
#include "webhooks/signing.hpp"

namespace liveroom::webhooks {

struct DispatcherOptions {
  std::vector<SigningKey> keys;  // at least one
  size_t threads = 4;            // deliveries in flight at once
  size_t claim_batch = 8;
  std::chrono::milliseconds attempt_timeout{10'000};
  std::chrono::milliseconds retry_base{1'000};
  std::chrono::milliseconds retry_max{10 * 60'000};
  std::chrono::milliseconds give_up_after{3 * 24 * 3600'000LL};
  std::chrono::milliseconds lease{20'000};  // more than an attempt takes; a crash holds a delivery this long
  std::chrono::milliseconds poll{1'000};    // for events other processes record
  std::chrono::milliseconds retention{7 * 24 * 3600'000LL};  // delivered/failed rows kept this long
  std::string user_agent = "liveroom-webhooks";
  std::string owner;                // this process's lease name (default: random)
  std::function<int64_t()> now_ms;  // wall clock in ms (tests inject one)
};

// What an attempt that ended with `status` (an HTTP status; none: no answer, `error` says why)
// makes of `delivery`. Pure.
OutboxDelivery afterAttempt(OutboxDelivery delivery, int64_t now_ms, std::optional<int> status,
                            const std::string& error, const DispatcherOptions& options);

struct DispatcherStats {
  uint64_t attempts = 0;
  uint64_t delivered = 0;
  uint64_t failed_attempts = 0;  // attempts without a 2xx
  uint64_t given_up = 0;
};

class Dispatcher {
 public:
  Dispatcher(WebhookOutbox& outbox, http::HttpClient& client, DispatcherOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void start();
  // Something was recorded: look now rather than at the next poll.
  void wake();
  // Stops claiming; deliveries in flight finish (their attempt's timeout bounds it).
  void stop();
  // Delivers whatever is due now until nothing is or `deadline` passes (at SIGTERM, after the
  // last writes). True when nothing due was left.
  bool drain(std::chrono::steady_clock::time_point deadline);

  DispatcherStats stats() const;

 private:
  void loop();
  // Claims and attempts one batch; how many were claimed.
  size_t runBatch();
  void attempt(const OutboxDelivery& delivery);
  int64_t now() const;

  WebhookOutbox& outbox_;
  http::HttpClient& client_;
  DispatcherOptions options_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  uint64_t wakes_ = 0;
  std::vector<std::thread> threads_;
  std::atomic<int64_t> last_prune_ms_{0};

  std::atomic<uint64_t> attempts_{0};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failed_attempts_{0};
  std::atomic<uint64_t> given_up_{0};
};

}  // namespace liveroom::webhooks

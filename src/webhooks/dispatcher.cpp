// Webhook delivery (see dispatcher.hpp).
#include "webhooks/dispatcher.hpp"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/random.hpp"

namespace liveroom::webhooks {

namespace {

int64_t systemNowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Endpoints may carry a token in their query: logs name scheme, host and path only.
std::string endpointForLogs(std::string_view url) { return std::string(url.substr(0, url.find_first_of("?#"))); }

}  // namespace

OutboxDelivery afterAttempt(OutboxDelivery d, int64_t now_ms, std::optional<int> status, const std::string& error,
                            const DispatcherOptions& options) {
  d.attempts += 1;
  d.last_attempt_at_ms = now_ms;
  d.last_status = status;
  if (status && *status >= 200 && *status < 300) {
    d.state = "delivered";
    d.delivered_at_ms = now_ms;
    d.last_error.clear();
    return d;
  }
  d.last_error = status ? fmt::format("HTTP {}", *status) : error;
  if (now_ms - d.created_at_ms >= options.give_up_after.count()) {
    d.state = "failed";
    return d;
  }
  // retry_base, 2x, 4x, ... at most retry_max.
  const int doublings = std::min(d.attempts - 1, 40);
  int64_t delay = options.retry_base.count();
  for (int i = 0; i < doublings && delay < options.retry_max.count(); ++i) delay *= 2;
  d.next_attempt_at_ms = now_ms + std::min<int64_t>(delay, options.retry_max.count());
  return d;
}

Dispatcher::Dispatcher(WebhookOutbox& outbox, http::HttpClient& client, DispatcherOptions options)
    : outbox_(outbox), client_(client), options_(std::move(options)) {
  if (options_.owner.empty()) {
    options_.owner = fmt::format("{}-{}", ::getpid(), randomHex(4));
  }
  options_.threads = std::max<size_t>(options_.threads, 1);
  options_.claim_batch = std::max<size_t>(options_.claim_batch, 1);
}

Dispatcher::~Dispatcher() { stop(); }

int64_t Dispatcher::now() const { return options_.now_ms ? options_.now_ms() : systemNowMs(); }

void Dispatcher::start() {
  for (size_t i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { loop(); });
}

void Dispatcher::wake() {
  {
    std::lock_guard lock(mutex_);
    ++wakes_;
  }
  wake_.notify_all();
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

bool Dispatcher::drain(std::chrono::steady_clock::time_point deadline) {
  while (std::chrono::steady_clock::now() < deadline) {
    size_t claimed = 0;
    try {
      claimed = runBatch();
    } catch (const std::exception& e) {
      spdlog::warn("webhooks: {}", e.what());
      return false;
    }
    if (claimed == 0) return true;
  }
  return false;
}

DispatcherStats Dispatcher::stats() const {
  return {attempts_.load(), delivered_.load(), failed_attempts_.load(), given_up_.load()};
}

void Dispatcher::loop() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      seen = wakes_;
    }
    size_t claimed = 0;
    try {
      claimed = runBatch();
      const int64_t at = now();
      int64_t last = last_prune_ms_.load();
      if (at - last > 3600'000 && last_prune_ms_.compare_exchange_strong(last, at)) {  // hourly, one thread
        if (const size_t pruned = outbox_.prune(at - options_.retention.count()); pruned > 0) {
          spdlog::info("webhooks: forgot {} deliveries older than the retention", pruned);
        }
      }
    } catch (const std::exception& e) {
      // The store is away: keep what is queued, look again at the next poll.
      spdlog::warn("webhooks: {}", e.what());
    }
    if (claimed > 0) continue;
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, options_.poll, [&] { return stopping_ || wakes_ != seen; });
  }
}

size_t Dispatcher::runBatch() {
  const std::vector<OutboxDelivery> batch =
      outbox_.claim(now(), options_.owner, options_.lease.count(), options_.claim_batch);
  for (const OutboxDelivery& d : batch) attempt(d);
  return batch.size();
}

void Dispatcher::attempt(const OutboxDelivery& d) {
  http::ClientRequest request;
  request.method = "POST";
  request.url = d.endpoint;
  request.body = d.body;
  request.total_timeout = options_.attempt_timeout;
  request.connect_timeout = std::min(options_.attempt_timeout, std::chrono::milliseconds(5000));
  const int64_t sent_ms = now();
  const int64_t timestamp_s = sent_ms / 1000;
  request.headers = {
      {"Content-Type", "application/json"},
      {"User-Agent", options_.user_agent},
      {"webhook-id", d.event_id},
      {"webhook-timestamp", std::to_string(timestamp_s)},
      {"webhook-signature", signatureHeader(options_.keys, d.event_id, timestamp_s, d.body)},
  };
  std::optional<int> status;
  std::string error;
  try {
    status = client_.send(request).status;
  } catch (const std::exception& e) {
    error = e.what();
  }
  attempts_.fetch_add(1, std::memory_order_relaxed);
  const OutboxDelivery after = afterAttempt(d, now(), status, error, options_);
  if (after.state == "delivered") {
    delivered_.fetch_add(1, std::memory_order_relaxed);
  } else {
    failed_attempts_.fetch_add(1, std::memory_order_relaxed);
    if (after.state == "failed") {
      given_up_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("webhooks: gave up on {} ({}) to {} after {} attempts: {}", after.event_id, after.type,
                    endpointForLogs(after.endpoint), after.attempts, after.last_error);
    } else if (after.attempts == 1 || after.attempts % 10 == 0) {
      spdlog::warn("webhooks: {} to {} failed ({}), attempt {}; retrying", after.type, endpointForLogs(after.endpoint),
                   after.last_error, after.attempts);
    }
  }
  if (!outbox_.finish(after, options_.owner)) {
    spdlog::warn("webhooks: the lease on {} to {} ran out during its attempt", after.event_id,
                 endpointForLogs(after.endpoint));
  }
}

}  // namespace liveroom::webhooks

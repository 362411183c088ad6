// Cloudflare Stream live inputs over HTTP (see cloudflare_stream.hpp).
// Logs carry the operation, live input uid, HTTP status and Cloudflare error codes only:
// never the auth headers, nor the WHIP URL, stream key or SRT passphrase of an input.
#include "stream/cloudflare/cloudflare_stream.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <stdexcept>
#include <thread>

#include "common/error.hpp"
#include "stream/cloudflare/cloudflare_api.hpp"

namespace liveroom {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 5xx and timeouts on idempotent calls: two more attempts, as a brief blip deserves,
// but not more: a longer outage should surface quickly to the caller.
constexpr int kMaxTransientRetries = 2;
// What we assume when a 429 carries no usable Retry-After.
constexpr int kDefaultRetryAfterSeconds = 1;
// A Retry-After beyond a day is nonsense; clamp so the arithmetic stays sane.
constexpr int kMaxRetryAfterSeconds = 24 * 60 * 60;

bool hasControlChars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool nonEmpty(const std::optional<std::string>& s) { return s && !s->empty(); }

// Retry-After in delta-seconds; nullopt when absent or in the HTTP-date form.
std::optional<int> parseRetryAfter(const std::optional<std::string>& header) {
  if (!header) return std::nullopt;
  std::string_view v = *header;
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  long long value = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
  if (ec == std::errc::result_out_of_range) return kMaxRetryAfterSeconds;
  if (ec != std::errc() || end != v.data() + v.size() || value < 0) return std::nullopt;
  return static_cast<int>(std::min<long long>(value, kMaxRetryAfterSeconds));
}

// Exponential backoff with jitter (50..100% of base * 2^attempt), so many processes
// hitting the same outage do not retry in lockstep.
milliseconds backoffFor(milliseconds base, int attempt) {
  const auto full = base * (1LL << std::min(attempt, 16));
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<long long> pick(full.count() / 2, std::max<long long>(full.count(), 0));
  return milliseconds(pick(rng));
}

bool isSuccess(int status) { return status >= 200 && status < 300; }

std::optional<cloudflare::Envelope> tryParseEnvelope(const std::string& body) {
  try {
    return cloudflare::parseEnvelope(body);
  } catch (const cloudflare::ParseError&) {
    return std::nullopt;
  }
}

// "get live input <uid>" / "create live input": what a log line is about.
std::string subjectOf(std::string_view op, std::string_view uid) {
  std::string s(op);
  if (!uid.empty()) s += " " + std::string(uid);
  return s;
}

std::string withDetail(std::string message, const std::string& detail) {
  if (!detail.empty()) message += " (" + detail + ")";
  return message;
}

}  // namespace

CloudflareStream::CloudflareStream(CloudflareConfig config, std::shared_ptr<http::HttpClient> client, Sleeper sleeper)
    : config_(std::move(config)), client_(std::move(client)), sleep_(std::move(sleeper)) {
  if (!client_) throw std::invalid_argument("CloudflareStream needs an HTTP client");
  if (!cloudflare::isPlausibleUid(config_.account_id)) {
    throw std::invalid_argument("Cloudflare account id is missing or not alphanumeric");
  }
  while (!config_.api_base.empty() && config_.api_base.back() == '/') config_.api_base.pop_back();
  if (!config_.api_base.starts_with("https://") && !config_.api_base.starts_with("http://")) {
    throw std::invalid_argument("Cloudflare API base must be an http(s) URL");
  }
  if (config_.connect_timeout <= milliseconds::zero() || config_.request_timeout <= milliseconds::zero()) {
    throw std::invalid_argument("Cloudflare timeouts must be positive");
  }
  config_.max_rate_limit_retries = std::max(config_.max_rate_limit_retries, 0);
  if (!sleep_) sleep_ = [](milliseconds d) { std::this_thread::sleep_for(d); };

  // Credentials go into header lines: a CR/LF would let them inject headers. The messages
  // never quote the values.
  if (nonEmpty(config_.api_token)) {
    if (hasControlChars(*config_.api_token)) throw std::invalid_argument("Cloudflare API token has control characters");
    base_headers_.emplace_back("Authorization", "Bearer " + *config_.api_token);
  } else if (nonEmpty(config_.email) && nonEmpty(config_.api_key)) {
    if (hasControlChars(*config_.email) || hasControlChars(*config_.api_key)) {
      throw std::invalid_argument("Cloudflare email or API key has control characters");
    }
    base_headers_.emplace_back("X-Auth-Email", *config_.email);
    base_headers_.emplace_back("X-Auth-Key", *config_.api_key);
  } else {
    throw std::invalid_argument("Cloudflare needs an API token, or an email and a global API key");
  }
  base_headers_.emplace_back("Accept", "application/json");
#ifdef LIVEROOM_VERSION
  base_headers_.emplace_back("User-Agent", "liveroom/" LIVEROOM_VERSION);
#else
  base_headers_.emplace_back("User-Agent", "liveroom");
#endif
}

std::string CloudflareStream::inputsUrl() const {
  return config_.api_base + "/accounts/" + config_.account_id + "/stream/live_inputs";
}

std::string CloudflareStream::inputUrl(std::string_view uid) const {
  // The uid goes into the path: refuse anything that could change its shape.
  if (!cloudflare::isPlausibleUid(uid)) {
    throw Error(codes::kInvalidField, "not a Cloudflare live input uid");
  }
  return inputsUrl() + "/" + std::string(uid);
}

http::ClientResponse CloudflareStream::execute(const Call& call) const {
  http::ClientRequest request;
  request.method = call.method;
  request.url = call.url;
  request.headers = base_headers_;
  if (!call.body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  request.body = call.body;
  request.connect_timeout = config_.connect_timeout;
  request.total_timeout = config_.request_timeout;

  milliseconds waited{0};
  int rate_limit_retries = 0;
  int transient_retries = 0;
  for (int attempt = 1;; ++attempt) {
    std::string failure;  // set when the attempt failed in a way worth retrying
    http::ClientResponse response;
    try {
      response = client_->send(request);
    } catch (const http::TransportError& e) {
      // e.what() names the host only, never the URL path or headers.
      failure = e.timedOut() ? "timed out" : "could not be reached";
      spdlog::warn("cloudflare: {} attempt {} failed: {}", subjectOf(call.op, call.uid), attempt, e.what());
    }

    if (failure.empty()) {
      if (response.status == 429) {
        // The request was not processed, so even create may be retried.
        const auto header = parseRetryAfter(response.header("retry-after"));
        const int retry_after = header.value_or(kDefaultRetryAfterSeconds);
        const milliseconds wait = seconds(retry_after);
        spdlog::warn("cloudflare: {} rate limited (attempt {}, retry-after {}s)", subjectOf(call.op, call.uid), attempt,
                     retry_after);
        if (rate_limit_retries < config_.max_rate_limit_retries && waited + wait <= config_.max_total_retry_wait) {
          sleep_(wait);
          waited += wait;
          ++rate_limit_retries;
          continue;
        }
        throw Error(codes::kProviderRateLimited,
                    "Cloudflare API rate limit reached; retry in " + std::to_string(retry_after) + " s", retry_after);
      }
      if (response.status < 500) return response;
      failure = "answered HTTP " + std::to_string(response.status);
      const auto env = tryParseEnvelope(response.body);
      spdlog::warn("cloudflare: {} attempt {}: HTTP {} codes [{}]", subjectOf(call.op, call.uid), attempt,
                   response.status, env ? cloudflare::errorCodes(env->errors) : std::string());
    }

    if (call.idempotent && transient_retries < kMaxTransientRetries) {
      const milliseconds wait = backoffFor(config_.backoff_base, transient_retries);
      if (waited + wait <= config_.max_total_retry_wait) {
        sleep_(wait);
        waited += wait;
        ++transient_retries;
        continue;
      }
    }
    std::string message = "Cloudflare " + failure + " (" + std::string(call.op) + ")";
    if (!call.idempotent) message += "; not retried because it may have taken effect";
    throw Error(codes::kProviderUnavailable, message);
  }
}

void CloudflareStream::throwForReply(const Call& call, const http::ClientResponse& response) const {
  const auto env = tryParseEnvelope(response.body);
  const std::vector<cloudflare::ApiError> errors = env ? env->errors : std::vector<cloudflare::ApiError>{};
  spdlog::warn("cloudflare: {} failed: HTTP {} codes [{}]", subjectOf(call.op, call.uid), response.status,
               cloudflare::errorCodes(errors));

  std::string detail = cloudflare::describeErrors(errors);
  if (detail.empty()) detail = "HTTP " + std::to_string(response.status);

  if (response.status == 401 || response.status == 403 || cloudflare::hasAuthError(errors)) {
    throw Error(codes::kProviderAuthFailed, withDetail("Cloudflare rejected the credentials", detail));
  }
  if ((response.status >= 400 && response.status < 500) || isSuccess(response.status)) {
    throw Error(codes::kProviderError, withDetail("Cloudflare refused to " + std::string(call.op), detail));
  }
  // 1xx/3xx: redirects are not followed, so this is a wrong api_base or a proxy in the way.
  throw Error(codes::kProviderUnavailable,
              withDetail("unexpected reply from Cloudflare to " + std::string(call.op), detail));
}

LiveInput CloudflareStream::parseInputReply(const Call& call, const http::ClientResponse& response,
                                            RoomMode mode) const {
  std::optional<cloudflare::Envelope> env = tryParseEnvelope(response.body);
  if (!env) {
    spdlog::warn("cloudflare: {}: HTTP {} with a body that is not a JSON envelope", subjectOf(call.op, call.uid),
                 response.status);
    throw Error(codes::kProviderUnavailable, "unexpected reply from Cloudflare (" + std::string(call.op) + ")");
  }
  if (!env->success) throwForReply(call, response);
  try {
    return cloudflare::parseLiveInput(env->result, mode);
  } catch (const cloudflare::ParseError& e) {
    spdlog::warn("cloudflare: {}: malformed live input: {}", subjectOf(call.op, call.uid), e.what());
    throw Error(codes::kProviderUnavailable, "unexpected reply from Cloudflare (" + std::string(call.op) + ")");
  }
}

LiveInput CloudflareStream::createInput(std::string_view title, RoomMode mode) {
  const Call call{
      "create live input", "", "POST", inputsUrl(), cloudflare::buildCreateBody(title, mode, deployment()), false};
  const http::ClientResponse response = execute(call);
  if (!isSuccess(response.status)) throwForReply(call, response);
  LiveInput input = parseInputReply(call, response, mode);

  const bool usable = mode == RoomMode::webrtc
                          ? input.ingest.whip_url && input.playback.whep_url
                          : input.ingest.rtmps_url && input.ingest.rtmps_stream_key && input.playback.hls_url;
  if (!usable) {
    // Created but without what the room needs: remove it rather than leave an orphan.
    spdlog::warn("cloudflare: created live input {} lacks the {} endpoints; deleting it", input.uid, toString(mode));
    try {
      deleteInput(input.uid);
    } catch (const std::exception& e) {
      spdlog::warn("cloudflare: could not delete incomplete live input {}: {}", input.uid, e.what());
    }
    throw Error(codes::kProviderUnavailable,
                "unexpected reply from Cloudflare (live input without " + std::string(toString(mode)) + " endpoints)");
  }
  spdlog::info("cloudflare: created live input {} ({})", input.uid, toString(mode));
  return input;
}

std::optional<LiveInput> CloudflareStream::getInput(std::string_view uid, RoomMode mode) {
  const Call call{"get live input", uid, "GET", inputUrl(uid), "", true};
  const http::ClientResponse response = execute(call);
  if (response.status == 404) return std::nullopt;
  if (!isSuccess(response.status)) throwForReply(call, response);
  return parseInputReply(call, response, mode);
}

void CloudflareStream::deleteInput(std::string_view uid) {
  const Call call{"delete live input", uid, "DELETE", inputUrl(uid), "", true};
  const http::ClientResponse response = execute(call);
  // Any 2xx is success whatever the body (Cloudflare may send none, or not JSON);
  // 404 means already gone, which is what the caller wants.
  if (isSuccess(response.status)) {
    spdlog::info("cloudflare: deleted live input {}", uid);
    return;
  }
  if (response.status == 404) {
    spdlog::info("cloudflare: live input {} was already deleted", uid);
    return;
  }
  throwForReply(call, response);
}

std::vector<LiveInput> CloudflareStream::listInputs() {
  const Call call{"list live inputs", "", "GET", inputsUrl(), "", true};
  const http::ClientResponse response = execute(call);
  if (!isSuccess(response.status)) throwForReply(call, response);
  const auto env = tryParseEnvelope(response.body);
  if (!env) throw Error(codes::kProviderUnavailable, "unexpected reply from Cloudflare (list live inputs)");
  if (!env->success) throwForReply(call, response);
  try {
    return cloudflare::parseLiveInputList(env->result);
  } catch (const cloudflare::ParseError& e) {
    spdlog::warn("cloudflare: list live inputs: malformed list: {}", e.what());
    throw Error(codes::kProviderUnavailable, "unexpected reply from Cloudflare (list live inputs)");
  }
}

}  // namespace liveroom

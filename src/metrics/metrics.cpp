#include "metrics/metrics.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <exception>

#include <prometheus/text_serializer.h>

namespace liveroom::metrics {

namespace {

// HTTP replies: from a cached join (well under a millisecond) to a Cloudflare call.
const prometheus::Histogram::BucketBoundaries kHttpBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};
// Store and provider calls: a SQLite read to a chain transaction or a retried API call.
const prometheus::Histogram::BucketBoundaries kCallBuckets = {0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                              0.1,    0.25,   0.5,   1,      2.5,   5,    10,    30};

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

prometheus::MetricFamily& Scrape::family(std::string_view name, std::string_view help, prometheus::MetricType type) {
  for (prometheus::MetricFamily& f : families_) {
    if (f.name == name) return f;
  }
  families_.push_back(prometheus::MetricFamily{std::string(name), std::string(help), type, {}});
  return families_.back();
}

void Scrape::merge(Scrape&& other) {
  for (prometheus::MetricFamily& f : other.families_) {
    prometheus::MetricFamily& into = family(f.name, f.help, f.type);
    for (prometheus::ClientMetric& m : f.metric) into.metric.push_back(std::move(m));
  }
  other.families_.clear();
}

void Scrape::gauge(std::string_view name, std::string_view help, double value, const Labels& labels) {
  prometheus::ClientMetric m;
  for (const auto& [k, v] : labels) m.label.push_back({k, v});
  m.gauge.value = value;
  family(name, help, prometheus::MetricType::Gauge).metric.push_back(std::move(m));
}

void Scrape::counter(std::string_view name, std::string_view help, double value, const Labels& labels) {
  prometheus::ClientMetric m;
  for (const auto& [k, v] : labels) m.label.push_back({k, v});
  m.counter.value = value;
  family(name, help, prometheus::MetricType::Counter).metric.push_back(std::move(m));
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      http_requests_(prometheus::BuildCounter()
                         .Name("liveroom_http_requests_total")
                         .Help("HTTP requests answered, by route template, method and status code")
                         .Register(*registry_)),
      http_duration_(prometheus::BuildHistogram()
                         .Name("liveroom_http_request_duration_seconds")
                         .Help("Time from a request's arrival to its reply being handed to the connection")
                         .Register(*registry_)),
      store_calls_(prometheus::BuildCounter()
                       .Name("liveroom_store_calls_total")
                       .Help("Room store calls, by store, operation and outcome (ok or the error code)")
                       .Register(*registry_)),
      store_duration_(prometheus::BuildHistogram()
                          .Name("liveroom_store_call_duration_seconds")
                          .Help("Room store call latency, by store and operation")
                          .Register(*registry_)),
      provider_calls_(prometheus::BuildCounter()
                          .Name("liveroom_provider_calls_total")
                          .Help("Stream provider calls, by provider, operation and outcome (ok or the error code)")
                          .Register(*registry_)),
      provider_duration_(prometheus::BuildHistogram()
                             .Name("liveroom_provider_call_duration_seconds")
                             .Help("Stream provider call latency, by provider and operation")
                             .Register(*registry_)) {}

void Metrics::observeRequest(std::string_view route, std::string_view method, int status,
                             std::chrono::nanoseconds took) {
  const std::string r(route);
  http_requests_.Add({{"route", r}, {"method", std::string(methodLabel(method))}, {"code", std::to_string(status)}})
      .Increment();
  http_duration_.Add({{"route", r}}, kHttpBuckets).Observe(seconds(took));
}

void Metrics::observeCall(Backend kind, std::string_view backend, std::string_view operation, std::string_view outcome,
                          std::chrono::nanoseconds took) {
  const bool store = kind == Backend::kStore;
  const char* const who = store ? "store" : "provider";
  const std::string name(backend);
  const std::string op(operation);
  (store ? store_calls_ : provider_calls_)
      .Add({{who, name}, {"operation", op}, {"outcome", std::string(outcome)}})
      .Increment();
  (store ? store_duration_ : provider_duration_)
      .Add({{who, name}, {"operation", op}}, kCallBuckets)
      .Observe(seconds(took));
}

void Metrics::addSource(Source source) {
  std::lock_guard lock(sources_mutex_);
  sources_.push_back(std::move(source));
}

std::string Metrics::render() {
  Scrape scrape;
  {
    std::lock_guard lock(sources_mutex_);
    for (const Source& source : sources_) {
      Scrape one;
      try {
        source(one);
      } catch (const std::exception& e) {
        spdlog::warn("metrics: a source failed and is left out of this scrape: {}", e.what());
        continue;
      }
      scrape.merge(std::move(one));
    }
  }
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (prometheus::MetricFamily& f : scrape.families()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

std::string_view methodLabel(std::string_view method) noexcept {
  static constexpr std::array<std::string_view, 7> kKnown = {"GET",   "HEAD",   "POST",   "PUT",
                                                             "PATCH", "DELETE", "OPTIONS"};
  for (std::string_view m : kKnown) {
    if (m == method) return m;
  }
  return "other";
}

}  // namespace liveroom::metrics

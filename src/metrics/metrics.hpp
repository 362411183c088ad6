// Metrics: what /metrics shows, in the Prometheus text format (prometheus-cpp's registry and
// serializer). Two kinds of figures: those counted as things happen (HTTP requests by route,
// store and provider calls, each with a latency histogram), kept here; and those read at scrape
// time from their owners (rooms by status, sessions, media counters, the webhook queue, the
// process), which the composition root adds as Sources. Names follow Prometheus conventions:
// `liveroom_` prefix, base units (seconds, bytes), `_total` on counters; labels take values from
// small fixed sets (route templates, never room ids).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

namespace liveroom::metrics {

// Families for one scrape, filled by the Sources.
class Scrape {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  void gauge(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  void counter(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  // Takes `other`'s samples (a family both have gets both's samples).
  void merge(Scrape&& other);
  std::vector<prometheus::MetricFamily>& families() noexcept { return families_; }

 private:
  prometheus::MetricFamily& family(std::string_view name, std::string_view help, prometheus::MetricType type);
  std::vector<prometheus::MetricFamily> families_;
};

// Store or stream provider: the two kinds of backend calls counted.
enum class Backend { kStore, kProvider };

class Metrics {
 public:
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One HTTP request answered: `route` a template ("/api/livestream/rooms/{id}"), `method` as
  // sent (anything but the usual verbs counts as "other").
  void observeRequest(std::string_view route, std::string_view method, int status, std::chrono::nanoseconds took);
  // One store or provider call: `backend` its name ("sqlite", "cloudflare"), `outcome` "ok" or
  // the error code it failed with.
  void observeCall(Backend kind, std::string_view backend, std::string_view operation, std::string_view outcome,
                   std::chrono::nanoseconds took);

  // Read at each scrape, in the order added; may block (the scrape runs on a blocking pool).
  // A Source that throws is left out of that scrape (and logged).
  using Source = std::function<void(Scrape&)>;
  void addSource(Source source);

  // Everything, in the text exposition format 0.0.4.
  std::string render();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_duration_;
  prometheus::Family<prometheus::Counter>& store_calls_;
  prometheus::Family<prometheus::Histogram>& store_duration_;
  prometheus::Family<prometheus::Counter>& provider_calls_;
  prometheus::Family<prometheus::Histogram>& provider_duration_;
  std::mutex sources_mutex_;
  std::vector<Source> sources_;
};

// The method label: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, else "other".
std::string_view methodLabel(std::string_view method) noexcept;

}  // namespace liveroom::metrics

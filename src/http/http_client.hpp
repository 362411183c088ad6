// Blocking HTTP client over libcurl with connect and total timeouts on every call.
// Transport only: retries and their policy belong to the caller that knows which calls
// are idempotent (see stream/cloudflare).
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace liveroom::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds total_timeout{10000};
};

struct ClientResponse {
  int status = 0;
  HeaderList headers;              // names lowercased
  bool reused_connection = false;  // sent on a connection an earlier call opened
  std::string body;
  // First header with this (case-insensitive) name.
  std::optional<std::string> header(std::string_view name) const;
};

// The request never got an HTTP answer (DNS, connect, TLS, timeout).
class TransportError : public std::runtime_error {
 public:
  TransportError(std::string message, bool timed_out) : std::runtime_error(std::move(message)), timed_out_(timed_out) {}
  bool timedOut() const noexcept { return timed_out_; }

 private:
  bool timed_out_;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Throws TransportError when no HTTP answer arrived.
  virtual ClientResponse send(const ClientRequest& request) = 0;
};

}  // namespace liveroom::http

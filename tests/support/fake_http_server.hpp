// A real HTTP/1.1 server on 127.0.0.1:<ephemeral port> for tests of HTTP clients: it
// records every request and answers through a handler (status, headers, body, and an
// optional delay before answering, to provoke client timeouts).
// One background thread runs everything; the handler is called on that thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace liveroom::test_support {

using FakeHeaders = std::vector<std::pair<std::string, std::string>>;

struct RecordedRequest {
  std::string method;
  std::string target;   // path + query, as sent
  FakeHeaders headers;  // names lowercased
  std::string body;
  // First header with this name (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
};

struct FakeResponse {
  int status = 200;
  FakeHeaders headers;  // Content-Length is added by the server
  std::string body;
  std::chrono::milliseconds delay{0};  // wait this long before answering
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeResponse(const RecordedRequest&)>;

  // Starts listening at once. Without a handler every request gets 200 with no body.
  explicit FakeHttpServer(Handler handler = {});
  ~FakeHttpServer();  // stops the thread; replies still delayed are dropped
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  void setHandler(Handler handler);
  std::uint16_t port() const;
  std::string baseUrl() const;  // "http://127.0.0.1:<port>"

  std::vector<RecordedRequest> requests() const;
  std::size_t requestCount() const;
  void clearRequests();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace liveroom::test_support

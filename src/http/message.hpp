// Transport-neutral HTTP request/response values: what handlers take and return, so
// handlers are plain functions testable without sockets.
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace liveroom::http {

struct Request {
  std::string method;                                        // "GET", "POST", ... as sent
  std::string target;                                        // path + "?" + query, as sent
  std::string path;                                          // before '?'
  std::string query;                                         // after '?', without it
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  // The peer's IP address as text ("127.0.0.1", "::1"); empty when unknown (tests).
  std::string remote_address;

  // First header with this lowercase name.
  std::optional<std::string_view> header(std::string_view lowercase_name) const;
};

// The body of a reply that is sent as it comes (Server-Sent Events): the server writes the
// status and headers, then everything push()ed, in order, until close() or the client goes.
// Thread-safe.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues bytes for the client. False when the stream is closed, or when the client reads too
  // slowly (more than the server's limit waiting): the stream is then closed.
  virtual bool push(std::string bytes) = 0;
  // Ends the stream once what is queued has been sent.
  virtual void close() = 0;
  virtual bool closed() const = 0;
};

// A file streamed from disk in small pieces (files too large to keep in memory).
struct FileBody {
  std::string path;
  uint64_t size = 0;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  // The body is `body`, unless `shared_body` (immutable bytes many replies share, e.g. a cached
  // file) or `file` is set.
  std::string body;
  std::shared_ptr<const std::string> shared_body;
  std::optional<FileBody> file;
  // When set, the body is a stream: called once the headers are sent, with the sink to feed.
  std::function<void(std::shared_ptr<StreamSink>)> stream;

  Response& set(std::string name, std::string value);
  // Bytes the body will have on the wire (before HEAD drops it).
  uint64_t bodySize() const;
  // The body as text when it is in memory (tests, logs); a file body reads as empty.
  std::string_view bodyView() const;
};

// Hands a response back to the connection, from any thread. Copies share one state: the
// first call delivers, later ones are dropped (and logged). When the last copy goes without
// any call (a handler that forgot to answer, or threw), the fallback is sent, so a
// connection never waits forever for an answer that will not come.
class Responder {
 public:
  using Send = std::function<void(Response)>;

  Responder() = default;
  template <typename F>
  requires(!std::same_as<std::remove_cvref_t<F>, Responder> && std::invocable<F&, Response>)
      Responder(F send)  // NOLINT: implicit, so a lambda can be passed where a Responder is taken
      : state_(std::make_shared<State>(Send(std::move(send)), nullptr)) {}
  // `unanswered` builds the reply sent when no copy was ever called (default: a plain 500).
  Responder(Send send, std::function<Response()> unanswered)
      : state_(std::make_shared<State>(std::move(send), std::move(unanswered))) {}

  void operator()(Response res) const;
  // True once a response was delivered (through any copy).
  bool answered() const noexcept;
  explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  struct State {
    State(Send s, std::function<Response()> u) : send(std::move(s)), unanswered(std::move(u)) {}
    ~State();
    Send send;
    std::function<Response()> unanswered;
    std::atomic<bool> done{false};
  };
  std::shared_ptr<State> state_;
};

// Takes a request and answers it, now or later (e.g. after blocking work on a pool).
using Handler = std::function<void(Request&&, Responder)>;

// Percent-decoding of a URL component ('+' is a space in queries). nullopt when malformed.
std::optional<std::string> percentDecode(std::string_view in, bool plus_is_space);
// Value of `name` in an application/x-www-form-urlencoded query; nullopt if absent or
// malformed.
std::optional<std::string> queryParam(std::string_view query, std::string_view name);

}  // namespace liveroom::http

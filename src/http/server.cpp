// Beast HTTP server: one Listener accepting, one Session per connection owning its
// socket and buffer (enable_shared_from_this), limits and timeouts per session. Each
// session lives on one io_context run by one thread, so it needs no strand.
#include "http/server.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <type_traits>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/optional.hpp>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "common/event_loop.hpp"

namespace liveroom::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Server::Shared {
  Shared(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {
    limits.body_limit = options.body_limit;
    limits.header_limit = options.header_limit;
  }

  // A reply the server makes itself, decorated (CORS) for the request it answers.
  Response ownResponse(int status, std::string_view code, std::string_view message, const Request& partial) const {
    Response res;
    if (options.error_response) {
      res = options.error_response(status, code, message);
    } else {
      res.status = status;
      res.body = std::string(message);
    }
    if (options.decorate_own_response) options.decorate_own_response(partial, res);
    return res;
  }

  // Admission under the connection limits; false when over one.
  bool admit(const std::string& key) {
    std::lock_guard lock(mutex);
    if (options.max_connections > 0 && connections >= options.max_connections) return false;
    size_t& mine = per_address[key];
    if (options.max_connections_per_address > 0 && mine >= options.max_connections_per_address) {
      if (mine == 0) per_address.erase(key);
      return false;
    }
    ++mine;
    ++connections;
    return true;
  }
  void release(const std::string& key) {
    std::lock_guard lock(mutex);
    --connections;
    if (auto it = per_address.find(key); it != per_address.end() && --it->second == 0) per_address.erase(it);
  }

  const ServerOptions options;
  const Handler handler;
  RequestLimits limits;
  mutable std::mutex mutex;
  size_t connections = 0;
  std::unordered_map<std::string, size_t> per_address;
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> accept_pauses{0};
  std::atomic<size_t> refusing{0};  // connections being sent a 503 right now
  // Graceful stop (Server::drain): replies close their connections, and requests read but not
  // yet answered (or whose reply is still being written) are counted until done.
  std::atomic<bool> draining{false};
  std::atomic<size_t> in_flight{0};
};

namespace {

using Shared = Server::Shared;

// A cached file's bytes, shared by every reply that sends them: nothing is copied per reply.
struct SharedStringBody {
  using value_type = std::shared_ptr<const std::string>;
  static uint64_t size(const value_type& body) { return body ? body->size() : 0; }

  class writer {
   public:
    using const_buffers_type = net::const_buffer;
    template <bool isRequest, class Fields>
    writer(const bhttp::header<isRequest, Fields>&, const value_type& body) : body_(body) {}
    void init(beast::error_code& ec) { ec = {}; }
    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      ec = {};
      if (!body_ || body_->empty()) return boost::none;
      return std::make_pair(const_buffers_type(body_->data(), body_->size()), false);
    }

   private:
    const value_type& body_;
  };
};

// Holds one connection's place under the limits; gives it back when the connection goes.
class ConnectionSlot {
 public:
  ConnectionSlot(std::shared_ptr<Shared> shared, std::string key) : shared_(std::move(shared)), key_(std::move(key)) {}
  ~ConnectionSlot() {
    if (shared_) shared_->release(key_);
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept = default;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;

 private:
  std::shared_ptr<Shared> shared_;
  std::string key_;
};

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// One connection. Stream is beast::tcp_stream (plain HTTP) or beast::ssl_stream over it (HTTPS).
// A plain session on a TLS port only redirects to https (`redirect_to_https`).
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Session(Stream&& stream, std::shared_ptr<Shared> shared, ConnectionSlot slot, std::string remote,
          bool redirect_to_https = false)
      : stream_(std::move(stream)),
        shared_(std::move(shared)),
        slot_(std::move(slot)),
        remote_(std::move(remote)),
        buffer_(shared_->limits.bufferLimit()),
        redirect_to_https_(redirect_to_https) {}
  ~Session() { endRequest(); }

  // Starts with the bytes already read off the socket (by TLS detection), if any.
  void run(const beast::flat_buffer& already_read = {}) {
    const size_t n = already_read.size();
    buffer_.commit(net::buffer_copy(buffer_.prepare(n), already_read.data()));
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::start, this->shared_from_this()));
  }

 private:
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

  auto& lowest() { return beast::get_lowest_layer(stream_); }

  void start() {
    if constexpr (kTls) {
      lowest().expires_after(shared_->options.read_timeout);
      stream_.async_handshake(net::ssl::stream_base::server, buffer_.data(),
                              [self = shared_from_this()](beast::error_code ec, std::size_t used) {
                                if (ec) return self->close();  // not TLS after all, or a bad hello
                                self->buffer_.consume(used);
                                self->read();
                              });
    } else {
      read();
    }
  }

 private:
  void read() {
    parser_.emplace();
    configureParser(*parser_, shared_->limits);
    // One deadline for the whole request (header and body): a slow sender cannot stretch it.
    lowest().expires_after(shared_->options.read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::onHeader, shared_from_this()));
  }

  void onHeader(beast::error_code ec, std::size_t) {
    if (ec) return onReadError(ec, false);
    if (auto rejected = checkHeader(*parser_, shared_->limits)) return sendOwn(*rejected);
    if (expectsContinue(*parser_) && !parser_->is_done()) {
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                         if (write_ec) return self->close();
                         self->readBody();
                       });
      return;
    }
    readBody();
  }

  void readBody() {
    bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::onRead, shared_from_this()));
  }

  void onReadError(beast::error_code ec, bool header_done) {
    if (auto rejected = rejectionFor(ec, header_done || parser_->is_header_done(), shared_->limits)) {
      return sendOwn(*rejected);
    }
    close();  // eof, reset, timeout: nobody to answer
  }

  void onRead(beast::error_code ec, std::size_t) {
    if (ec) return onReadError(ec, true);

    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    head_request_ = msg.method() == bhttp::verb::head;
    std::string remote = remote_;
    if (!shared_->options.trusted_proxies.empty()) {
      if (auto xff = msg.find("X-Forwarded-For"); xff != msg.end()) {
        beast::error_code ec;
        const auto peer = net::ip::make_address(remote_, ec);
        const std::string_view forwarded(xff->value().data(), xff->value().size());
        if (!ec) remote = shared_->options.trusted_proxies.clientAddress(peer, forwarded);
      }
    }
    Request req = toRequest(msg, std::move(remote));
    // Kept for the 500 a handler owes if it throws or never answers (CORS needs Origin).
    unanswered_head_.method = req.method;
    unanswered_head_.path = req.path;
    unanswered_head_.headers.clear();
    if (auto origin = req.header("origin")) unanswered_head_.headers.emplace_back("origin", std::string(*origin));

    if (redirect_to_https_) return redirectToHttps(req);
    auto self = shared_from_this();
    // The responder may run on any thread: dispatch runs the write at once when called on this
    // connection's own thread (an inline answer), and queues it there otherwise.
    request_start_ = std::chrono::steady_clock::now();
    beginRequest();
    Responder respond(
        [self](Response res) {
          // The next request is read only once this reply is written: the head is still this one's.
          if (const auto& observe = self->shared_->options.on_reply) {
            observe(self->unanswered_head_, res.status, std::chrono::steady_clock::now() - self->request_start_);
          }
          net::dispatch(self->stream_.get_executor(),
                        [self, res = std::move(res)]() mutable { self->write(std::move(res)); });
        },
        [self] {
          return self->shared_->ownResponse(500, codes::kInternalError, "internal error", self->unanswered_head_);
        });
    try {
      shared_->handler(std::move(req), respond);
    } catch (const std::exception& e) {
      spdlog::error("http: handler for {} {} failed: {}", unanswered_head_.method, unanswered_head_.path, e.what());
      if (!respond.answered())
        respond(shared_->ownResponse(500, codes::kInternalError, "internal error", unanswered_head_));
    } catch (...) {
      spdlog::error("http: handler for {} {} failed", unanswered_head_.method, unanswered_head_.path);
      if (!respond.answered())
        respond(shared_->ownResponse(500, codes::kInternalError, "internal error", unanswered_head_));
    }
  }

  // Plain HTTP on the HTTPS port: the same URL over https (308 keeps the method and body).
  void redirectToHttps(const Request& req) {
    keep_alive_ = false;
    auto host = req.header("host");
    const bool plain_host =
        host && !host->empty() && host->size() <= 255 && std::all_of(host->begin(), host->end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == ':' || c == '[' ||
                 c == ']';
        });
    const bool plain_target =
        !req.target.empty() && req.target.front() == '/' && req.target.find_first_of("\r\n") == std::string::npos;
    if (!plain_host || !plain_target) {
      return write(shared_->ownResponse(400, codes::kBadRequest, "this server speaks HTTPS: use https://", req));
    }
    Response res = shared_->ownResponse(308, "use_https", "this server speaks HTTPS", req);
    res.status = 308;
    res.set("Location", "https://" + std::string(*host) + req.target);
    write(std::move(res));
  }

  void sendOwn(const Rejection& rejection) {
    keep_alive_ = false;  // the rest of the stream cannot be trusted
    head_request_ = false;
    // Whatever was parsed (a body over the limit: all the headers), for CORS.
    Request partial = parser_ ? partialRequest(*parser_) : Request{};
    write(shared_->ownResponse(rejection.status, rejection.code, rejection.message, partial));
  }

  void fillHeader(bhttp::response_header<>& h, const Response& res) const {
    h.result(static_cast<unsigned>(res.status));
    h.version(11);
    for (const auto& [name, value] : res.headers) h.insert(name, value);
    h.set(bhttp::field::server, "liveroom");
  }

  template <typename Body>
  void send(std::shared_ptr<bhttp::response<Body>> msg) {
    if (shared_->draining.load()) keep_alive_ = false;  // stopping: this is the connection's last reply
    msg->keep_alive(keep_alive_);
    response_ = msg;
    // Its own deadline: a reply after a slow handler gets the full time, not what the read left.
    lowest().expires_after(shared_->options.write_timeout);
    bhttp::async_write(stream_, *msg, beast::bind_front_handler(&Session::onWrite, shared_from_this()));
  }

  // What a streaming reply's producer feeds; the session drains it onto the socket.
  class Sink final : public StreamSink {
   public:
    explicit Sink(std::weak_ptr<Session> session, size_t limit) : session_(std::move(session)), limit_(limit) {}
    bool push(std::string bytes) override {
      {
        std::lock_guard lock(mutex_);
        if (closed_) return false;
        if (queued_ + bytes.size() > limit_) {
          closed_ = true;  // a client that does not read is dropped, not buffered for
        } else {
          queued_ += bytes.size();
          queue_.push_back(std::move(bytes));
        }
      }
      wake();
      return !closed();
    }
    void close() override {
      {
        std::lock_guard lock(mutex_);
        closed_ = true;
      }
      wake();
    }
    bool closed() const override {
      std::lock_guard lock(mutex_);
      return closed_;
    }
    // Session side: the next chunk to write, or nullopt (then `finished` says whether to close).
    std::optional<std::string> take(bool& finished) {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) {
        finished = closed_;
        return std::nullopt;
      }
      std::string next = std::move(queue_.front());
      queue_.pop_front();
      queued_ -= next.size();
      return next;
    }

   private:
    void wake() {
      if (auto s = session_.lock()) {
        net::post(s->stream_.get_executor(), [s] { s->drainStream(); });
      }
    }
    std::weak_ptr<Session> session_;
    size_t limit_;
    mutable std::mutex mutex_;
    std::deque<std::string> queue_;
    size_t queued_ = 0;
    bool closed_ = false;
  };

  void startStream(Response res) {
    keep_alive_ = false;  // the body ends when the connection does
    auto msg = std::make_shared<bhttp::response<bhttp::empty_body>>();
    fillHeader(msg->base(), res);
    msg->keep_alive(false);
    auto serializer = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*msg);
    lowest().expires_after(shared_->options.write_timeout);
    bhttp::async_write_header(
        stream_, *serializer,
        [self = shared_from_this(), msg, serializer, open = std::move(res.stream)](beast::error_code ec, std::size_t) {
          if (ec) return self->close();
          // The reply has begun: a stream is not waited for at a graceful stop.
          self->endRequest();
          // No deadline on the stream as a whole; each write gets one of its own (the timer).
          self->lowest().expires_never();
          self->sink_ = std::make_shared<Sink>(self->weak_from_this(), kMaxQueuedStreamBytes);
          self->watchForHangUp();
          open(self->sink_);
          self->drainStream();
        });
  }

  // A streaming client sends nothing more; a read completing (EOF, reset) means it went away.
  void watchForHangUp() {
    stream_.async_read_some(net::buffer(hangup_scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec) return self->watchForHangUp();  // ignore stray bytes
                              if (self->sink_) self->sink_->close();
                              self->hung_up_ = true;
                              self->drainStream();
                            });
  }

  void drainStream() {
    if (!sink_ || stream_writing_) return;
    bool finished = false;
    std::optional<std::string> next = hung_up_ ? std::nullopt : sink_->take(finished);
    if (!next) {
      if (finished || hung_up_) {
        sink_->close();
        close();
      }
      return;
    }
    stream_writing_ = true;
    stream_chunk_ = std::move(*next);
    if (!stream_timer_) stream_timer_.emplace(stream_.get_executor());
    stream_timer_->expires_after(shared_->options.write_timeout);
    stream_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->close();  // the client stopped reading: give up on it
    });
    net::async_write(stream_, net::buffer(stream_chunk_),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->stream_writing_ = false;
                       self->stream_timer_->cancel();
                       if (ec) {
                         self->sink_->close();
                         return self->close();
                       }
                       self->drainStream();
                     });
  }

  void write(Response res) {
    if (res.stream && !head_request_) return startStream(std::move(res));
    if (head_request_) {  // HEAD: the GET's headers (Content-Length too), no body
      auto msg = std::make_shared<bhttp::response<bhttp::empty_body>>();
      fillHeader(msg->base(), res);
      msg->content_length(res.bodySize());
      return send(std::move(msg));
    }
    if (res.file) {
      auto msg = std::make_shared<bhttp::response<bhttp::file_body>>();
      beast::error_code ec;
      msg->body().open(res.file->path.c_str(), beast::file_mode::scan, ec);
      if (ec) {
        spdlog::warn("http: cannot open {} for a reply: {}", res.file->path, ec.message());
        keep_alive_ = false;
        return write(shared_->ownResponse(500, codes::kInternalError, "the file could not be read", Request{}));
      }
      fillHeader(msg->base(), res);
      msg->prepare_payload();
      return send(std::move(msg));
    }
    if (res.shared_body) {
      auto msg = std::make_shared<bhttp::response<SharedStringBody>>();
      fillHeader(msg->base(), res);
      msg->body() = std::move(res.shared_body);
      msg->prepare_payload();
      return send(std::move(msg));
    }
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>();
    fillHeader(msg->base(), res);
    msg->body() = std::move(res.body);
    msg->prepare_payload();
    send(std::move(msg));
  }

  void onWrite(beast::error_code ec, std::size_t) {
    response_.reset();
    endRequest();
    if (ec || !keep_alive_) return close();
    read();
  }

  void beginRequest() {
    if (in_flight_) return;
    in_flight_ = true;
    shared_->in_flight.fetch_add(1);
  }
  void endRequest() {
    if (!in_flight_) return;
    in_flight_ = false;
    shared_->in_flight.fetch_sub(1);
  }

  void close() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    lowest().socket().close(ec);
  }

  Stream stream_;
  std::shared_ptr<Shared> shared_;
  ConnectionSlot slot_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::shared_ptr<void> response_;
  Request unanswered_head_;
  std::chrono::steady_clock::time_point request_start_;
  bool in_flight_ = false;  // a request read and its reply not yet written (Shared::in_flight)
  bool keep_alive_ = false;
  bool head_request_ = false;
  bool redirect_to_https_ = false;
  // A streaming reply (see startStream): at most this much waits for a slow client.
  static constexpr size_t kMaxQueuedStreamBytes = 256 * 1024;
  std::shared_ptr<Sink> sink_;
  std::string stream_chunk_;
  std::optional<net::steady_timer> stream_timer_;
  std::array<char, 512> hangup_scratch_{};
  bool stream_writing_ = false;
  bool hung_up_ = false;
};

// A connection over a limit: gets a 503 with Retry-After, then is closed once the peer has read
// it (the rest of its request is read and dropped, so the close sends no RST that could destroy
// the reply in flight), within a few seconds at most.
class Refusal : public std::enable_shared_from_this<Refusal> {
 public:
  Refusal(tcp::socket&& socket, std::shared_ptr<Shared> shared, Response res)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    msg_.result(static_cast<unsigned>(res.status));
    msg_.version(11);
    for (const auto& [name, value] : res.headers) msg_.insert(name, value);
    msg_.set(bhttp::field::server, "liveroom");
    msg_.set(bhttp::field::retry_after, "1");
    msg_.body() = std::move(res.body);
    msg_.keep_alive(false);
    msg_.prepare_payload();
    ++shared_->refusing;
  }
  ~Refusal() { --shared_->refusing; }

  void run() {
    stream_.expires_after(std::chrono::seconds(3));
    bhttp::async_write(stream_, msg_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      if (ec) return self->stream_.socket().close(ignored);
      self->drain();
    });
  }

 private:
  void drain() {
    stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
        return;
      }
      self->drain();
    });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<Shared> shared_;
  bhttp::response<bhttp::string_body> msg_;
  std::array<char, 4096> scratch_{};
};

// On a TLS port: reads the first bytes to tell a TLS hello from plain HTTP (someone typed
// http://), and hands the connection to the matching session with what it read.
class TlsDetector : public std::enable_shared_from_this<TlsDetector> {
 public:
  TlsDetector(tcp::socket&& socket, std::shared_ptr<Shared> shared, ConnectionSlot slot, std::string remote)
      : stream_(std::move(socket)), shared_(std::move(shared)), slot_(std::move(slot)), remote_(std::move(remote)) {}

  void run() {
    stream_.expires_after(shared_->options.read_timeout);
    beast::async_detect_ssl(stream_, buffer_, [self = shared_from_this()](beast::error_code ec, bool tls) {
      if (ec) {
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
        return;
      }
      if (tls) {
        using TlsStream = beast::ssl_stream<beast::tcp_stream>;
        std::make_shared<Session<TlsStream>>(TlsStream(std::move(self->stream_), *self->shared_->options.tls),
                                             self->shared_, std::move(self->slot_), std::move(self->remote_))
            ->run(self->buffer_);
      } else {
        std::make_shared<Session<beast::tcp_stream>>(std::move(self->stream_), self->shared_, std::move(self->slot_),
                                                     std::move(self->remote_), /*redirect_to_https=*/true)
            ->run(self->buffer_);
      }
    });
  }

 private:
  beast::tcp_stream stream_;
  std::shared_ptr<Shared> shared_;
  ConnectionSlot slot_;
  std::string remote_;
  beast::flat_buffer buffer_;
};

bool isResourceExhaustion(const beast::error_code& ec) {
  return ec == net::error::no_descriptors || ec == net::error::no_buffer_space || ec == net::error::no_memory ||
         ec == beast::error_code(ENFILE, beast::system_category());
}

}  // namespace

class Server::Listener : public std::enable_shared_from_this<Server::Listener> {
 public:
  Listener(std::vector<std::unique_ptr<net::io_context>>& iocs, std::shared_ptr<Shared> shared)
      : iocs_(iocs), acceptor_(*iocs.front()), pause_timer_(*iocs.front()), shared_(std::move(shared)) {}

  beast::error_code open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    return ec;
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void accept() {
    // Round robin: the next connection lives on the next thread's io_context.
    auto& ioc = *iocs_[next_++ % iocs_.size()];
    acceptor_.async_accept(ioc, beast::bind_front_handler(&Listener::onAccept, shared_from_this()));
  }

  // Closes the listening socket on its own thread; `done` runs after.
  void close(std::function<void()> done) {
    net::post(acceptor_.get_executor(), [self = shared_from_this(), done = std::move(done)] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->pause_timer_.cancel();
      done();
    });
  }
  void closeNow() {
    beast::error_code ec;
    acceptor_.close(ec);
    pause_timer_.cancel();
  }

 private:
  void onAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      if (ec == net::error::connection_aborted) return accept();  // the peer gave up while queued
      return pause(ec);
    }
    if (paused_) {
      spdlog::info("http: accepting connections again after {} failed attempts", failed_attempts_);
      paused_ = false;
      failed_attempts_ = 0;
    }
    admit(std::move(socket));
    accept();
  }

  void admit(tcp::socket socket) {
    beast::error_code addr_ec;
    const tcp::endpoint remote = socket.remote_endpoint(addr_ec);
    if (addr_ec) return;  // already gone
    const std::string key = connectionLimitKey(remote.address());
    if (!shared_->admit(key)) {
      ++shared_->refused;
      // Refusing takes a descriptor for a moment too: past a small number at once, just close.
      // On a TLS port a plaintext 503 would be noise to the client: close there too.
      if (shared_->refusing.load() >= kMaxRefusing || shared_->options.tls) return;
      const bool total = [&] {
        std::lock_guard lock(shared_->mutex);
        return shared_->options.max_connections > 0 && shared_->connections >= shared_->options.max_connections;
      }();
      Response res =
          shared_->ownResponse(503, codes::kTooManyConnections,
                               total ? "the server has too many open connections; try again shortly"
                                     : "too many open connections from your address; close some and try again",
                               Request{});
      std::make_shared<Refusal>(std::move(socket), shared_, std::move(res))->run();
      return;
    }
    beast::error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);
    std::string remote_text = remote.address().is_v6() && remote.address().to_v6().is_v4_mapped()
                                  ? net::ip::make_address_v4(net::ip::v4_mapped, remote.address().to_v6()).to_string()
                                  : remote.address().to_string();
    if (shared_->options.tls) {
      std::make_shared<TlsDetector>(std::move(socket), shared_, ConnectionSlot(shared_, key), std::move(remote_text))
          ->run();
      return;
    }
    std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), shared_,
                                                 ConnectionSlot(shared_, key), std::move(remote_text))
        ->run();
  }

  // Out of descriptors (or memory): retrying at once would fail again and spin a core, so wait.
  // One log line when a pause starts, one when accepting works again.
  void pause(const beast::error_code& ec) {
    ++failed_attempts_;
    if (!paused_) {
      paused_ = true;
      ++shared_->accept_pauses;
      size_t open = 0;
      {
        std::lock_guard lock(shared_->mutex);
        open = shared_->connections;
      }
      spdlog::warn("http: cannot accept connections: {} ({} open); retrying every {} ms until it clears", ec.message(),
                   open, shared_->options.accept_pause.count());
      if (!isResourceExhaustion(ec)) spdlog::debug("http: accept error {}", ec.value());
    }
    pause_timer_.expires_after(shared_->options.accept_pause);
    pause_timer_.async_wait([self = shared_from_this()](beast::error_code timer_ec) {
      if (timer_ec || !self->acceptor_.is_open()) return;
      self->accept();
    });
  }

  static constexpr size_t kMaxRefusing = 64;

  std::vector<std::unique_ptr<net::io_context>>& iocs_;
  tcp::acceptor acceptor_;
  net::steady_timer pause_timer_;
  std::shared_ptr<Shared> shared_;
  size_t next_ = 0;
  bool paused_ = false;
  uint64_t failed_attempts_ = 0;
};

Server::Server(ServerOptions options, Handler handler)
    : shared_(std::make_shared<Shared>(std::move(options), std::move(handler))) {
  for (int i = 0; i < std::max(1, shared_->options.threads); ++i) {
    iocs_.push_back(std::make_unique<net::io_context>(1));
  }
}

Server::~Server() { stop(); }

void Server::bind() {
  if (listener_) return;
  const ServerOptions& options = shared_->options;
  beast::error_code ec;
  auto address = net::ip::make_address(options.address, ec);
  if (ec) throw std::runtime_error("invalid listen address " + options.address);
  listener_ = std::make_shared<Listener>(iocs_, shared_);
  if (auto open_ec = listener_->open(tcp::endpoint(address, options.port))) {
    listener_.reset();
    throw std::runtime_error("cannot listen on " + options.address + ":" + std::to_string(options.port) + ": " +
                             open_ec.message());
  }
  bound_port_ = listener_->port();
}

void Server::start() {
  bind();
  listener_->accept();
  for (auto& ioc : iocs_) {
    work_.push_back(net::make_work_guard(*ioc));
    threads_.emplace_back([&ioc = *ioc] { runLoopSurvivingErrors(ioc, "http server thread"); });
  }
}

void Server::closeListener() {
  if (!listener_) return;
  if (threads_.empty()) {
    listener_->closeNow();
  } else {
    // The listening socket closes before the loops stop, so no client is left in its backlog.
    std::promise<void> closed;
    auto future = closed.get_future();
    listener_->close([&closed] { closed.set_value(); });
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      spdlog::warn("http: the listener did not close in time");
    }
  }
  listener_.reset();
}

bool Server::drain(std::chrono::steady_clock::time_point deadline) {
  closeListener();
  shared_->draining = true;
  while (shared_->in_flight.load() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

size_t Server::inFlight() const { return shared_->in_flight.load(); }

void Server::stop() {
  closeListener();
  if (threads_.empty()) return;
  work_.clear();
  for (auto& ioc : iocs_) ioc->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

Server::Stats Server::stats() const {
  Stats s;
  {
    std::lock_guard lock(shared_->mutex);
    s.connections = shared_->connections;
  }
  s.refused = shared_->refused.load();
  s.accept_pauses = shared_->accept_pauses.load();
  return s;
}

std::pair<std::string, uint16_t> parseListenAddress(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    throw std::invalid_argument("expected HOST:PORT");
  }
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') throw std::invalid_argument("port is not a number");
    port = port * 10 + static_cast<unsigned>(c - '0');
    if (port > 65535) throw std::invalid_argument("port is above 65535");
  }
  return {host, static_cast<uint16_t>(port)};
}

uint64_t raiseFileDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(limit.rlim_cur);
}

}  // namespace liveroom::http

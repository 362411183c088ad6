// Boost.Beast implementation of the test HTTP server (see fake_http_server.hpp).
// Async on one io_context thread, so a delayed reply never blocks other connections and
// the destructor can stop everything without racing blocking calls.
#include <utility>  // before Asio/Beast: Boost 1.74 with C++20 needs it

#include "support/fake_http_server.hpp"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace liveroom::test_support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::optional<std::string> RecordedRequest::header(std::string_view name) const {
  const std::string wanted = lower(name);
  for (const auto& [key, value] : headers) {
    if (lower(key) == wanted) return value;
  }
  return std::nullopt;
}

struct FakeHttpServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;  // cached: the acceptor belongs to the io thread once it runs
  std::thread thread;
  mutable std::mutex mutex;
  Handler handler;
  std::vector<RecordedRequest> recorded;

  FakeResponse answer(const RecordedRequest& request) {
    Handler h;
    {
      std::lock_guard lock(mutex);
      recorded.push_back(request);
      h = handler;
    }
    if (!h) return FakeResponse{};
    try {
      return h(request);
    } catch (const std::exception& e) {
      return FakeResponse{500, {}, std::string("fake server handler threw: ") + e.what(), {}};
    }
  }

  void accept();
};

namespace {

// One connection: read a request, answer (maybe after a delay), repeat while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::function<FakeResponse(const RecordedRequest&)> answer)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), answer_(std::move(answer)) {}

  void read() {
    request_ = {};
    bhttp::async_read(socket_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;  // client closed or sent garbage: drop the connection
      self->handle();
    });
  }

 private:
  void handle() {
    RecordedRequest recorded;
    recorded.method = std::string(request_.method_string());
    recorded.target = std::string(request_.target());
    for (const auto& field : request_) {
      const auto name = field.name_string();  // boost::string_view in Boost 1.74
      recorded.headers.emplace_back(lower(std::string_view(name.data(), name.size())), std::string(field.value()));
    }
    recorded.body = request_.body();
    FakeResponse reply = answer_(recorded);

    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(reply.status));
    for (const auto& [name, value] : reply.headers) response_.insert(name, value);
    response_.body() = std::move(reply.body);
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();

    if (reply.delay > std::chrono::milliseconds::zero()) {
      timer_.expires_after(reply.delay);
      timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->write();
      });
    } else {
      write();
    }
  }

  void write() {
    bhttp::async_write(socket_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (self->response_.keep_alive()) {
        self->read();
      } else {
        beast::error_code ignored;
        self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
      }
    });
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::function<FakeResponse(const RecordedRequest&)> answer_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> request_;
  bhttp::response<bhttp::string_body> response_;
};

}  // namespace

void FakeHttpServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // acceptor closed: shutting down
    std::make_shared<Session>(std::move(socket), [this](const RecordedRequest& r) { return answer(r); })->read();
    accept();
  });
}

FakeHttpServer::FakeHttpServer(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

FakeHttpServer::~FakeHttpServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  // Pending sessions (e.g. a reply still delayed) are destroyed with the io_context.
}

void FakeHttpServer::setHandler(Handler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->handler = std::move(handler);
}

std::uint16_t FakeHttpServer::port() const { return impl_->port; }

std::string FakeHttpServer::baseUrl() const { return "http://127.0.0.1:" + std::to_string(port()); }

std::vector<RecordedRequest> FakeHttpServer::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->recorded;
}

std::size_t FakeHttpServer::requestCount() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->recorded.size();
}

void FakeHttpServer::clearRequests() {
  std::lock_guard lock(impl_->mutex);
  impl_->recorded.clear();
}

}  // namespace liveroom::test_support

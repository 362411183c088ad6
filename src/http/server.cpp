// Beast HTTP server: one Listener accepting, one Session per connection owning its
// socket and buffer (enable_shared_from_this), limits and timeouts per session. Each
// session lives on one io_context run by one thread, so it needs no strand.
#include "http/server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace liveroom::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, const ServerOptions& options, const Handler& handler)
      : stream_(std::move(socket)), options_(options), handler_(handler) {}

  void run() { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::read, shared_from_this())); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(options_.body_limit);
    parser_->header_limit(static_cast<uint32_t>(options_.header_limit));
    stream_.expires_after(options_.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::onRead, shared_from_this()));
  }

  void onRead(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof) return close();
    if (ec == bhttp::error::body_limit) {
      return sendOwn(413, "payload_too_large",
                     "request body is larger than " + std::to_string(options_.body_limit / 1024) + " KiB");
    }
    if (ec == bhttp::error::header_limit) return sendOwn(431, "headers_too_large", "request headers are too large");
    if (ec == beast::error::timeout) return close();
    if (ec) {
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
        return sendOwn(400, "bad_request", "malformed HTTP request");
      }
      return close();  // connection reset and the like
    }

    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    head_request_ = msg.method() == bhttp::verb::head;
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.headers.reserve(8);
    for (const auto& field : msg) {
      auto name = field.name_string();
      req.headers.emplace_back(lowercase(std::string_view(name.data(), name.size())), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    // The responder may run on any thread: dispatch runs the write at once when called
    // on this connection's own thread (an inline answer), and queues it there otherwise.
    auto self = shared_from_this();
    handler_(std::move(req), [self](Response res) {
      net::dispatch(self->stream_.get_executor(),
                    [self, res = std::move(res)]() mutable { self->write(std::move(res)); });
    });
  }

  void sendOwn(int status, std::string_view code, std::string_view message) {
    keep_alive_ = false;  // the rest of the stream cannot be trusted
    head_request_ = false;
    Response res;
    if (options_.error_response) {
      res = options_.error_response(status, code, message);
    } else {
      res.status = status;
      res.body = std::string(message);
    }
    if (options_.decorate_own_response) {
      Request partial;
      if (parser_) {  // whatever was parsed (a body over the limit: all the headers)
        const auto& msg = parser_->get();
        partial.method = std::string(msg.method_string());
        partial.target = std::string(msg.target());
        partial.path = partial.target.substr(0, partial.target.find('?'));
        for (const auto& field : msg) {
          auto name = field.name_string();
          partial.headers.emplace_back(lowercase(std::string_view(name.data(), name.size())),
                                       std::string(field.value()));
        }
      }
      options_.decorate_own_response(partial, res);
    }
    write(std::move(res));
  }

  void write(Response res) {
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>();
    msg->result(static_cast<unsigned>(res.status));
    msg->version(11);
    for (auto& [name, value] : res.headers) msg->insert(name, value);
    msg->set(bhttp::field::server, "liveroom");
    msg->body() = std::move(res.body);
    msg->keep_alive(keep_alive_);
    msg->prepare_payload();
    if (head_request_) msg->body().clear();  // HEAD: the GET's headers (Content-Length too), no body
    response_ = msg;
    bhttp::async_write(stream_, *msg, beast::bind_front_handler(&Session::onWrite, shared_from_this()));
  }

  void onWrite(beast::error_code ec, std::size_t) {
    response_.reset();
    if (ec || !keep_alive_) return close();
    read();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const ServerOptions& options_;
  const Handler& handler_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<void> response_;
  bool keep_alive_ = false;
  bool head_request_ = false;
};

}  // namespace

class Server::Listener : public std::enable_shared_from_this<Server::Listener> {
 public:
  Listener(std::vector<std::unique_ptr<net::io_context>>& iocs, const ServerOptions& options, const Handler& handler)
      : iocs_(iocs), acceptor_(*iocs.front()), options_(options), handler_(handler) {}

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

  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  void onAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      beast::error_code nodelay_ec;
      socket.set_option(tcp::no_delay(true), nodelay_ec);
      std::make_shared<Session>(std::move(socket), options_, handler_)->run();
    } else {
      spdlog::warn("http: accept failed: {}", ec.message());
    }
    if (acceptor_.is_open()) accept();
  }

  std::vector<std::unique_ptr<net::io_context>>& iocs_;
  tcp::acceptor acceptor_;
  const ServerOptions& options_;
  const Handler& handler_;
  size_t next_ = 0;
};

Server::Server(ServerOptions options, Handler handler) : options_(std::move(options)), handler_(std::move(handler)) {
  for (int i = 0; i < std::max(1, options_.threads); ++i) iocs_.push_back(std::make_unique<net::io_context>(1));
}

Server::~Server() { stop(); }

void Server::start() {
  beast::error_code ec;
  auto address = net::ip::make_address(options_.address, ec);
  if (ec) throw std::runtime_error("invalid listen address " + options_.address);
  listener_ = std::make_shared<Listener>(iocs_, options_, handler_);
  if (auto open_ec = listener_->open(tcp::endpoint(address, options_.port))) {
    listener_.reset();
    throw std::runtime_error("cannot listen on " + options_.address + ":" + std::to_string(options_.port) + ": " +
                             open_ec.message());
  }
  bound_port_ = listener_->port();
  listener_->accept();
  for (auto& ioc : iocs_) {
    work_.push_back(net::make_work_guard(*ioc));
    threads_.emplace_back([&ioc = *ioc] { ioc.run(); });
  }
}

void Server::stop() {
  if (threads_.empty()) return;
  if (listener_) listener_->close();
  work_.clear();
  for (auto& ioc : iocs_) ioc->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
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

}  // namespace liveroom::http

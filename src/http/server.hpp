// HTTP/1.1 server over Boost.Beast: accepts, parses with limits and timeouts, keeps
// connections alive, and hands each request to one Handler. Knows nothing of routes.
// Every resource a client can make it hold is bounded: connections in total and per address,
// the read buffer (header, body and chunk framing), the time to send a request and to take a
// reply. At the file-descriptor limit it pauses accepting instead of spinning.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "http/client_address.hpp"
#include "http/message.hpp"
#include "http/request_reader.hpp"

namespace liveroom::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see Server::port())
  int threads = 2;
  size_t body_limit = 64 * 1024;
  size_t header_limit = 16 * 1024;
  std::chrono::seconds read_timeout{30};   // a whole request, and idle keep-alive
  std::chrono::seconds write_timeout{30};  // a whole reply (slow readers)
  // Open connections at once, in total and from one address (an IPv6 /64 counts as one
  // address). Over either, the connection gets a 503 and is closed. 0: no limit.
  size_t max_connections = 1024;
  size_t max_connections_per_address = 128;
  // After an accept error that means "out of descriptors or memory" (EMFILE, ENFILE, ENOBUFS,
  // ENOMEM): wait this long before accepting again, logging once per pause.
  std::chrono::milliseconds accept_pause{250};
  // Peers whose X-Forwarded-For names the client (a reverse proxy in front): Request::
  // remote_address, which the per-address limits of the API and media count, is then the client.
  TrustedProxies trusted_proxies;
  // HTTPS on the same port when set (a client speaking plain HTTP there is redirected to https).
  std::shared_ptr<boost::asio::ssl::context> tls;
  // Builds the reply the server sends on its own (413, 400 on unparsable requests, 500 for a
  // handler that threw or never answered), so the error body format stays the API's business.
  std::function<Response(int status, std::string_view code, std::string_view message)> error_response;
  // Adds headers to those replies (CORS, so a browser can read a 413 too). `partial` has the
  // method, path and headers when they were parsed (a 413 for a body over the limit), else
  // is empty.
  std::function<void(const Request& partial, Response& res)> decorate_own_response;
  // Told of each reply to a request the handler took, as it is handed to the connection (from
  // the thread that answered): the request's method and path (`head` has no body), the status,
  // and the time since the request was read. For metrics; must be cheap and thread-safe.
  std::function<void(const Request& head, int status, std::chrono::steady_clock::duration took)> on_reply;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (connections wait in the backlog until start()), so port() is known
  // before the rest of the program is built; throws std::runtime_error naming the address when
  // it cannot. Once.
  void bind();
  // Accepts and serves, binding first if bind() was not called.
  void start();
  // Graceful stop, first half: stops accepting (the listening socket is closed before this
  // returns), and waits until every request already read has its reply written, or `deadline`.
  // Meanwhile each reply closes its connection ("Connection: close"); idle keep-alive
  // connections stay until stop(). True when nothing was left in flight.
  bool drain(std::chrono::steady_clock::time_point deadline);
  // Requests read whose replies are not yet written.
  size_t inFlight() const;
  // Stops accepting (if drain did not), closes connections, joins the threads.
  void stop();
  uint16_t port() const { return bound_port_; }

  struct Stats {
    size_t connections = 0;      // open now
    uint64_t refused = 0;        // over a connection limit, since start
    uint64_t accept_pauses = 0;  // times accepting paused on EMFILE and the like
  };
  Stats stats() const;

  // What every session shares with the server (refcounted: a responder may outlive the server).
  struct Shared;

 private:
  class Listener;
  void closeListener();
  std::shared_ptr<Shared> shared_;
  // One io_context per thread, each run by exactly one thread (as nginx runs one worker
  // per core): connections are spread over them, and no scheduler lock is shared.
  std::vector<std::unique_ptr<boost::asio::io_context>> iocs_;
  // Keeps each io_context running while it has no connection yet.
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::shared_ptr<Listener> listener_;
  std::vector<std::thread> threads_;
  uint16_t bound_port_ = 0;
};

// Splits "host:port" ("[::1]:8080" for IPv6). Throws std::invalid_argument when malformed.
std::pair<std::string, uint16_t> parseListenAddress(std::string_view text);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
uint64_t raiseFileDescriptorLimit();

}  // namespace liveroom::http

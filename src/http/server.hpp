// HTTP/1.1 server over Boost.Beast: accepts, parses with limits and timeouts, keeps
// connections alive, and hands each request to one Handler. Knows nothing of routes.
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

#include "http/message.hpp"

namespace liveroom::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see Server::port())
  int threads = 2;
  size_t body_limit = 64 * 1024;
  size_t header_limit = 16 * 1024;
  std::chrono::seconds read_timeout{30};  // idle keep-alive and slow senders
  // Builds the reply the server sends on its own (413, 400 on unparsable requests), so
  // the error body format stays the API's business.
  std::function<Response(int status, std::string_view code, std::string_view message)> error_response;
  // Adds headers to those replies (CORS, so a browser can read a 413 too). `partial` has the
  // method, path and headers when they were parsed (a 413 for a body over the limit), else
  // is empty.
  std::function<void(const Request& partial, Response& res)> decorate_own_response;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; throws std::runtime_error naming the address when it cannot.
  void start();
  // Stops accepting, closes connections, joins the threads.
  void stop();
  uint16_t port() const { return bound_port_; }

 private:
  class Listener;
  ServerOptions options_;
  Handler handler_;
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

}  // namespace liveroom::http

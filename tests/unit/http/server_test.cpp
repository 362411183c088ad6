// The HTTP server through real sockets on loopback: limits and refusals a client sees (connection
// limits per address and in total, a trailer flood), handler failures (a throw, a forgotten or
// doubled answer), interim 100 Continue, shared and streamed bodies, HEAD, the write deadline.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace liveroom::http {
namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    options.port = 0;
    options.threads = 2;
    server_ = std::make_unique<Server>(
        std::move(options), [this](Request&& req, Responder respond) { handle(std::move(req), std::move(respond)); });
    server_->start();
  }
  void TearDown() override {
    // Answering threads hold responders (and through them sessions): done before the server goes.
    for (std::thread& t : answering_) t.join();
    {
      std::lock_guard lock(answering_mutex_);
      held_.clear();
    }
    if (server_) server_->stop();
  }

  // The default handler: echo the path, remote address and body.
  virtual void handle(Request&& req, Responder respond) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    if (req.path == "/forget") return;  // never answers
    if (req.path == "/twice") {
      Response a;
      a.body = "first";
      respond(a);
      Response b;
      b.body = "second";
      respond(b);
      return;
    }
    if (req.path == "/hold") {  // answered by the test (held_)
      std::lock_guard lock(answering_mutex_);
      held_.push_back(respond);
      return;
    }
    if (req.path == "/later") {
      std::lock_guard lock(answering_mutex_);
      answering_.emplace_back([respond] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        Response res;
        res.body = "later";
        respond(std::move(res));
      });
      return;
    }
    if (req.path == "/shared") {
      Response res;
      res.shared_body = shared_;
      return respond(std::move(res));
    }
    if (req.path == "/file") {
      Response res;
      res.file = FileBody{file_.string(), std::filesystem::file_size(file_)};
      return respond(std::move(res));
    }
    if (req.path == "/stream") {
      Response res;
      res.set("Content-Type", "text/event-stream");
      res.stream = [this](std::shared_ptr<StreamSink> sink) {
        sink->push("event: hello\n\n");
        std::lock_guard lock(sinks_mutex_);
        sinks_.push_back(sink);
      };
      return respond(std::move(res));
    }
    if (req.path == "/big") {
      Response res;
      res.shared_body = std::make_shared<const std::string>(64 << 20, 'z');
      return respond(std::move(res));
    }
    Response res;
    res.body = req.path + "|" + req.remote_address + "|" + req.body;
    respond(std::move(res));
  }

  tcp::socket connect(const char* from = "127.0.0.1") {
    tcp::socket s(ioc_);
    s.open(tcp::v4());
    s.bind(tcp::endpoint(net::ip::make_address(from), 0));
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    return s;
  }

  // One request on `s`, its response (throws on a closed connection).
  bhttp::response<bhttp::string_body> exchange(tcp::socket& s, const std::string& raw) {
    net::write(s, net::buffer(raw));
    return readResponse(s);
  }
  bhttp::response<bhttp::string_body> readResponse(tcp::socket& s) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256 << 20);
    bhttp::read(s, buffer_, parser);
    return parser.release();
  }
  static std::string get(const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n"; }

  net::io_context ioc_;
  boost::beast::flat_buffer buffer_;
  std::unique_ptr<Server> server_;
  std::mutex answering_mutex_;
  std::vector<std::thread> answering_;  // /later answers from these
  std::vector<Responder> held_;         // /hold waits here
  std::shared_ptr<const std::string> shared_ = std::make_shared<const std::string>("shared bytes");
  std::mutex sinks_mutex_;
  std::vector<std::shared_ptr<StreamSink>> sinks_;
  std::shared_ptr<StreamSink> waitForSink(size_t index) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(sinks_mutex_);
        if (sinks_.size() > index) return sinks_[index];
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return nullptr;
  }
  std::filesystem::path file_;
};

TEST_F(ServerTest, AnswersWithTheRemoteAddress) {
  start();
  auto s = connect("127.0.0.2");
  auto res = exchange(s, "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "/p|127.0.0.2|abc");
}

TEST_F(ServerTest, BoundBeforeStartTheClientWaitsInTheBacklogAndIsThenAnswered) {
  ServerOptions options;
  options.port = 0;
  server_ = std::make_unique<Server>(
      std::move(options), [this](Request&& req, Responder respond) { handle(std::move(req), std::move(respond)); });
  server_->bind();
  ASSERT_NE(server_->port(), 0) << "the port is known before anything is served";
  auto s = connect();  // in the backlog: nobody accepts yet
  net::write(s, net::buffer(get("/early")));
  server_->start();
  auto res = readResponse(s);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "/early|127.0.0.1|");
}

TEST_F(ServerTest, AHandlerThatThrowsAnswers500AndTheServerGoesOn) {
  ServerOptions options;
  options.error_response = [](int status, std::string_view code, std::string_view) {
    Response r;
    r.status = status;
    r.body = std::string(code);
    return r;
  };
  start(options);
  auto s = connect();
  auto res = exchange(s, get("/throw"));
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(res.body(), "internal_error");
  EXPECT_EQ(exchange(s, get("/ok")).result_int(), 200);  // same keep-alive connection still works
}

TEST_F(ServerTest, AForgottenAnswerIs500AndASecondAnswerIsDropped) {
  start();
  auto s = connect();
  EXPECT_EQ(exchange(s, get("/forget")).result_int(), 500);
  auto twice = exchange(s, get("/twice"));
  EXPECT_EQ(twice.body(), "first");
  auto next = exchange(s, get("/after"));  // "second" never shows up as a stray reply
  EXPECT_EQ(next.body(), "/after|127.0.0.1|");
  EXPECT_EQ(exchange(s, get("/later")).body(), "later");  // answered from another thread
}

TEST_F(ServerTest, EachReplyIsReportedOnceWithItsRequestsMethodPathAndStatus) {
  struct Seen {
    std::string method, path;
    int status;
    std::chrono::steady_clock::duration took;
  };
  std::mutex mutex;
  std::vector<Seen> seen;
  ServerOptions options;
  options.on_reply = [&](const Request& head, int status, std::chrono::steady_clock::duration took) {
    std::lock_guard lock(mutex);
    seen.push_back({head.method, head.path, status, took});
  };
  start(options);
  auto s = connect();
  EXPECT_EQ(exchange(s, get("/ok")).result_int(), 200);
  EXPECT_EQ(exchange(s, get("/throw")).result_int(), 500);
  EXPECT_EQ(exchange(s, get("/forget")).result_int(), 500);
  EXPECT_EQ(exchange(s, get("/twice")).body(), "first");
  EXPECT_EQ(exchange(s, "POST /later HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n").body(), "later");
  std::lock_guard lock(mutex);
  ASSERT_EQ(seen.size(), 5u);  // the dropped second answer of /twice is not a reply
  EXPECT_EQ(seen[0].path, "/ok");
  EXPECT_EQ(seen[0].status, 200);
  EXPECT_EQ(seen[1].path, "/throw");
  EXPECT_EQ(seen[1].status, 500);
  EXPECT_EQ(seen[2].path, "/forget");
  EXPECT_EQ(seen[2].status, 500);
  EXPECT_EQ(seen[3].path, "/twice");
  EXPECT_EQ(seen[4].method, "POST");
  EXPECT_EQ(seen[4].path, "/later");
  EXPECT_GE(seen[4].took, std::chrono::milliseconds(50));  // answered 50 ms later, from another thread
}

TEST_F(ServerTest, DrainStopsAcceptingAndWaitsForTheRepliesInFlight) {
  start();
  auto idle = connect();
  EXPECT_EQ(exchange(idle, get("/before")).result_int(), 200);  // kept alive, then idle
  auto busy = connect();
  net::write(busy, net::buffer(get("/hold")));
  auto waiting = [&] {
    std::lock_guard lock(answering_mutex_);
    return held_.size();
  };
  for (int i = 0; i < 500 && waiting() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(waiting(), 1u);
  EXPECT_EQ(server_->inFlight(), 1u);

  // Not answered within the deadline: drain says so, and stops accepting all the same.
  EXPECT_FALSE(server_->drain(std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
  EXPECT_THROW(connect(), boost::system::system_error);

  // An idle keep-alive connection may still send a request while the stop waits: it is answered,
  // with Connection: close.
  auto during = exchange(idle, get("/during"));
  EXPECT_EQ(during.result_int(), 200);
  EXPECT_FALSE(during.keep_alive());

  std::thread answer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard lock(answering_mutex_);
    Response res;
    res.body = "held reply";
    held_.front()(std::move(res));
  });
  EXPECT_TRUE(server_->drain(std::chrono::steady_clock::now() + std::chrono::seconds(10)));
  answer.join();
  EXPECT_EQ(server_->inFlight(), 0u);
  auto held = readResponse(busy);
  EXPECT_EQ(held.body(), "held reply");  // the reply is written in full before drain returns
  EXPECT_FALSE(held.keep_alive());
}

TEST_F(ServerTest, PerAddressLimitRefusesWith503AndFreesTheSlotOnClose) {
  ServerOptions options;
  options.max_connections_per_address = 2;
  start(options);
  auto a = connect();
  auto b = connect();
  EXPECT_EQ(exchange(a, get("/a")).result_int(), 200);
  EXPECT_EQ(exchange(b, get("/b")).result_int(), 200);
  auto c = connect();
  auto refused = readResponse(c);  // sent without waiting for a request
  EXPECT_EQ(refused.result_int(), 503);
  EXPECT_EQ(refused[bhttp::field::retry_after], "1");
  EXPECT_FALSE(refused.keep_alive());
  auto other = connect("127.0.0.3");  // another address is not affected
  EXPECT_EQ(exchange(other, get("/o")).result_int(), 200);

  a.close();
  for (int i = 0; i < 100 && server_->stats().connections > 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto d = connect();
  EXPECT_EQ(exchange(d, get("/d")).result_int(), 200);
  EXPECT_GE(server_->stats().refused, 1u);
}

TEST_F(ServerTest, TotalLimitRefusesEveryAddress) {
  ServerOptions options;
  options.max_connections = 1;
  options.max_connections_per_address = 1;
  start(options);
  auto a = connect();
  EXPECT_EQ(exchange(a, get("/a")).result_int(), 200);
  auto b = connect("127.0.0.4");
  EXPECT_EQ(readResponse(b).result_int(), 503);
}

TEST_F(ServerTest, ATrailerFloodIsRefusedAndMemoryStaysBounded) {
  start();
  auto s = connect();
  const std::string head = "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n";
  net::write(s, net::buffer(head));
  // Trailer fields until the server gives up: it must answer and close long before 64 MiB.
  const std::string field = "X-Trailer: " + std::string(1000, 't') + "\r\n";
  size_t sent = 0;
  boost::system::error_code ec;
  while (sent < (64u << 20)) {
    net::write(s, net::buffer(field), ec);
    if (ec) break;
    sent += field.size();
  }
  // Either the write failed (the server closed after answering) or we read the refusal now.
  if (!ec) {
    auto res = readResponse(s);
    EXPECT_TRUE(res.result_int() == 413 || res.result_int() == 431) << res.result_int();
  }
  EXPECT_LT(sent, 8u << 20) << "the server kept reading trailer bytes";
  // The server still serves.
  auto again = connect();
  EXPECT_EQ(exchange(again, get("/ok")).result_int(), 200);
}

TEST_F(ServerTest, ExpectContinueGetsAnInterimResponse) {
  start();
  auto s = connect();
  net::write(
      s, net::buffer(std::string("POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")));
  std::string interim(25, '\0');
  net::read(s, net::buffer(interim));
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  net::write(s, net::buffer(std::string("body")));
  EXPECT_EQ(readResponse(s).body(), "/e|127.0.0.1|body");
}

TEST_F(ServerTest, SharedAndFileBodiesAndHead) {
  file_ = std::filesystem::temp_directory_path() / ("liveroom_server_test_" + std::to_string(::getpid()));
  std::ofstream(file_, std::ios::binary) << std::string(100000, 'f');
  start();
  auto s = connect();
  EXPECT_EQ(exchange(s, get("/shared")).body(), "shared bytes");
  auto file = exchange(s, get("/file"));
  EXPECT_EQ(file.body(), std::string(100000, 'f'));
  net::write(s, net::buffer(std::string("HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n")));
  bhttp::response_parser<bhttp::empty_body> head;
  head.skip(true);  // a HEAD reply has a Content-Length but no body
  bhttp::read(s, buffer_, head);
  EXPECT_EQ(head.get()[bhttp::field::content_length], "100000");
  EXPECT_EQ(exchange(s, get("/after-head")).result_int(), 200);
  std::filesystem::remove(file_);
}

TEST_F(ServerTest, AReaderThatStopsReadingIsCutOffAtTheWriteDeadline) {
  ServerOptions options;
  options.write_timeout = std::chrono::seconds(1);
  start(options);
  auto s = connect();
  // Not reading: the kernel's buffers (a few MB on loopback) fill, then the server's write waits.
  net::write(s, net::buffer(get("/big")));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the deadline passes meanwhile
  size_t received = 0;
  std::array<char, 65536> chunk{};
  boost::system::error_code ec;
  while (!ec) received += s.read_some(net::buffer(chunk), ec);
  EXPECT_LT(received, size_t{64} << 20) << "the whole 64 MiB arrived: no write deadline";
  EXPECT_EQ(server_->stats().connections, 0u);
}

TEST_F(ServerTest, AStreamedReplySendsWhatIsPushedUntilClosed) {
  start();
  auto s = connect();
  net::write(s, net::buffer(get("/stream")));
  auto sink = waitForSink(0);
  ASSERT_TRUE(sink);
  EXPECT_TRUE(sink->push("event: two\n\n"));
  sink->close();
  EXPECT_FALSE(sink->push("late"));
  std::string all;
  std::array<char, 4096> chunk{};
  boost::system::error_code ec;
  while (!ec) all.append(chunk.data(), s.read_some(net::buffer(chunk), ec));
  EXPECT_NE(all.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(all.find("text/event-stream"), std::string::npos);
  EXPECT_EQ(all.find("Content-Length"), std::string::npos);  // the body ends with the connection
  EXPECT_NE(all.find("event: hello\n\nevent: two\n\n"), std::string::npos) << all;
  EXPECT_EQ(all.find("late"), std::string::npos);
}

TEST_F(ServerTest, AStreamsClientThatHangsUpClosesTheSink) {
  start();
  {
    auto s = connect();
    net::write(s, net::buffer(get("/stream")));
    ASSERT_TRUE(waitForSink(0));
  }  // the client goes
  auto sink = waitForSink(0);
  for (int i = 0; i < 300 && !sink->closed(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(sink->closed());
  EXPECT_FALSE(sink->push("anyone?"));
}

TEST_F(ServerTest, AStreamsClientThatNeverReadsIsDroppedNotBufferedFor) {
  start();
  auto s = connect();
  s.set_option(net::socket_base::receive_buffer_size(4096));
  net::write(s, net::buffer(get("/stream")));
  auto sink = waitForSink(0);
  ASSERT_TRUE(sink);
  const std::string event = "data: " + std::string(1000, 'x') + "\n\n";
  size_t accepted = 0;
  for (int i = 0; i < 100000 && sink->push(event); ++i) accepted += event.size();
  EXPECT_TRUE(sink->closed());
  EXPECT_LT(accepted, size_t{64} << 20) << "the server queued without bound for a client that does not read";
}

TEST(TrustedProxies, TheClientIsTheFirstHopFromTheRightThatIsNotAProxy) {
  const TrustedProxies proxies({"127.0.0.1", "10.0.0.0/8", "fd00::/8"});
  const auto proxy = net::ip::make_address("127.0.0.1");
  EXPECT_EQ(proxies.clientAddress(proxy, "203.0.113.7"), "203.0.113.7");
  // A client may send its own X-Forwarded-For: only what our proxies appended counts.
  EXPECT_EQ(proxies.clientAddress(proxy, "1.1.1.1, 203.0.113.7, 10.1.2.3"), "203.0.113.7");
  EXPECT_EQ(proxies.clientAddress(proxy, " 2001:db8::5 "), "2001:db8::5");
  EXPECT_EQ(proxies.clientAddress(proxy, "10.0.0.9, fd00::1"), "127.0.0.1");  // all ours: the peer
  EXPECT_EQ(proxies.clientAddress(proxy, "garbage"), "127.0.0.1");
  EXPECT_EQ(proxies.clientAddress(proxy, ""), "127.0.0.1");
  // A peer that is not a trusted proxy cannot claim to be anyone else.
  EXPECT_EQ(proxies.clientAddress(net::ip::make_address("198.51.100.9"), "203.0.113.7"), "198.51.100.9");
  EXPECT_TRUE(TrustedProxies().empty());
  EXPECT_THROW(TrustedProxies({"not-an-ip"}), std::invalid_argument);
  EXPECT_THROW(TrustedProxies({"10.0.0.0/33"}), std::invalid_argument);
}

TEST_F(ServerTest, BehindATrustedProxyTheForwardedClientIsTheRemoteAddress) {
  ServerOptions options;
  options.trusted_proxies = TrustedProxies({"127.0.0.2"});
  start(options);
  auto via_proxy = connect("127.0.0.2");
  auto res = exchange(via_proxy, "GET /p HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n");
  EXPECT_EQ(res.body(), "/p|203.0.113.7|");
  auto direct = connect("127.0.0.3");  // not a proxy: its header is not believed
  res = exchange(direct, "GET /p HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n");
  EXPECT_EQ(res.body(), "/p|127.0.0.3|");
}

TEST(ConnectionLimitKey, Ipv6CountsPerSlash64) {
  EXPECT_EQ(connectionLimitKey("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(connectionLimitKey("2001:db8:1:2:aaaa::1"), connectionLimitKey("2001:db8:1:2:bbbb::9"));
  EXPECT_NE(connectionLimitKey("2001:db8:1:2::1"), connectionLimitKey("2001:db8:1:3::1"));
  EXPECT_EQ(connectionLimitKey("::ffff:10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(connectionLimitKey(""), "");
}

}  // namespace
}  // namespace liveroom::http

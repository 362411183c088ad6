// CurlHttpClient against a real local HTTP server: what goes out, what comes back, and
// how "no HTTP answer" surfaces (TransportError, timedOut for timeouts).
#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "http/curl_http_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>

#include "support/fake_http_server.hpp"

namespace liveroom::http {
namespace {

using test_support::FakeHttpServer;
using test_support::FakeResponse;
using test_support::RecordedRequest;
using namespace std::chrono_literals;

TEST(CurlHttpClient, ReturnsStatusLowercasedHeadersAndBody) {
  FakeHttpServer server([](const RecordedRequest&) {
    return FakeResponse{201, {{"X-Custom-Thing", "  some value "}, {"Retry-After", "7"}}, "hello body", 0ms};
  });
  CurlHttpClient client;
  ClientRequest request;
  request.url = server.baseUrl() + "/path?q=1";
  ClientResponse response = client.send(request);

  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "hello body");
  EXPECT_EQ(response.header("x-custom-thing"), "some value");
  EXPECT_EQ(response.header("RETRY-AFTER"), "7");
  EXPECT_EQ(response.header("missing"), std::nullopt);
  for (const auto& [name, value] : response.headers) {
    for (char c : name) EXPECT_FALSE(std::isupper(static_cast<unsigned char>(c))) << name;
  }
}

TEST(CurlHttpClient, SendsMethodTargetHeadersAndBody) {
  FakeHttpServer server;
  CurlHttpClient client;
  ClientRequest request;
  request.method = "POST";
  request.url = server.baseUrl() + "/a/b?c=d";
  request.headers = {{"Authorization", "Bearer t0ken"}, {"Content-Type", "application/json"}};
  request.body = R"({"x":1})";
  EXPECT_EQ(client.send(request).status, 200);

  request.method = "DELETE";
  request.body.clear();
  EXPECT_EQ(client.send(request).status, 200);

  auto got = server.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/a/b?c=d");
  EXPECT_EQ(got[0].header("authorization"), "Bearer t0ken");
  EXPECT_EQ(got[0].header("content-type"), "application/json");
  EXPECT_EQ(got[0].body, R"({"x":1})");
  EXPECT_EQ(got[1].method, "DELETE");
  EXPECT_EQ(got[1].body, "");
}

TEST(CurlHttpClient, LargeBodyIsSentWithoutExpectContinue) {
  FakeHttpServer server;
  CurlHttpClient client;
  ClientRequest request;
  request.method = "POST";
  request.url = server.baseUrl() + "/big";
  request.body = std::string(100'000, 'x');
  EXPECT_EQ(client.send(request).status, 200);
  auto got = server.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body.size(), 100'000u);
  EXPECT_EQ(got[0].header("expect"), std::nullopt);
}

TEST(CurlHttpClient, DoesNotFollowRedirects) {
  FakeHttpServer server([](const RecordedRequest&) {
    return FakeResponse{302, {{"Location", "/elsewhere"}}, "", 0ms};
  });
  CurlHttpClient client;
  ClientRequest request;
  request.url = server.baseUrl() + "/start";
  ClientResponse response = client.send(request);
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(response.header("location"), "/elsewhere");
  EXPECT_EQ(server.requestCount(), 1u);
}

TEST(CurlHttpClient, SlowServerTimesOut) {
  FakeHttpServer server([](const RecordedRequest&) { return FakeResponse{200, {}, "late", 3000ms}; });
  CurlHttpClient client;
  ClientRequest request;
  request.url = server.baseUrl() + "/slow";
  request.total_timeout = 200ms;
  try {
    client.send(request);
    FAIL() << "expected TransportError";
  } catch (const TransportError& e) {
    EXPECT_TRUE(e.timedOut()) << e.what();
  }
}

TEST(CurlHttpClient, ConnectionRefusedIsTransportError) {
  // Grab a free port, then close it so nothing listens there.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();

  CurlHttpClient client;
  ClientRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/secret-path";
  try {
    client.send(request);
    FAIL() << "expected TransportError";
  } catch (const TransportError& e) {
    EXPECT_FALSE(e.timedOut());
    // Messages name the host, never the path (WHIP URLs carry secrets there).
    EXPECT_EQ(std::string(e.what()).find("secret-path"), std::string::npos) << e.what();
  }
}

TEST(CurlHttpClient, ResponseLargerThanLimitIsTransportError) {
  FakeHttpServer server([](const RecordedRequest&) { return FakeResponse{200, {}, std::string(10'000, 'y'), 0ms}; });
  CurlHttpClient client(CurlHttpClient::Options{.max_response_bytes = 1000});
  ClientRequest request;
  request.url = server.baseUrl() + "/huge";
  EXPECT_THROW(client.send(request), TransportError);
}

TEST(CurlHttpClient, RejectsHeaderInjection) {
  FakeHttpServer server;
  CurlHttpClient client;
  ClientRequest request;
  request.url = server.baseUrl() + "/";
  request.headers = {{"Authorization", "Bearer x\r\nX-Evil: 1"}};
  EXPECT_THROW(client.send(request), TransportError);
  EXPECT_EQ(server.requestCount(), 0u);
}

TEST(CurlHttpClient, LaterCallsReuseTheConnectionAndForgetTheEarlierCallsOptions) {
  FakeHttpServer server([](const RecordedRequest& r) { return FakeResponse{200, {}, r.method + " " + r.body, 0ms}; });
  CurlHttpClient client;
  ClientRequest post;
  post.method = "POST";
  post.url = server.baseUrl() + "/a";
  post.body = "first";
  post.headers = {{"X-Only-First", "1"}};
  ClientResponse first = client.send(post);
  EXPECT_FALSE(first.reused_connection);
  ClientRequest get;
  get.url = server.baseUrl() + "/b";
  ClientResponse second = client.send(get);
  EXPECT_TRUE(second.reused_connection);
  EXPECT_EQ(second.body, "GET ");  // neither the method nor the body of the call before
  EXPECT_EQ(server.requests().at(1).header("x-only-first"), std::nullopt);
  // A call that failed leaves a handle that still works.
  ClientRequest refused;
  refused.url = "http://127.0.0.1:1/x";
  EXPECT_THROW(client.send(refused), TransportError);
  EXPECT_EQ(client.send(get).status, 200);
}

TEST(CurlHttpClient, ConcurrentCallsEachGetAHandle) {
  FakeHttpServer server([](const RecordedRequest& r) { return FakeResponse{200, {}, r.target, 0ms}; });
  CurlHttpClient client(CurlHttpClient::Options{.max_idle_handles = 2});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        ClientRequest r;
        r.url = server.baseUrl() + "/t" + std::to_string(t) + "/" + std::to_string(i);
        if (client.send(r).body == "/t" + std::to_string(t) + "/" + std::to_string(i)) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 120);
}

}  // namespace
}  // namespace liveroom::http

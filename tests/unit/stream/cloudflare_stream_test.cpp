// CloudflareStream end to end over real HTTP (CurlHttpClient -> local fake server that
// answers with the Cloudflare fixtures): request shape, auth schemes, reply mapping,
// error codes and the retry policy. Waits go through a recording sleeper, so the tests
// neither sleep on Retry-After nor assert on wall time.
#include <utility>

#include "stream/cloudflare/cloudflare_stream.hpp"

#include <gtest/gtest.h>

#include "support/fixtures.hpp"
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/error.hpp"
#include "http/curl_http_client.hpp"
#include "support/fake_http_server.hpp"

namespace liveroom {
namespace {

using json = nlohmann::json;
using test_support::FakeHttpServer;
using test_support::FakeResponse;
using test_support::RecordedRequest;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr const char* kAccount = "023e105f4ecef8ad9ca31a8372d0c353";
constexpr const char* kUid = "9de18434b0ef65a93cac83ac4e76febb";
constexpr const char* kToken = "test-token-Y2xvdWRmbGFyZQ";
constexpr const char* kStreamKey = "3e15b77e5b1c4f3ea0d9a1c2b3e4f5a6k9de18434b0ef65a93cac83ac4e76febb";
constexpr const char* kWhipSecret = "4fdfce3b81d41eedc5e0fce9d08bab39k9de18434b0ef65a93cac83ac4e76febb";

std::string fixture(const std::string& name) { return test_support::readFixture("cloudflare/" + name); }

FakeResponse jsonReply(int status, const std::string& fixture_name, test_support::FakeHeaders extra = {}) {
  extra.emplace_back("Content-Type", "application/json");
  return FakeResponse{status, std::move(extra), fixture(fixture_name), 0ms};
}

// Answers from a script: reply i for request i, the last one for every request after.
FakeHttpServer::Handler script(std::vector<FakeResponse> replies) {
  auto count = std::make_shared<std::atomic<std::size_t>>(0);
  return [replies = std::move(replies), count](const RecordedRequest&) {
    std::size_t i = (*count)++;
    return replies[std::min(i, replies.size() - 1)];
  };
}

class CloudflareStreamTest : public ::testing::Test {
 protected:
  CloudflareConfig config() const {
    CloudflareConfig c;
    c.account_id = kAccount;
    c.api_token = kToken;
    c.api_base = server_.baseUrl() + "/client/v4/";  // trailing slash is tolerated
    c.connect_timeout = 300ms;
    c.request_timeout = 300ms;
    c.backoff_base = 1ms;
    return c;
  }

  std::unique_ptr<CloudflareStream> make(CloudflareConfig c) {
    return std::make_unique<CloudflareStream>(std::move(c), std::make_shared<http::CurlHttpClient>(),
                                              [this](milliseconds d) { sleeps_.push_back(d); });
  }
  std::unique_ptr<CloudflareStream> make() { return make(config()); }

  std::string inputsTarget() const { return std::string("/client/v4/accounts/") + kAccount + "/stream/live_inputs"; }

  static Error expectError(const std::function<void()>& call, const char* code) {
    try {
      call();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      return e;
    }
    ADD_FAILURE() << "expected liveroom::Error " << code;
    return Error("none", "none");
  }

  FakeHttpServer server_;
  std::vector<milliseconds> sleeps_;
};

TEST_F(CloudflareStreamTest, CreateWebrtcSendsBodyAndBearerToken) {
  server_.setHandler(script({jsonReply(200, "live_input.create.200.json")}));
  LiveInput input = make()->createInput("Lớp học online", RoomMode::webrtc);

  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, inputsTarget());
  EXPECT_EQ(requests[0].header("authorization"), std::string("Bearer ") + kToken);
  EXPECT_EQ(requests[0].header("x-auth-key"), std::nullopt);
  EXPECT_EQ(requests[0].header("content-type"), "application/json");
  EXPECT_EQ(json::parse(requests[0].body),
            json::parse(R"({"meta":{"name":"Lớp học online"},"recording":{"mode":"off"}})"));

  EXPECT_EQ(input.uid, kUid);
  EXPECT_TRUE(input.ingest.whip_url.has_value());
  EXPECT_TRUE(input.playback.whep_url.has_value());
  EXPECT_FALSE(input.ingest.rtmps_url.has_value());
  EXPECT_FALSE(input.playback.hls_url.has_value());
}

TEST_F(CloudflareStreamTest, CreateBroadcastWithLegacyEmailAndKey) {
  server_.setHandler(script({jsonReply(200, "live_input.create.200.json")}));
  CloudflareConfig c = config();
  c.api_token.reset();
  c.email = "ops@example.com";
  c.api_key = "legacy-global-key";
  LiveInput input = make(c)->createInput("Lớp học online", RoomMode::broadcast);

  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("authorization"), std::nullopt);
  EXPECT_EQ(requests[0].header("x-auth-email"), "ops@example.com");
  EXPECT_EQ(requests[0].header("x-auth-key"), "legacy-global-key");
  EXPECT_EQ(json::parse(requests[0].body),
            json::parse(R"({"meta":{"name":"Lớp học online"},"recording":{"mode":"automatic"},
                            "deleteRecordingAfterDays":45})"));

  EXPECT_EQ(input.ingest.rtmps_stream_key, kStreamKey);
  EXPECT_TRUE(input.ingest.srt_passphrase.has_value());
  EXPECT_EQ(input.playback.hls_url,
            "https://customer-51tzzrmdygiq19h7.cloudflarestream.com/" + std::string(kUid) + "/manifest/video.m3u8");
  EXPECT_FALSE(input.ingest.whip_url.has_value());
  EXPECT_FALSE(input.playback.whep_url.has_value());
}

TEST_F(CloudflareStreamTest, BearerTokenIsPreferredWhenBothSchemesAreGiven) {
  server_.setHandler(script({jsonReply(200, "live_input.create.200.json")}));
  CloudflareConfig c = config();
  c.email = "ops@example.com";
  c.api_key = "legacy-global-key";
  make(c)->createInput("t", RoomMode::webrtc);
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("authorization"), std::string("Bearer ") + kToken);
  EXPECT_EQ(requests[0].header("x-auth-email"), std::nullopt);
  EXPECT_EQ(requests[0].header("x-auth-key"), std::nullopt);
}

TEST_F(CloudflareStreamTest, ConfigWithoutCredentialsIsRejected) {
  CloudflareConfig c = config();
  c.api_token.reset();
  c.email = "ops@example.com";  // key missing
  EXPECT_THROW(make(c), std::invalid_argument);
  c = config();
  c.api_token = std::string("tok\r\nX-Evil: 1");
  EXPECT_THROW(make(c), std::invalid_argument);
  c = config();
  c.account_id = "";
  EXPECT_THROW(make(c), std::invalid_argument);
}

TEST_F(CloudflareStreamTest, GetParsesAllThreeStatusShapes) {
  struct Case {
    const char* file;
    std::optional<std::string> state;
  };
  auto stream = make();
  for (const Case& c : {Case{"live_input.create.200.json", std::nullopt},
                        Case{"live_input.get.connected-string-status.200.json", "connected"},
                        Case{"live_input.get.connected-object-status.200.json", "connected"}}) {
    server_.setHandler(script({jsonReply(200, c.file)}));
    server_.clearRequests();
    auto input = stream->getInput(kUid, RoomMode::webrtc);
    ASSERT_TRUE(input.has_value()) << c.file;
    EXPECT_EQ(input->state, c.state) << c.file;
    EXPECT_EQ(input->uid, kUid);
    auto requests = server_.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].method, "GET");
    EXPECT_EQ(requests[0].target, inputsTarget() + "/" + kUid);
  }
}

TEST_F(CloudflareStreamTest, GetOfUnknownUidIsNullopt) {
  server_.setHandler(script({jsonReply(404, "error.not-found.404.json")}));
  EXPECT_EQ(make()->getInput(kUid, RoomMode::broadcast), std::nullopt);
  EXPECT_EQ(server_.requestCount(), 1u);
}

TEST_F(CloudflareStreamTest, DeleteAcceptsAny2xxBodyAnd404) {
  auto stream = make();
  for (const FakeResponse& reply : {FakeResponse{200, {}, "", 0ms}, FakeResponse{200, {}, "OK, deleted", 0ms},
                                    FakeResponse{204, {}, "", 0ms}, jsonReply(404, "error.not-found.404.json")}) {
    server_.setHandler(script({reply}));
    server_.clearRequests();
    EXPECT_NO_THROW(stream->deleteInput(kUid)) << reply.status << " " << reply.body;
    auto requests = server_.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].method, "DELETE");
    EXPECT_EQ(requests[0].target, inputsTarget() + "/" + kUid);
  }
}

TEST_F(CloudflareStreamTest, ListReturnsInputsWithoutCredentials) {
  server_.setHandler(script({jsonReply(200, "live_input.list.200.json")}));
  auto inputs = make()->listInputs();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].uid, kUid);
  EXPECT_EQ(inputs[0].name, "Lớp học online");
  EXPECT_FALSE(inputs[0].ingest.whip_url.has_value());
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, inputsTarget());
}

TEST_F(CloudflareStreamTest, RateLimitHonoursRetryAfterThenSucceeds) {
  server_.setHandler(script({jsonReply(429, "error.rate-limited.429.json", {{"Retry-After", "1"}}),
                             jsonReply(200, "live_input.create.200.json")}));
  // 429 means "not processed", so even create is retried.
  LiveInput input = make()->createInput("t", RoomMode::webrtc);
  EXPECT_EQ(input.uid, kUid);
  EXPECT_EQ(server_.requestCount(), 2u);
  EXPECT_EQ(sleeps_, std::vector<milliseconds>{1000ms});
}

TEST_F(CloudflareStreamTest, RateLimitForeverGivesUpAfterConfiguredRetries) {
  server_.setHandler(script({jsonReply(429, "error.rate-limited.429.json", {{"Retry-After", "1"}})}));
  Error e = expectError([&] { make()->createInput("t", RoomMode::webrtc); }, codes::kProviderRateLimited);
  EXPECT_EQ(e.retryAfterSeconds(), 1);
  EXPECT_EQ(server_.requestCount(), 3u);  // 1 + max_rate_limit_retries
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{1000ms, 1000ms}));
}

TEST_F(CloudflareStreamTest, RateLimitWithHugeRetryAfterGivesUpAtOnce) {
  server_.setHandler(script({jsonReply(429, "error.rate-limited.429.json", {{"Retry-After", "300"}})}));
  Error e = expectError([&] { make()->getInput(kUid, RoomMode::webrtc); }, codes::kProviderRateLimited);
  EXPECT_EQ(e.retryAfterSeconds(), 300);
  EXPECT_EQ(server_.requestCount(), 1u);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(CloudflareStreamTest, RateLimitRetriesStayWithinTotalWaitBound) {
  server_.setHandler(script({jsonReply(429, "error.rate-limited.429.json", {{"Retry-After", "1"}})}));
  CloudflareConfig c = config();
  c.max_total_retry_wait = 1500ms;  // room for one 1 s wait, not two
  expectError([&] { make(c)->listInputs(); }, codes::kProviderRateLimited);
  EXPECT_EQ(server_.requestCount(), 2u);
  EXPECT_EQ(sleeps_, std::vector<milliseconds>{1000ms});
}

TEST_F(CloudflareStreamTest, ServerErrorOnGetIsRetriedThenSucceeds) {
  server_.setHandler(script({FakeResponse{502, {}, "<html>Bad Gateway</html>", 0ms}, FakeResponse{503, {}, "", 0ms},
                             jsonReply(200, "live_input.get.connected-string-status.200.json")}));
  auto input = make()->getInput(kUid, RoomMode::webrtc);
  ASSERT_TRUE(input.has_value());
  EXPECT_EQ(input->state, "connected");
  EXPECT_EQ(server_.requestCount(), 3u);
  EXPECT_EQ(sleeps_.size(), 2u);
}

TEST_F(CloudflareStreamTest, ServerErrorForeverOnDeleteIsUnavailableAfterThreeAttempts) {
  server_.setHandler(script({FakeResponse{500, {}, "", 0ms}}));
  expectError([&] { make()->deleteInput(kUid); }, codes::kProviderUnavailable);
  EXPECT_EQ(server_.requestCount(), 3u);
}

TEST_F(CloudflareStreamTest, ServerErrorOnCreateIsNotRetried) {
  server_.setHandler(script({FakeResponse{500, {}, "", 0ms}, jsonReply(200, "live_input.create.200.json")}));
  expectError([&] { make()->createInput("t", RoomMode::webrtc); }, codes::kProviderUnavailable);
  EXPECT_EQ(server_.requestCount(), 1u);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(CloudflareStreamTest, NonJson2xxIsUnexpectedReply) {
  server_.setHandler(script({FakeResponse{200, {}, "<html>hello</html>", 0ms}}));
  Error e = expectError([&] { make()->createInput("t", RoomMode::webrtc); }, codes::kProviderUnavailable);
  EXPECT_NE(std::string(e.what()).find("unexpected reply from Cloudflare"), std::string::npos) << e.what();
  expectError([&] { make()->getInput(kUid, RoomMode::webrtc); }, codes::kProviderUnavailable);
  expectError([&] { make()->listInputs(); }, codes::kProviderUnavailable);
}

TEST_F(CloudflareStreamTest, CreatedInputWithoutModeEndpointsIsDeletedAgain) {
  json body = json::parse(fixture("live_input.create.200.json"));
  body["result"].erase("webRTC");
  server_.setHandler([&body](const RecordedRequest& r) {
    if (r.method == "DELETE") return FakeResponse{200, {}, "", 0ms};
    return FakeResponse{200, {}, body.dump(), 0ms};
  });
  expectError([&] { make()->createInput("t", RoomMode::webrtc); }, codes::kProviderUnavailable);
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].method, "DELETE");
  EXPECT_EQ(requests[1].target, inputsTarget() + "/" + kUid);
}

TEST_F(CloudflareStreamTest, SlowReplyTimesOutAsUnavailable) {
  server_.setHandler(script({FakeResponse{200, {}, fixture("live_input.create.200.json"), 3000ms}}));
  // create: one attempt only (it may have been created)
  expectError([&] { make()->createInput("t", RoomMode::webrtc); }, codes::kProviderUnavailable);
  EXPECT_EQ(server_.requestCount(), 1u);
  // get: idempotent, so retried, then given up
  server_.clearRequests();
  expectError([&] { make()->getInput(kUid, RoomMode::webrtc); }, codes::kProviderUnavailable);
  EXPECT_EQ(server_.requestCount(), 3u);
}

TEST_F(CloudflareStreamTest, UnreachableApiIsUnavailable) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  CloudflareConfig c = config();
  c.api_base = "http://127.0.0.1:" + std::to_string(port) + "/client/v4";
  expectError([&] { make(c)->deleteInput(kUid); }, codes::kProviderUnavailable);
  EXPECT_EQ(sleeps_.size(), 2u);  // delete is idempotent: retried twice
}

TEST_F(CloudflareStreamTest, InvalidTokenIsAuthFailedWithCode) {
  server_.setHandler(script({jsonReply(403, "error.invalid-token.403.json")}));
  Error e = expectError([&] { make()->createInput("t", RoomMode::webrtc); }, codes::kProviderAuthFailed);
  EXPECT_NE(std::string(e.what()).find("9109"), std::string::npos) << e.what();
  EXPECT_STREQ(e.what(), "Cloudflare rejected the credentials (code 9109: Invalid access token)");
  EXPECT_EQ(server_.requestCount(), 1u);
}

TEST_F(CloudflareStreamTest, MissingAuthAndNoPermissionAreAuthFailed) {
  server_.setHandler(script({jsonReply(400, "error.missing-auth.400.json")}));
  Error e = expectError([&] { make()->listInputs(); }, codes::kProviderAuthFailed);
  EXPECT_NE(std::string(e.what()).find("9106"), std::string::npos) << e.what();

  server_.setHandler(script({jsonReply(403, "error.no-permission.403.json")}));
  e = expectError([&] { make()->deleteInput(kUid); }, codes::kProviderAuthFailed);
  EXPECT_NE(std::string(e.what()).find("10000"), std::string::npos) << e.what();

  server_.setHandler(script({FakeResponse{401, {}, "", 0ms}}));
  e = expectError([&] { make()->getInput(kUid, RoomMode::webrtc); }, codes::kProviderAuthFailed);
  EXPECT_NE(std::string(e.what()).find("HTTP 401"), std::string::npos) << e.what();
}

TEST_F(CloudflareStreamTest, OtherClientErrorsAreProviderErrors) {
  server_.setHandler(script({FakeResponse{
      400,
      {},
      R"({"success":false,"errors":[{"code":10005,"message":"Invalid meta"}],"messages":null,"result":null})",
      0ms}}));
  Error e = expectError([&] { make()->createInput("t", RoomMode::broadcast); }, codes::kProviderError);
  EXPECT_NE(std::string(e.what()).find("code 10005: Invalid meta"), std::string::npos) << e.what();
}

TEST_F(CloudflareStreamTest, UidThatCouldChangeTheUrlIsRefusedWithoutARequest) {
  auto stream = make();
  expectError([&] { stream->getInput("../../zones", RoomMode::webrtc); }, codes::kInvalidField);
  expectError([&] { stream->deleteInput(""); }, codes::kInvalidField);
  EXPECT_EQ(server_.requestCount(), 0u);
}

TEST_F(CloudflareStreamTest, LogsNeverCarrySecrets) {
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);

  auto stream = make();
  server_.setHandler(script({jsonReply(429, "error.rate-limited.429.json", {{"Retry-After", "1"}}),
                             jsonReply(200, "live_input.create.200.json")}));
  stream->createInput("t", RoomMode::broadcast);
  server_.setHandler(script({jsonReply(403, "error.invalid-token.403.json")}));
  EXPECT_THROW(stream->getInput(kUid, RoomMode::webrtc), Error);
  server_.setHandler(script({FakeResponse{500, {}, "", 0ms}}));
  EXPECT_THROW(stream->deleteInput(kUid), Error);

  spdlog::set_default_logger(previous);
  const std::string logs = captured.str();
  EXPECT_NE(logs.find(kUid), std::string::npos) << logs;  // logging did happen
  for (const char* secret : {kToken, kStreamKey, kWhipSecret}) {
    EXPECT_EQ(logs.find(secret), std::string::npos) << secret;
  }
}

}  // namespace
}  // namespace liveroom

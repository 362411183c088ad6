// The webhook dispatcher over a real SQLite outbox and a scripted HTTP client.
#include "webhooks/dispatcher.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "store/sqlite/sqlite_room_store.hpp"

namespace liveroom::webhooks {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

class ScriptedClient final : public http::HttpClient {
 public:
  // Each call takes the next scripted status (0: no answer); when the script is empty, 204.
  http::ClientResponse send(const http::ClientRequest& request) override {
    std::lock_guard lock(mutex_);
    requests.push_back(request);
    int status = 204;
    if (!script.empty()) {
      status = script.front();
      script.pop_front();
    }
    if (status == 0) throw http::TransportError("POST to hooks.example failed: Connection refused", false);
    http::ClientResponse response;
    response.status = status;
    return response;
  }
  std::mutex mutex_;
  std::deque<int> script;
  std::vector<http::ClientRequest> requests;
};

std::string header(const http::ClientRequest& request, const std::string& name) {
  for (const auto& [n, v] : request.headers) {
    if (n == name) return v;
  }
  return "";
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / fmt::format("liveroom_dispatch_{}_{}", ::getpid(), counter_++);
    store_ = std::make_unique<SqliteRoomStore>((dir_ / "liveroom.db").string());
    auto policy = std::make_shared<OutboxPolicy>();
    policy->endpoints = {"https://hooks.example/in"};
    policy->render = [](RoomEventType type, const RoomRecord& room, const std::string&, int64_t seq, int64_t,
                        std::optional<size_t>) {
      return fmt::format(R"({{"type":"{}","room":"{}","seq":{}}})", webhookEventName(type), room.room_id, seq);
    };
    store_->setOutboxPolicy(policy);
    options_.keys = {SigningKey::parse(kSecret)};
    options_.now_ms = [this] { return now_.load(); };
    options_.threads = 1;
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  void addRoom(const std::string& id) {
    RoomRecord room;
    room.room_id = id;
    room.title = "t";
    room.host = "h";
    room.mode = RoomMode::webrtc;
    room.status = RoomStatus::active;
    room.provider = "local";
    room.session_id = "in_" + id;
    room.host_token_hash = std::string(64, 'a');
    room.created_at_ms = room.updated_at_ms = now_;
    store_->insert(room);
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<SqliteRoomStore> store_;
  DispatcherOptions options_;
  std::atomic<int64_t> now_{kT0};
  ScriptedClient client_;
};

TEST(WebhookBackoff, DoublesFromTheBaseUpToTheMaxThenGivesUp) {
  DispatcherOptions options;
  options.retry_base = std::chrono::milliseconds(1000);
  options.retry_max = std::chrono::milliseconds(10'000);
  options.give_up_after = std::chrono::milliseconds(3600'000);
  OutboxDelivery d;
  d.created_at_ms = kT0;
  std::vector<int64_t> waits;
  int64_t at = kT0;
  for (int i = 0; i < 6; ++i) {
    d = afterAttempt(d, at, 500, "", options);
    EXPECT_EQ(d.state, "pending");
    EXPECT_EQ(d.last_error, "HTTP 500");
    waits.push_back(d.next_attempt_at_ms - at);
    at = d.next_attempt_at_ms;
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{1000, 2000, 4000, 8000, 10'000, 10'000}));
  EXPECT_EQ(d.attempts, 6);

  OutboxDelivery no_answer = afterAttempt(d, at, std::nullopt, "POST to x failed: timeout", options);
  EXPECT_EQ(no_answer.last_status, std::nullopt);
  EXPECT_EQ(no_answer.last_error, "POST to x failed: timeout");

  OutboxDelivery late = afterAttempt(d, kT0 + 3600'000, 503, "", options);
  EXPECT_EQ(late.state, "failed");

  OutboxDelivery ok = afterAttempt(d, at, 200, "", options);
  EXPECT_EQ(ok.state, "delivered");
  EXPECT_EQ(ok.delivered_at_ms, at);
  EXPECT_EQ(ok.last_error, "");
  EXPECT_EQ(afterAttempt(d, at, 302, "", options).state, "pending") << "redirects are not followed";
}

TEST_F(DispatcherTest, SendsEachEventSignedAndInOrderRetryingWhatFails) {
  addRoom("live_a");
  store_->updateTitle("live_a", "x", kT0 + 1);
  addRoom("live_b");
  client_.script = {500, 0};  // the first attempt gets a 500, the second no answer
  Dispatcher dispatcher(*store_->outbox(), client_, options_);
  // a_1 and b_1 go (the heads of their rooms) and fail; a_2 waits behind a_1, which waits 1 s.
  EXPECT_TRUE(dispatcher.drain(std::chrono::steady_clock::now() + std::chrono::seconds(10)));
  EXPECT_EQ(client_.requests.size(), 2u);
  EXPECT_EQ(store_->counts().pending, 3u);
  now_ += 999;
  EXPECT_TRUE(dispatcher.drain(std::chrono::steady_clock::now() + std::chrono::seconds(10)));
  EXPECT_EQ(client_.requests.size(), 2u);
  now_ += 1;
  EXPECT_TRUE(dispatcher.drain(std::chrono::steady_clock::now() + std::chrono::seconds(10)));
  EXPECT_EQ(store_->counts().delivered, 3u);
  EXPECT_EQ(store_->counts().pending, 0u);

  // Room a's events arrived in order, each request signed per Standard Webhooks.
  std::vector<std::string> delivered_a;
  for (size_t i = 0; i < client_.requests.size(); ++i) {
    const auto& r = client_.requests[i];
    const std::string id = header(r, "webhook-id");
    const std::string timestamp = header(r, "webhook-timestamp");
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.url, "https://hooks.example/in");
    EXPECT_EQ(header(r, "Content-Type"), "application/json");
    EXPECT_EQ(header(r, "webhook-signature"), options_.keys[0].sign(id, std::stoll(timestamp), r.body));
    EXPECT_EQ(timestamp, std::to_string(kT0 / 1000 + (i < 2 ? 0 : 1)));
    if (id.starts_with("evt_live_a")) delivered_a.push_back(id);
  }
  // a_2 went only after a_1, once.
  EXPECT_EQ(delivered_a.back(), "evt_live_a_2");
  EXPECT_EQ(std::count(delivered_a.begin(), delivered_a.end(), "evt_live_a_2"), 1);
  const auto rows = store_->deliveries(DeliveryQuery{});
  for (const OutboxDelivery& d : rows) {
    EXPECT_EQ(d.state, "delivered");
    if (d.event_id == "evt_live_a_1") {
      EXPECT_EQ(d.attempts, 2);
      EXPECT_EQ(d.last_status, 204);
    }
  }
  EXPECT_EQ(dispatcher.stats().attempts, 5u);
  EXPECT_EQ(dispatcher.stats().failed_attempts, 2u);
}

TEST_F(DispatcherTest, ItsThreadsDeliverWhatIsRecordedWhenWoken) {
  options_.threads = 3;
  options_.poll = std::chrono::milliseconds(60'000);  // only wake() can make them look
  Dispatcher dispatcher(*store_->outbox(), client_, options_);
  dispatcher.start();
  for (int i = 0; i < 20; ++i) addRoom(fmt::format("live_r{}", i));
  dispatcher.wake();
  for (int i = 0; i < 500 && store_->counts().delivered < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  dispatcher.stop();
  EXPECT_EQ(store_->counts().delivered, 20u);
  EXPECT_EQ(client_.requests.size(), 20u) << "each delivery sent once";
}

}  // namespace
}  // namespace liveroom::webhooks

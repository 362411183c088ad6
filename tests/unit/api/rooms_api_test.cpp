// RoomsApi without sockets (REVIEW §5: the handlers were made to be testable so): requests go
// through a route table holding its routes (as the app's does), blocking work runs inline, over the real SQLite store
// and a recording provider. The wire behaviour through the binary is tests/integration/test_api.py; here, the handler's
// own decisions: routes, methods, auth, the error envelope, what a join shows.
#include "api/rooms_api.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "rooms/secrets.hpp"
#include "store/sqlite/sqlite_room_store.hpp"
#include "support/recording_provider.hpp"

namespace liveroom::api {
namespace {

class RoomsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("liveroom-api-" + rooms::randomBase62(10));
    std::filesystem::create_directories(dir_);
    store_ = std::make_unique<SqliteRoomStore>((dir_ / "rooms.db").string());
    rooms::RoomServiceOptions service_options;
    service_options.render_public_view = [](const RoomRecord& r, size_t viewers) {
      return nlohmann::json{{"room_id", r.room_id}, {"title", r.title}, {"viewers", viewers}}.dump();
    };
    service_ = std::make_unique<rooms::RoomService>(*store_, &provider_, service_options);
    make(defaults());
  }
  void TearDown() override {
    api_.reset();
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  static ApiOptions defaults() {
    ApiOptions options;
    options.creates_per_minute = 0;  // many creates from one address here
    return options;
  }
  void make(ApiOptions options) {
    auto inline_runner = [](std::function<void()> work) { work(); };
    api_ = std::make_unique<RoomsApi>(*service_, std::move(options), inline_runner, inline_runner);
    router_ = http::Router();
    api_->addRoutes(router_);
  }

  http::Response call(std::string method, std::string target, std::string body = "",
                      std::optional<std::string> bearer = std::nullopt) {
    http::Request req;
    req.method = std::move(method);
    req.target = target;
    const size_t q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    req.headers.emplace_back("host", "rooms.example");
    if (!body.empty()) req.headers.emplace_back("content-type", "application/json");
    if (bearer) req.headers.emplace_back("authorization", "Bearer " + *bearer);
    req.body = std::move(body);
    req.remote_address = "127.0.0.1";
    std::optional<http::Response> got;
    http::Responder respond([&got](http::Response res) { got = std::move(res); });
    if (!router_.dispatch(req, respond)) api_->fallback(std::move(req), std::move(respond));
    EXPECT_TRUE(got.has_value()) << "answered inline";
    return got.value_or(http::Response{});
  }
  static nlohmann::json json(const http::Response& res) { return nlohmann::json::parse(res.bodyView()); }
  static std::string code(const http::Response& res) { return json(res)["error"]["code"].get<std::string>(); }

  std::filesystem::path dir_;
  test_support::RecordingProvider provider_;
  std::unique_ptr<SqliteRoomStore> store_;
  std::unique_ptr<rooms::RoomService> service_;
  std::unique_ptr<RoomsApi> api_;
  http::Router router_;
};

TEST_F(RoomsApiTest, ARoomsLifeThroughTheHandler) {
  auto created = call("POST", "/api/livestream/create", R"({"title":"Lớp học","host":"cô Hà"})");
  ASSERT_EQ(created.status, 201) << created.bodyView();
  const auto room = json(created);
  const std::string id = room["room_id"], token = room["host_token"];
  EXPECT_FALSE(token.empty());

  auto joined = call("GET", "/api/livestream/join?room_id=" + id);
  ASSERT_EQ(joined.status, 200);
  EXPECT_EQ(json(joined)["title"], "Lớp học");
  EXPECT_EQ(joined.bodyView().find(token), std::string_view::npos) << "a viewer never sees the host token";

  auto updated =
      call("POST", "/api/livestream/update", nlohmann::json{{"room_id", id}, {"title", "mới"}}.dump(), token);
  EXPECT_EQ(updated.status, 200) << updated.bodyView();
  EXPECT_EQ(json(call("GET", "/api/livestream/join?room_id=" + id))["title"], "mới");

  auto ended = call("POST", "/api/livestream/end", nlohmann::json{{"room_id", id}}.dump(), token);
  EXPECT_EQ(ended.status, 200);
  EXPECT_EQ(json(ended)["status"], "ended") << ended.bodyView();
  EXPECT_EQ(provider_.deleted, std::vector<std::string>{"uid1"});
  auto gone = call("GET", "/api/livestream/join?room_id=" + id);
  EXPECT_EQ(gone.status, 410);
  EXPECT_EQ(code(gone), codes::kRoomEnded);
}

TEST_F(RoomsApiTest, HostCallsNeedTheRoomsOwnToken) {
  const auto a = json(call("POST", "/api/livestream/create", R"({"title":"a","host":"h"})"));
  const auto b = json(call("POST", "/api/livestream/create", R"({"title":"b","host":"h"})"));
  const std::string body = nlohmann::json{{"room_id", a["room_id"]}, {"title", "x"}}.dump();
  auto none = call("POST", "/api/livestream/update", body);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(code(none), codes::kUnauthorized);
  auto other = call("POST", "/api/livestream/update", body, b["host_token"].get<std::string>());
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(code(other), codes::kForbidden);
  EXPECT_EQ(call("POST", "/api/livestream/end", nlohmann::json{{"room_id", a["room_id"]}}.dump(), "wrong").status, 403);
  EXPECT_TRUE(provider_.deleted.empty());
}

TEST_F(RoomsApiTest, TheApiKeyGuardsCreateOnly) {
  ApiOptions options = defaults();
  options.api_key = "lrk_test_key";
  make(options);
  auto refused = call("POST", "/api/livestream/create", R"({"title":"t","host":"h"})");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(code(refused), codes::kUnauthorized);
  auto wrong = call("POST", "/api/livestream/create", R"({"title":"t","host":"h"})", "not-the-key");
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(code(wrong), codes::kForbidden);
  auto made = call("POST", "/api/livestream/create", R"({"title":"t","host":"h"})", "lrk_test_key");
  ASSERT_EQ(made.status, 201);
  EXPECT_EQ(call("GET", "/api/livestream/join?room_id=" + json(made)["room_id"].get<std::string>()).status, 200);
}

TEST_F(RoomsApiTest, BadRequestsGetTheEnvelopeWithTheRightStatus) {
  auto method = call("DELETE", "/api/livestream/join?room_id=live_AAAAAAAAAAAAAAAA");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(code(method), codes::kMethodNotAllowed);
  bool allow = false;
  for (const auto& [name, value] : method.headers) allow |= name == "Allow" && value.find("GET") != std::string::npos;
  EXPECT_TRUE(allow);
  auto unknown = call("GET", "/api/livestream/join?room_id=live_AAAAAAAAAAAAAAAA");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(code(unknown), codes::kRoomNotFound);
  auto path = call("GET", "/api/livestream/nothing-here");
  EXPECT_EQ(path.status, 404);
  EXPECT_EQ(code(path), codes::kNotFound);
  auto broken = call("POST", "/api/livestream/create", "{not json");
  EXPECT_EQ(broken.status, 400);
  EXPECT_EQ(code(broken), codes::kInvalidJson);
  auto field = call("POST", "/api/livestream/create", R"({"title":"","host":"h"})");
  EXPECT_EQ(field.status, 400);
  EXPECT_EQ(code(field), codes::kInvalidField);
  EXPECT_EQ(provider_.created, 0) << "nothing reached the provider";
}

TEST_F(RoomsApiTest, ItsRoutesAreTheMetricsLabels) {
  // A label names the route, never an id; the rest of /api shares one.
  auto label = [this](std::string_view path) { return std::string(router_.label(path, "static")); };
  EXPECT_EQ(label("/api/livestream/join"), "/api/livestream/join");
  EXPECT_EQ(label("/api/livestream/rooms"), "/api/livestream/rooms");
  EXPECT_EQ(label("/api/livestream/rooms/live_abc"), "/api/livestream/rooms/{id}");
  EXPECT_EQ(label("/api/livestream/rooms/live_abc/events"), "/api/livestream/rooms/{id}/events");
  EXPECT_EQ(label("/api/livestream/rooms/live_abc/ingest"), "/api/livestream/rooms/{id}/ingest");
  EXPECT_EQ(label("/api/livestream/rooms/live_abc/qr.svg"), "/api/livestream/rooms/{id}/qr.svg");
  EXPECT_EQ(label("/api/livestream/rooms/live_abc/nope"), "/api/other");
  EXPECT_EQ(label("/api/livestream/rooms/"), "/api/other");
  EXPECT_EQ(label("/api/livestream/whatever"), "/api/other");
  EXPECT_EQ(label("/api/openapi.json"), "/api/openapi.json");
  EXPECT_EQ(label("/healthz"), "/healthz");
  EXPECT_EQ(label("/readyz"), "/readyz");
  EXPECT_EQ(label("/"), "static");
  EXPECT_EQ(label("/watch/live_abc"), "static");
  EXPECT_EQ(label("/apis"), "static");
  EXPECT_EQ(label(""), "static");
}

TEST_F(RoomsApiTest, EveryRouteTakesThePreflightAndOnlyItsMethods) {
  for (const char* path : {"/api/livestream/create", "/api/livestream/join", "/api/livestream/rooms/live_x/nope",
                           "/healthz", "/elsewhere"}) {
    auto preflight = call("OPTIONS", path);
    EXPECT_EQ(preflight.status, 204) << path;
  }
  EXPECT_EQ(call("HEAD", "/healthz").status, 200);
  EXPECT_EQ(call("POST", "/healthz").status, 405);
  EXPECT_EQ(call("GET", "/api/livestream/create").status, 405);
  EXPECT_EQ(call("POST", "/api/livestream/rooms/live_x").status, 405);
  auto bad_id = call("GET", "/api/livestream/rooms/not-a-room");
  EXPECT_EQ(bad_id.status, 404);
  EXPECT_EQ(code(bad_id), codes::kRoomNotFound);
  auto no_path = call("GET", "/elsewhere");
  EXPECT_EQ(no_path.status, 404);
  EXPECT_EQ(code(no_path), codes::kNotFound);
  EXPECT_EQ(call("GET", "/api/livestream/rooms/live_x/nope").status, 404);
}

TEST_F(RoomsApiTest, ACreateThatTheProviderRefusesCreatesNothing) {
  provider_.fail_create = true;
  auto refused = call("POST", "/api/livestream/create", R"({"title":"t","host":"h"})");
  EXPECT_EQ(refused.status, 502);
  EXPECT_EQ(code(refused), codes::kProviderError);
  EXPECT_EQ(json(call("GET", "/api/livestream/rooms"))["rooms"].size(), 0u);
}

}  // namespace
}  // namespace liveroom::api

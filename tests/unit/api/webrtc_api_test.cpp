// WebRtcApi (the WHIP/WHEP resources) without sockets or a media server: requests go through a
// route table holding its routes, room checks run inline over the real SQLite store and the real
// LocalStream (its URLs and publish keys), and the media work is a recording MediaSessions. What
// media does with an offer is tests/unit/media/server and tests/integration/test_webrtc_http.py;
// here, the resource's own decisions: which input a URL names, keys and tokens, the room's
// state, the instance that carries its media, and the replies' headers.
#include "api/webrtc_api.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "rooms/secrets.hpp"
#include "store/sqlite/sqlite_room_store.hpp"

namespace liveroom::api {
namespace {

// Answers offers at once (or with `fail`), and records what it was asked.
class RecordingMedia final : public media::MediaSessions {
 public:
  struct Offer {
    std::string role, uid, offer, client;
  };
  std::vector<Offer> offers;
  std::vector<std::string> removed, closed;
  std::optional<Error> fail;
  std::string restart_fragment;  // non-empty: a PATCH is an ICE restart

  void publish(std::string uid, std::string offer, AnswerCallback done, std::string client) override {
    answer("publish", std::move(uid), std::move(offer), std::move(done), std::move(client));
  }
  void play(std::string uid, std::string offer, AnswerCallback done, std::string client) override {
    answer("play", std::move(uid), std::move(offer), std::move(done), std::move(client));
  }
  void patch(std::string session_id, std::optional<std::string> if_match, std::string, PatchCallback done) override {
    if (session_id != kSession) return done(Error(codes::kSessionNotFound, "no such session"));
    if (if_match && *if_match != "\"e1\"") return done(Error(codes::kPreconditionFailed, "stale"));
    done(media::PatchResult{"\"e2\"", restart_fragment});
  }
  void remove(std::string session_id, std::function<void(bool)> done) override {
    removed.push_back(session_id);
    done(session_id == kSession);
  }
  void closeInput(std::string uid) override { closed.push_back(std::move(uid)); }
  std::vector<std::string> inputUids() override { return {}; }

  static constexpr const char* kSession = "0123456789abcdef0123456789abcdef";

 private:
  void answer(const char* role, std::string uid, std::string offer, AnswerCallback done, std::string client) {
    offers.push_back({role, std::move(uid), std::move(offer), std::move(client)});
    if (fail) return done(*fail);
    done(media::SessionAnswer{kSession, "\"e1\"", "v=0 answer"});
  }
};

class WebRtcApiTest : public ::testing::Test {
 protected:
  static constexpr const char* kHere = "http://here.example";

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("liveroom-webrtc-api-" + rooms::randomBase62(10));
    std::filesystem::create_directories(dir_);
    store_ = std::make_unique<SqliteRoomStore>((dir_ / "rooms.db").string());
    stream_ = std::make_unique<LocalStream>(kHere, std::string(64, 's'), media_);
    service_ = std::make_unique<rooms::RoomService>(*store_, stream_.get());
    WebRtcApiOptions options;
    options.location_from_host = false;  // Location on the public URL
    options.offers_per_second = 0;
    options.ice_servers.urls = {"stun:stun.example:3478"};
    api_ =
        std::make_unique<WebRtcApi>(*service_, *stream_, media_, options, [](std::function<void()> work) { work(); });
    api_->addRoutes(router_);
  }
  void TearDown() override {
    api_.reset();
    service_.reset();
    stream_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static std::string pathOf(const std::string& url) { return url.substr(url.find('/', url.find("//") + 2)); }

  http::Response call(std::string method, std::string path, std::string body = "",
                      std::string content_type = "application/sdp",
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Request req;
    req.method = std::move(method);
    req.target = path;
    req.path = std::move(path);
    req.headers = std::move(headers);
    req.headers.emplace_back("host", "here.example");
    if (!body.empty()) req.headers.emplace_back("content-type", content_type);
    req.body = std::move(body);
    req.remote_address = "192.0.2.7";
    std::optional<http::Response> got;
    http::Responder respond([&got](http::Response res) { got = std::move(res); });
    if (!router_.dispatch(req, respond)) return http::Response{};  // status 0: no route
    EXPECT_TRUE(got.has_value()) << "answered inline";
    return got.value_or(http::Response{});
  }
  static std::string header(const http::Response& res, std::string_view name) {
    for (const auto& [n, v] : res.headers) {
      if (n == name) return v;
    }
    return {};
  }
  static std::string code(const http::Response& res) {
    return nlohmann::json::parse(res.bodyView())["error"]["code"].get<std::string>();
  }

  std::filesystem::path dir_;
  RecordingMedia media_;
  std::unique_ptr<SqliteRoomStore> store_;
  std::unique_ptr<LocalStream> stream_;
  std::unique_ptr<rooms::RoomService> service_;
  std::unique_ptr<WebRtcApi> api_;
  http::Router router_;
};

TEST_F(WebRtcApiTest, APublishUrlWithItsKeyMakesASession) {
  const auto created = service_->create("Lớp học", "cô Hà", RoomMode::webrtc);
  const std::string whip = pathOf(created.room.ingest.whip_url.value());
  auto res = call("POST", whip, "v=0 offer");
  ASSERT_EQ(res.status, 201) << res.bodyView();
  EXPECT_EQ(res.bodyView(), "v=0 answer");
  EXPECT_EQ(header(res, "Content-Type"), "application/sdp");
  EXPECT_EQ(header(res, "Location"), std::string(kHere) + "/webRTC/sessions/" + RecordingMedia::kSession);
  EXPECT_EQ(header(res, "ETag"), "\"e1\"");
  EXPECT_EQ(header(res, "Link"), "<stun:stun.example:3478>; rel=\"ice-server\"");
  EXPECT_EQ(header(res, "Cache-Control"), "no-store");
  ASSERT_EQ(media_.offers.size(), 1u);
  EXPECT_EQ(media_.offers[0].role, "publish");
  EXPECT_EQ(media_.offers[0].uid, created.room.session_id);
  EXPECT_EQ(media_.offers[0].offer, "v=0 offer");
  EXPECT_EQ(media_.offers[0].client, "192.0.2.7");

  // Another key for the same input: no such publish URL, and nothing reaches the media.
  std::string forged = whip;
  forged[1] = forged[1] == '0' ? '1' : '0';
  auto refused = call("POST", forged, "v=0 offer");
  EXPECT_EQ(refused.status, 404);
  EXPECT_EQ(code(refused), codes::kNotFound);
  EXPECT_EQ(media_.offers.size(), 1u);
}

TEST_F(WebRtcApiTest, ThePublishAliasTakesTheHostToken) {
  const auto created = service_->create("t", "h", RoomMode::webrtc);
  const std::string alias = "/whip/" + created.room.room_id;
  EXPECT_EQ(call("POST", alias, "v=0 offer").status, 401);
  EXPECT_EQ(call("POST", alias, "v=0 offer", "application/sdp", {{"authorization", "Bearer lrh_wrong"}}).status, 403);
  EXPECT_EQ(media_.offers.size(), 0u);
  auto res = call("POST", alias, "v=0 offer", "application/sdp", {{"authorization", "Bearer " + created.host_token}});
  ASSERT_EQ(res.status, 201) << res.bodyView();
  EXPECT_EQ(media_.offers.at(0).uid, created.room.session_id);
  EXPECT_EQ(code(call("POST", "/whip/not-a-room", "v=0 offer")), codes::kRoomNotFound);
}

TEST_F(WebRtcApiTest, APlayUrlNeedsAnActiveRoomOfThisProvider) {
  const auto created = service_->create("t", "h", RoomMode::webrtc);
  const std::string whep = pathOf(created.room.playback.whep_url.value());
  ASSERT_EQ(call("POST", whep, "v=0 offer").status, 201);
  EXPECT_EQ(media_.offers.at(0).role, "play");
  EXPECT_EQ(call("POST", "/" + std::string(32, 'a') + "/webRTC/play", "v=0 offer").status, 404);
  EXPECT_EQ(code(call("POST", "/nothex/webRTC/play", "v=0 offer")), codes::kNotFound);
  auto wrong_type = call("POST", whep, "v=0 offer", "application/json");
  EXPECT_EQ(wrong_type.status, 415);
  service_->end(created.room.room_id, created.host_token);
  EXPECT_EQ(media_.closed, std::vector<std::string>{created.room.session_id}) << "ending closes the input";
  auto ended = call("POST", whep, "v=0 offer");
  EXPECT_EQ(ended.status, 410);
  EXPECT_EQ(code(ended), codes::kRoomEnded);
  EXPECT_EQ(media_.offers.size(), 1u);
}

TEST_F(WebRtcApiTest, TheMediasRefusalIsTheReply) {
  const auto created = service_->create("t", "h", RoomMode::webrtc);
  media_.fail = Error(codes::kPublisherExists, "someone is on air");
  auto res = call("POST", pathOf(created.room.ingest.whip_url.value()), "v=0 offer");
  EXPECT_EQ(res.status, 409);
  EXPECT_EQ(code(res), codes::kPublisherExists);
  EXPECT_FALSE(header(res, "Access-Control-Allow-Origin").empty()) << "errors carry CORS too";
}

TEST_F(WebRtcApiTest, ARoomWhoseMediaIsOnAnotherInstanceIsRedirectedOrRefused) {
  // This instance reads the store on every offer (no join cache: B's changes show at once, as
  // they do here once a cached room's TTL has passed).
  rooms::RoomServiceOptions uncached;
  uncached.cache_ttl = std::chrono::milliseconds(0);
  service_ = std::make_unique<rooms::RoomService>(*store_, stream_.get(), uncached);
  router_ = http::Router();
  api_ = std::make_unique<WebRtcApi>(*service_, *stream_, media_, WebRtcApiOptions{},
                                     [](std::function<void()> work) { work(); });
  api_->addRoutes(router_);
  // Instance B on the same store made the room: its URLs name B.
  RecordingMedia b_media;
  LocalStream b_stream("http://b.example", std::string(64, 's'), b_media);
  rooms::RoomService b_service(*store_, &b_stream);
  const auto created = b_service.create("t", "h", RoomMode::webrtc);
  const std::string whep = pathOf(created.room.playback.whep_url.value());
  auto moved = call("POST", whep, "v=0 offer");
  EXPECT_EQ(moved.status, 307);
  EXPECT_EQ(header(moved, "Location"), "http://b.example" + whep);
  // A broadcaster is sent there too while nobody is on air, and refused here once someone is.
  const std::string whip = pathOf(created.room.ingest.whip_url.value());
  EXPECT_EQ(call("POST", whip, "v=0 offer").status, 307);
  b_service.setLiveByInput(created.room.session_id, true);
  auto on_air = call("POST", whip, "v=0 offer");
  EXPECT_EQ(on_air.status, 409);
  EXPECT_EQ(code(on_air), codes::kPublisherExists);
  EXPECT_TRUE(media_.offers.empty()) << "nothing was made here";
}

TEST_F(WebRtcApiTest, SessionsArePatchedAndDeleted) {
  const std::string session = std::string("/webRTC/sessions/") + RecordingMedia::kSession;
  auto trickle = call("PATCH", session, "a=candidate:1", "application/trickle-ice-sdpfrag", {{"if-match", "\"e1\""}});
  EXPECT_EQ(trickle.status, 204);
  EXPECT_EQ(header(trickle, "ETag"), "\"e2\"");
  EXPECT_EQ(call("PATCH", session, "a=x", "application/trickle-ice-sdpfrag", {{"if-match", "\"old\""}}).status, 412);
  EXPECT_EQ(call("PATCH", session, "a=x", "text/plain").status, 415);
  media_.restart_fragment = "a=ice-ufrag:new";
  auto restart = call("PATCH", session, "a=ice-ufrag:x", "application/trickle-ice-sdpfrag");
  EXPECT_EQ(restart.status, 200);
  EXPECT_EQ(restart.bodyView(), "a=ice-ufrag:new");
  EXPECT_EQ(call("DELETE", session).status, 200);
  EXPECT_EQ(call("DELETE", "/webRTC/sessions/" + std::string(32, 'f')).status, 404);
  EXPECT_EQ(code(call("DELETE", "/webRTC/sessions/short")), codes::kSessionNotFound);
  EXPECT_EQ(media_.removed.size(), 2u) << "a malformed id never reaches the media";
  EXPECT_EQ(call("POST", session, "x").status, 405);
}

TEST_F(WebRtcApiTest, OptionsListTheIceServersButAPreflightGetsNone) {
  const auto created = service_->create("t", "h", RoomMode::webrtc);
  const std::string whep = pathOf(created.room.playback.whep_url.value());
  auto options = call("OPTIONS", whep);
  EXPECT_EQ(options.status, 204);
  EXPECT_EQ(header(options, "Accept-Post"), "application/sdp");
  EXPECT_FALSE(header(options, "Link").empty());
  auto preflight = call("OPTIONS", whep, "", "", {{"access-control-request-method", "POST"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_TRUE(header(preflight, "Link").empty());
  EXPECT_FALSE(header(preflight, "Access-Control-Expose-Headers").empty());
}

TEST_F(WebRtcApiTest, ItsRoutesAreTheMetricsLabelsAndItsFamiliesAnswer404) {
  auto label = [this](std::string_view path) { return std::string(router_.label(path, "static")); };
  EXPECT_EQ(label("/0123abcdk4567/webRTC/publish"), "/{key}/webRTC/publish");
  EXPECT_EQ(label("/4567/webRTC/play"), "/{uid}/webRTC/play");
  EXPECT_EQ(label("/webRTC/sessions/0123"), "/webRTC/sessions/{id}");
  EXPECT_EQ(label("/whip/live_abc"), "/whip/{room_id}");
  EXPECT_EQ(label("/webRTC/sessions/0123/x"), "/webRTC/other");
  EXPECT_EQ(label("/a/b/webRTC/play"), "static");
  auto stray = call("DELETE", "/webRTC/sessions/0123/x");
  EXPECT_EQ(stray.status, 404);
  EXPECT_FALSE(header(stray, "Access-Control-Expose-Headers").empty());
  EXPECT_EQ(call("POST", "/whip/").status, 404);
}

}  // namespace
}  // namespace liveroom::api

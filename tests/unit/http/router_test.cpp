// http::Router: patterns, families, precedence and labels.
#include "http/router.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace liveroom::http {
namespace {

RouteHandler named(std::string* out, std::string name) {
  return [out, name](Request&&, Responder respond, RouteParams params) {
    respond(Response{});
    *out = name;
    for (const std::string& p : params) *out += "|" + p;
  };
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("/healthz", named(&got_, "healthz"));
    router_.add("/api/livestream/rooms/{id}", named(&got_, "room"));
    router_.add("/api/livestream/rooms/{id}/events", named(&got_, "events"));
    router_.add("/{key}/webRTC/publish", named(&got_, "publish"));
    router_.add("/{uid}/webRTC/play", named(&got_, "play"));
    router_.add("/webRTC/sessions/{id}", named(&got_, "session"));
    router_.add("/webRTC/stats", named(&got_, "stats"));
    router_.add("/{a}/{b}/play", named(&got_, "loose"));
    router_.addFamily("/api/", "/api/other", named(&got_, "api"));
    router_.addFamily("/api/livestream/", "/api/livestream/other", named(&got_, "livestream"));
  }
  std::string route(std::string path) {
    got_.clear();
    Request req;
    req.path = std::move(path);
    Responder respond([](Response) {});
    return router_.dispatch(req, respond) ? got_ : "none";
  }
  Router router_;
  std::string got_;
};

TEST_F(RouterTest, PlaceholdersMatchOneNonEmptySegment) {
  EXPECT_EQ(route("/healthz"), "healthz");
  EXPECT_EQ(route("/api/livestream/rooms/live_1"), "room|live_1");
  EXPECT_EQ(route("/api/livestream/rooms/live_1/events"), "events|live_1");
  EXPECT_EQ(route("/0abck9f/webRTC/publish"), "publish|0abck9f");
  EXPECT_EQ(route("/webRTC/sessions/0123"), "session|0123");
  EXPECT_EQ(route("/healthz/"), "none");
  EXPECT_EQ(route("/a/b/webRTC/play"), "none");
  EXPECT_EQ(route("//webRTC/play"), "none");
  EXPECT_EQ(route("healthz"), "none");
  EXPECT_EQ(route(""), "none");
}

TEST_F(RouterTest, MoreLiteralSegmentsWinThenTheFirstAdded) {
  EXPECT_EQ(route("/webRTC/stats"), "stats");    // not "/{uid}/..." shapes
  EXPECT_EQ(route("/x/webRTC/play"), "play|x");  // two literals beat "/{a}/{b}/play"'s one
  EXPECT_EQ(route("/x/y/play"), "loose|x|y");
}

TEST_F(RouterTest, FamiliesTakeTheRestOfTheirPrefixLongestFirst) {
  EXPECT_EQ(route("/api/livestream/rooms/"), "livestream|rooms/");  // an empty id is no {id}
  EXPECT_EQ(route("/api/livestream/nope"), "livestream|nope");
  EXPECT_EQ(route("/api/other/x"), "api|other/x");
  EXPECT_EQ(route("/api"), "none");
  EXPECT_EQ(route("/apis/x"), "none");
}

TEST_F(RouterTest, LabelsAreThePatternsNeverTheIds) {
  EXPECT_EQ(router_.label("/api/livestream/rooms/live_secret", "static"), "/api/livestream/rooms/{id}");
  EXPECT_EQ(router_.label("/0123k4567/webRTC/publish", "static"), "/{key}/webRTC/publish");
  EXPECT_EQ(router_.label("/api/zzz", "static"), "/api/other");
  EXPECT_EQ(router_.label("/watch/live_1", "static"), "static");
  const auto match = router_.match("/api/livestream/rooms/live_1/events");
  ASSERT_TRUE(match);
  EXPECT_EQ(match->label, "/api/livestream/rooms/{id}/events");
  EXPECT_EQ(match->params, RouteParams{"live_1"});
}

TEST_F(RouterTest, MalformedOrRepeatedRoutesAreRefused) {
  auto none = [](Request&&, Responder, RouteParams) {};
  EXPECT_THROW(router_.add("healthz", none), std::invalid_argument);
  EXPECT_THROW(router_.add("/a//b", none), std::invalid_argument);
  EXPECT_THROW(router_.add("/a/{}", none), std::invalid_argument);
  EXPECT_THROW(router_.add("/a/x{y}", none), std::invalid_argument);
  EXPECT_THROW(router_.add("/healthz", none), std::invalid_argument);
  EXPECT_THROW(router_.addFamily("/api/", "again", none), std::invalid_argument);
  EXPECT_THROW(router_.addFamily("/api", "no slash", none), std::invalid_argument);
}

TEST_F(RouterTest, UnownedRequestsAreLeftToTheCaller) {
  Request req;
  req.path = "/watch/live_1";
  bool answered = false;
  Responder respond([&answered](Response) { answered = true; });
  EXPECT_FALSE(router_.dispatch(req, respond));
  EXPECT_EQ(req.path, "/watch/live_1");
  EXPECT_TRUE(respond);
  respond(Response{});
  EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace liveroom::http

// StaticSite: page routes, files, content types, caching headers, what it leaves to
// the API and media routes, and the ways a path could try to leave the web root.
#include "web/static_site.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace liveroom::web {
namespace {

namespace fs = std::filesystem;

std::string header(const http::Response& res, std::string_view name) {
  for (const auto& [n, v] : res.headers) {
    if (n == name) return v;
  }
  return {};
}

class StaticSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("liveroom-web-test-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    root_ = base_ / "web";
    fs::create_directories(root_ / "js");
    fs::create_directories(root_ / "css");
    fs::create_directories(root_ / "vendor");
    fs::create_directories(root_ / "node_modules" / "hls.js");
    write(root_ / "index.html", "<h1>lobby</h1>");
    write(root_ / "studio.html", "<h1>studio</h1>");
    write(root_ / "watch.html", "<h1>watch</h1>");
    write(root_ / "js" / "whip.js", "export const x = 1;");
    write(root_ / "css" / "app.css", "body{}");
    write(root_ / "vendor" / "hls.min.js", "var Hls;");
    write(root_ / "node_modules" / "hls.js" / "package.json", "{}");
    write(root_ / ".hidden", "secret");
    write(base_ / "outside.txt", "outside");
  }
  void TearDown() override { fs::remove_all(base_); }

  static void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

  std::optional<http::Response> get(std::string path, std::string method = "GET") const {
    http::Request req;
    req.method = std::move(method);
    req.target = path;
    size_t q = path.find('?');
    req.path = path.substr(0, q);
    if (q != std::string::npos) req.query = path.substr(q + 1);
    return StaticSite(root_).handle(req);
  }

  fs::path base_;
  fs::path root_;
};

TEST_F(StaticSiteTest, PageRoutes) {
  auto lobby = get("/");
  ASSERT_TRUE(lobby);
  EXPECT_EQ(lobby->status, 200);
  EXPECT_EQ(lobby->bodyView(), "<h1>lobby</h1>");
  EXPECT_EQ(header(*lobby, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(header(*lobby, "Cache-Control"), "no-cache");
  EXPECT_FALSE(header(*lobby, "Content-Security-Policy").empty());

  auto studio = get("/studio/live_abc123");
  ASSERT_TRUE(studio);
  EXPECT_EQ(studio->status, 200);
  EXPECT_EQ(studio->bodyView(), "<h1>studio</h1>");

  auto watch = get("/watch/live_abc123?autoplay=1");
  ASSERT_TRUE(watch);
  EXPECT_EQ(watch->status, 200);
  EXPECT_EQ(watch->bodyView(), "<h1>watch</h1>");

  auto index = get("/index.html");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->bodyView(), "<h1>lobby</h1>");
}

TEST_F(StaticSiteTest, PageRoutesNeedOneRoomId) {
  for (const char* path : {"/studio", "/studio/", "/watch/a/b", "/watch/bad%20id", "/studio/a.b"}) {
    auto res = get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
}

TEST_F(StaticSiteTest, FilesWithTheirTypes) {
  auto js = get("/js/whip.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->bodyView(), "export const x = 1;");
  EXPECT_EQ(header(*js, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(header(*js, "X-Content-Type-Options"), "nosniff");
  EXPECT_TRUE(header(*js, "Content-Security-Policy").empty());

  auto css = get("/css/app.css");
  ASSERT_TRUE(css);
  EXPECT_EQ(header(*css, "Content-Type"), "text/css; charset=utf-8");

  auto hls = get("/vendor/hls.min.js");
  ASSERT_TRUE(hls);
  EXPECT_EQ(hls->status, 200);
}

TEST_F(StaticSiteTest, ContentTypes) {
  EXPECT_EQ(contentTypeFor("a.html"), "text/html; charset=utf-8");
  EXPECT_EQ(contentTypeFor("A.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(contentTypeFor("hls.min.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(contentTypeFor("icon.svg"), "image/svg+xml");
  EXPECT_EQ(contentTypeFor("x.map"), "application/json");
  EXPECT_EQ(contentTypeFor("README"), "application/octet-stream");
  EXPECT_EQ(contentTypeFor("archive.tar.zst"), "application/octet-stream");
}

TEST_F(StaticSiteTest, MissingFilesUnderTheSiteAre404) {
  for (const char* path : {"/js/missing.js", "/js/", "/js", "/css/../css"}) {
    auto res = get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
}

TEST_F(StaticSiteTest, LeavesOtherRoutesToTheCaller) {
  for (const char* path :
       {"/api/livestream/join", "/api/livestream/rooms/live_x", "/api", "/healthz", "/readyz", "/whip/live_x", "/whip",
        "/whep/live_x", "/0123456789abcdef0123456789abcdefkuid/webRTC/publish", "/uid/webRTC/play",
        "/uid/webRTC/play/session", "/nothing-here", "/favicon.ico", "/%zz", "relative"}) {
    EXPECT_FALSE(get(path)) << path;
    EXPECT_FALSE(get(path, "POST")) << path;
  }
}

TEST_F(StaticSiteTest, OtherMethodsAre405) {
  for (const char* path : {"/", "/studio/live_x", "/watch/live_x", "/js/whip.js"}) {
    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
      auto res = get(path, method);
      ASSERT_TRUE(res) << method << " " << path;
      EXPECT_EQ(res->status, 405) << method << " " << path;
      EXPECT_EQ(header(*res, "Allow"), "GET, HEAD");
    }
  }
  auto head = get("/", "HEAD");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);  // the server drops the body of HEAD replies
}

TEST_F(StaticSiteTest, NoTraversal) {
  for (const char* path :
       {"/js/../../outside.txt", "/js/%2e%2e/%2e%2e/outside.txt", "/js/%2E%2E/index.html", "/js/..%2f..%2foutside.txt",
        "/js/whip.js%00.css", "/js/%5c..%5c..%5coutside.txt", "/js/./whip.js", "/css//app.css"}) {
    auto res = get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
    EXPECT_NE(res->bodyView(), "outside") << path;
  }
  auto bad_escape = get("/js/%zz");
  ASSERT_TRUE(bad_escape);
  EXPECT_EQ(bad_escape->status, 400);
  // A first segment that is itself a traversal is never the site's.
  EXPECT_FALSE(get("/../outside.txt"));
  EXPECT_FALSE(get("/%2e%2e/outside.txt"));
}

TEST_F(StaticSiteTest, HiddenFilesAndNodeModulesAreNotServed) {
  EXPECT_FALSE(get("/.hidden"));
  EXPECT_FALSE(get("/node_modules/hls.js/package.json"));
  auto nested = get("/js/.hidden");
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->status, 404);
}

TEST_F(StaticSiteTest, SymlinksMustStayInsideTheRoot) {
  std::error_code ec;
  fs::create_symlink(base_ / "outside.txt", root_ / "js" / "escape.js", ec);
  ASSERT_FALSE(ec) << ec.message();
  fs::create_directory_symlink(base_, root_ / "up", ec);
  ASSERT_FALSE(ec) << ec.message();
  fs::create_symlink(root_ / "js" / "whip.js", root_ / "js" / "alias.js", ec);
  ASSERT_FALSE(ec) << ec.message();

  auto escape = get("/js/escape.js");
  ASSERT_TRUE(escape);
  EXPECT_EQ(escape->status, 404);
  auto up = get("/up/outside.txt");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->status, 404);
  auto alias = get("/js/alias.js");
  ASSERT_TRUE(alias);
  EXPECT_EQ(alias->status, 200);
  EXPECT_EQ(alias->bodyView(), "export const x = 1;");
}

TEST_F(StaticSiteTest, ConditionalGetAnswers304) {
  auto first = get("/js/whip.js");
  ASSERT_TRUE(first);
  std::string etag = header(*first, "ETag");
  ASSERT_FALSE(etag.empty());

  http::Request req;
  req.method = "GET";
  req.path = req.target = "/js/whip.js";
  req.headers = {{"if-none-match", "\"other\", W/" + etag}};
  auto again = StaticSite(root_).handle(req);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  EXPECT_EQ(header(*again, "ETag"), etag);

  req.headers = {{"if-none-match", "\"other\""}};
  auto changed = StaticSite(root_).handle(req);
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 200);
}

TEST_F(StaticSiteTest, ErrorBodiesComeFromTheInjectedBuilder) {
  StaticSiteOptions options;
  options.error_response = [](int status, std::string_view code, std::string_view) {
    http::Response res;
    res.status = status;
    res.body = std::string(code);
    return res;
  };
  StaticSite site(root_, options);
  http::Request req;
  req.method = "GET";
  req.path = req.target = "/js/missing.js";
  auto res = site.handle(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->bodyView(), "not_found");
}

TEST_F(StaticSiteTest, MissingRootAnswers404ForPages) {
  StaticSite site(base_ / "does-not-exist");
  http::Request req;
  req.method = "GET";
  req.path = req.target = "/";
  auto res = site.handle(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  req.path = req.target = "/js/whip.js";
  EXPECT_FALSE(site.handle(req));
}

TEST_F(StaticSiteTest, RepliesShareOneCachedCopyUntilTheFileChanges) {
  StaticSite site(root_);
  http::Request req;
  req.method = "GET";
  req.path = req.target = "/js/whip.js";
  auto first = site.handle(req);
  auto second = site.handle(req);
  ASSERT_TRUE(first && second);
  ASSERT_TRUE(first->shared_body);
  EXPECT_EQ(first->shared_body, second->shared_body);  // the same bytes, not a copy per reply
  EXPECT_TRUE(first->body.empty());

  // An edit (other size) shows on the next request.
  write(root_ / "js" / "whip.js", "export const x = 22;");
  auto edited = site.handle(req);
  ASSERT_TRUE(edited);
  EXPECT_EQ(edited->bodyView(), "export const x = 22;");
  EXPECT_NE(edited->shared_body, first->shared_body);
  EXPECT_EQ(first->bodyView(), "export const x = 1;");  // a reply in flight keeps its bytes
}

TEST_F(StaticSiteTest, LargeFilesAndAFullCacheAreStreamedFromDisk) {
  const std::string big(4096, 'x');
  write(root_ / "js" / "big.js", big);
  StaticSiteOptions small;
  small.max_cached_file = 1024;
  small.cache_bytes = 2048;
  StaticSite site(root_, small);
  http::Request req;
  req.method = "GET";
  req.path = req.target = "/js/big.js";
  auto res = site.handle(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  ASSERT_TRUE(res->file);
  EXPECT_EQ(res->file->size, big.size());
  EXPECT_EQ(fs::path(res->file->path).filename(), "big.js");
  EXPECT_FALSE(res->shared_body);
  EXPECT_EQ(res->bodySize(), big.size());

  StaticSiteOptions tiny;
  tiny.cache_bytes = 4;  // smaller than any file here
  StaticSite no_room(root_, tiny);
  req.path = req.target = "/js/whip.js";
  auto streamed = no_room.handle(req);
  ASSERT_TRUE(streamed);
  EXPECT_TRUE(streamed->file);
}

TEST_F(StaticSiteTest, ALinkCutShortShowsThePageUnderA404AndBrowsersGetAReadable404) {
  StaticSite site(root_);
  http::Request req;
  req.method = "GET";
  req.path = req.target = "/watch/live_abc).";  // pasted with punctuation from a chat
  auto page = site.handle(req);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 404);
  EXPECT_EQ(page->bodyView(), "<h1>watch</h1>");  // the page says "not found" in its language

  req.path = req.target = "/no/such/thing";
  EXPECT_FALSE(site.notFoundPage(req));  // an API client: the API's JSON
  req.headers = {{"accept", "text/html,application/xhtml+xml"}};
  auto human = site.notFoundPage(req);
  ASSERT_TRUE(human);
  EXPECT_EQ(human->status, 404);
  EXPECT_NE(human->bodyView().find("<a href=\"/\">"), std::string_view::npos);
  write(root_ / "404.html", "<h1>không tìm thấy</h1>");
  EXPECT_EQ(site.notFoundPage(req)->bodyView(), "<h1>không tìm thấy</h1>");
  req.method = "POST";
  EXPECT_FALSE(site.notFoundPage(req));
}

}  // namespace
}  // namespace liveroom::web

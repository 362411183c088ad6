// Links in replies: the base (configured public URL, else the request's Host), the watch and
// studio URLs, splicing watch_url into a cached view, and QR codes as SVG.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/http_helpers.hpp"
#include "api/qr_svg.hpp"
#include "api/room_views.hpp"

namespace liveroom::api {
namespace {

http::Request withHost(std::string host) {
  http::Request req;
  req.headers.emplace_back("host", std::move(host));
  return req;
}

TEST(Links, BaseIsThePublicUrlElseTheRequestsHost) {
  EXPECT_EQ(linkBase(withHost("192.168.1.5:8080"), "https://class.example/", "http", ""), "https://class.example");
  EXPECT_EQ(linkBase(withHost("192.168.1.5:8080"), "", "http", ""), "http://192.168.1.5:8080");
  EXPECT_EQ(linkBase(withHost("[fd00::5]:8443"), "", "https", ""), "https://[fd00::5]:8443");
  EXPECT_EQ(linkBase(withHost("lop-hoc.local"), "", "https", ""), "https://lop-hoc.local");
  // A Host that is not a plain host[:port] never makes it into a link.
  for (const char* bad : {"evil.example/path", "a b", "x\"><script>", "a@b", "", "h\r\nX: y"}) {
    EXPECT_EQ(linkBase(withHost(bad), "", "http", "http://fallback:1"), "http://fallback:1") << bad;
  }
  EXPECT_EQ(linkBase(http::Request{}, "", "http", ""), "");  // no Host: relative links
}

TEST(Links, WatchAndStudioUrls) {
  EXPECT_EQ(watchUrl("http://h:1", "live_abc"), "http://h:1/watch/live_abc");
  // The host token rides in the fragment, which browsers never send to a server.
  EXPECT_EQ(studioUrl("http://h:1", "live_abc", "lrh_tok"), "http://h:1/studio/live_abc#token=lrh_tok");
  EXPECT_EQ(watchUrl("", "live_abc"), "/watch/live_abc");
}

TEST(Links, WatchUrlIsSplicedIntoACachedView) {
  const std::string view = R"({"room_id":"live_abc","title":"Lớp học"})";
  const auto spliced = nlohmann::json::parse(withWatchUrl(view, "http://h/watch/live_abc"));
  EXPECT_EQ(spliced["watch_url"], "http://h/watch/live_abc");
  EXPECT_EQ(spliced["title"], "Lớp học");
  EXPECT_EQ(nlohmann::json::parse(withWatchUrl("{}", "u")), (nlohmann::json{{"watch_url", "u"}}));
  EXPECT_EQ(nlohmann::json::parse(withWatchUrl(view, "a\"b"))["watch_url"], "a\"b");  // escaped
}

TEST(QrSvg, EncodesLinksAndRefusesWhatDoesNotFit) {
  auto svg = qrSvg("http://192.168.1.5:8080/watch/live_abcDEF123456");
  ASSERT_TRUE(svg);
  EXPECT_EQ(svg->rfind("<svg ", 0), 0u);
  EXPECT_NE(svg->find("viewBox=\"0 0 "), std::string::npos);
  EXPECT_NE(svg->find("<path"), std::string::npos);
  EXPECT_FALSE(qrSvg(""));
  EXPECT_FALSE(qrSvg(std::string(4000, 'a')));  // over a version-40 symbol's capacity
}

}  // namespace
}  // namespace liveroom::api

// ICE servers for WHIP/WHEP clients: URL checks, coturn REST credentials, Link headers.
#include "api/ice_servers.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace liveroom::api {
namespace {

TEST(IceServerUrl, AcceptsWhatBrowsersAccept) {
  for (const char* url : {"stun:stun.example.net", "stun:127.0.0.1:3478", "stuns:stun.example.net:5349",
                          "turn:turn.example.net:3478?transport=udp", "turn:10.0.0.1?transport=tcp",
                          "turns:turn.example.net:5349", "turn:[::1]:3478", "stun:[2001:db8::1]"}) {
    EXPECT_NO_THROW(validateIceServerUrl(url)) << url;
  }
}

TEST(IceServerUrl, RefusesWithAReason) {
  for (const char* url :
       {"", "stun", "http://x", "turn://host:3478", "turn:", "turn::3478", "turn:host:", "turn:host:0",
        "turn:host:65536", "turn:host:port", "turn:host?transport=sctp", "stun:host?transport=udp", "turn:fe80::1:3478",
        "turn:[::1", "turn:host name", "turn:host\r\nX: y", "turn:host>; rel=\"x\""}) {
    EXPECT_THROW(validateIceServerUrl(url), std::invalid_argument) << url;
  }
}

TEST(TurnRestCredential, MatchesCoturnsScheme) {
  // base64(HMAC-SHA1("north", "1700000000:liveroom")), computed with
  //   printf '1700000000:liveroom' | openssl dgst -sha1 -hmac north -binary | base64
  const TurnCredential c = turnRestCredential("north", "liveroom", 1700000000);
  EXPECT_EQ(c.username, "1700000000:liveroom");
  EXPECT_EQ(c.password, "zXHgrJjuhGa6LbCwMJ4tysaf4zE=");
}

TEST(IceServers, LinkHeadersCarryCredentialsOnlyForTurn) {
  IceServersOptions o;
  o.urls = {"stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp"};
  o.turn_secret = "north";
  o.credential_ttl = std::chrono::seconds(3600);
  const IceServers servers(o);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1699996400));
  const auto links = servers.linkHeaders(now);
  ASSERT_EQ(links.size(), 2u);
  EXPECT_EQ(links[0], "<stun:127.0.0.1:3478>; rel=\"ice-server\"");
  EXPECT_EQ(links[1],
            "<turn:127.0.0.1:3478?transport=udp>; rel=\"ice-server\"; username=\"1700000000:liveroom\"; "
            "credential=\"zXHgrJjuhGa6LbCwMJ4tysaf4zE=\"; credential-type=\"password\"");
}

TEST(IceServers, StaticCredentialsAreQuoted) {
  IceServersOptions o;
  o.urls = {"turns:turn.example.net:5349"};
  o.turn_username = "class\"room";
  o.turn_password = "p\\w";
  const auto links = IceServers(o).linkHeaders(std::chrono::system_clock::now());
  ASSERT_EQ(links.size(), 1u);
  EXPECT_NE(links[0].find("username=\"class\\\"room\""), std::string::npos) << links[0];
  EXPECT_NE(links[0].find("credential=\"p\\\\w\""), std::string::npos) << links[0];
}

TEST(IceServers, RefusesIncompleteSettings) {
  const auto make = [](std::vector<std::string> urls, std::string secret, std::string user, std::string pass) {
    IceServersOptions o;
    o.urls = std::move(urls);
    o.turn_secret = std::move(secret);
    o.turn_username = std::move(user);
    o.turn_password = std::move(pass);
    return IceServers(o);
  };
  EXPECT_THROW(make({"turn:h:3478"}, "", "", ""), std::invalid_argument);         // no credentials
  EXPECT_THROW(make({"stun:h"}, "s", "", ""), std::invalid_argument);             // secret, no TURN
  EXPECT_THROW(make({"turn:h"}, "s", "u", "p"), std::invalid_argument);           // both kinds
  EXPECT_THROW(make({"turn:h"}, "", "u", ""), std::invalid_argument);             // half a pair
  EXPECT_THROW(make({"turn:h", "bogus:h"}, "s", "", ""), std::invalid_argument);  // a bad URL
  EXPECT_TRUE(make({}, "", "", "").empty());
  EXPECT_TRUE(make({}, "", "", "").linkHeaders(std::chrono::system_clock::now()).empty());
  EXPECT_NO_THROW(make({"stun:h", "turn:h"}, "s", "", ""));
}

}  // namespace
}  // namespace liveroom::api

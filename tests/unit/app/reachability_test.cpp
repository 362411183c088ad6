// The startup self-check of ICE candidates against the public URL.
#include "app/reachability.hpp"

#include <gtest/gtest.h>

namespace liveroom::app {
namespace {

TEST(Reachability, ScopesOfAddresses) {
  EXPECT_EQ(addressScope("127.0.0.1"), AddressScope::Loopback);
  EXPECT_EQ(addressScope("127.8.9.1"), AddressScope::Loopback);
  EXPECT_EQ(addressScope("::1"), AddressScope::Loopback);
  for (const char* ip : {"10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.20", "100.64.0.1", "169.254.3.3",
                         "fd00::1", "fc12::3", "fe80::1"}) {
    EXPECT_EQ(addressScope(ip), AddressScope::Private) << ip;
  }
  for (const char* ip : {"203.0.113.7", "172.32.0.1", "8.8.8.8", "2001:db8::1", "2606:4700::1"}) {
    EXPECT_EQ(addressScope(ip), AddressScope::Public) << ip;
  }
}

TEST(Reachability, UrlHosts) {
  EXPECT_EQ(urlHost("https://class.example.org/x"), "class.example.org");
  EXPECT_EQ(urlHost("http://127.0.0.1:8080"), "127.0.0.1");
  EXPECT_EQ(urlHost("https://[::1]:8443/watch"), "::1");
  EXPECT_EQ(urlHost("https://user@host:1"), "host");
  EXPECT_EQ(urlHost("no scheme"), "");
}

TEST(Reachability, LoopbackOnlyIsFineForThisMachineAndWrongForOthers) {
  EXPECT_EQ(candidateReachabilityWarning({"127.0.0.1"}, "http://127.0.0.1:8080", {}), std::nullopt);
  EXPECT_EQ(candidateReachabilityWarning({"127.0.0.1", "::1"}, "http://localhost:8080", {}), std::nullopt);
  const auto w = candidateReachabilityWarning({"127.0.0.1"}, "https://10.0.0.5:8443", {});
  ASSERT_TRUE(w);
  EXPECT_NE(w->find("loopback"), std::string::npos) << *w;
  EXPECT_NE(w->find("--webrtc-ip"), std::string::npos) << *w;
}

TEST(Reachability, PrivateCandidatesBehindAPublicUrl) {
  // A class on the school's LAN: private everywhere, nothing to say.
  EXPECT_EQ(candidateReachabilityWarning({"192.168.1.20", "127.0.0.1"}, "https://192.168.1.20:8443", {}), std::nullopt);
  EXPECT_EQ(candidateReachabilityWarning({"192.168.1.20"}, "http://liveroom.lan:8080", {}), std::nullopt);
  // Public URL, private candidates: warn, naming the flag and the URL.
  const auto w = candidateReachabilityWarning({"10.0.0.5", "127.0.0.1"}, "https://class.example.org", {});
  ASSERT_TRUE(w);
  EXPECT_NE(w->find("--webrtc-ip"), std::string::npos) << *w;
  EXPECT_NE(w->find("https://class.example.org"), std::string::npos) << *w;
  // ... unless a TURN server relays, or a public candidate is there.
  EXPECT_EQ(candidateReachabilityWarning({"10.0.0.5"}, "https://class.example.org", {"turn:turn.example.org:3478"}),
            std::nullopt);
  EXPECT_EQ(candidateReachabilityWarning({"10.0.0.5", "203.0.113.7"}, "https://class.example.org", {}), std::nullopt);
}

}  // namespace
}  // namespace liveroom::app

// Ids, host tokens, hashing and constant-time comparison of rooms/secrets.
#include "rooms/secrets.hpp"

#include <gtest/gtest.h>

#include <set>

#include "rooms/validation.hpp"

namespace liveroom::rooms {
namespace {

TEST(Secrets, RoomIdsAreWellFormedAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = newRoomId();
    EXPECT_TRUE(isWellFormedRoomId(id)) << id;
    EXPECT_TRUE(seen.insert(id).second);
  }
}

TEST(Secrets, Base62UsesTheWholeAlphabet) {
  std::string s = randomBase62(20000);
  std::set<char> chars(s.begin(), s.end());
  EXPECT_EQ(chars.size(), 62u);
}

TEST(Secrets, HostTokenShape) {
  std::string t = newHostToken();
  EXPECT_EQ(t.substr(0, 4), "lrh_");
  EXPECT_EQ(t.size(), 47u);
  EXPECT_NE(t, newHostToken());
}

TEST(Secrets, Sha256KnownVector) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Secrets, TokenMatching) {
  std::string token = newHostToken();
  std::string hash = sha256Hex(token);
  EXPECT_TRUE(tokenMatchesHash(token, hash));
  EXPECT_FALSE(tokenMatchesHash(token + "x", hash));
  EXPECT_FALSE(tokenMatchesHash("", hash));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
}

}  // namespace
}  // namespace liveroom::rooms

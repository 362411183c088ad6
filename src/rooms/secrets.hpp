// Random identifiers and host tokens, and how tokens are kept (SHA-256) and checked
// (constant time). OpenSSL's CSPRNG is the only source of randomness.
#pragma once

#include <string>
#include <string_view>

namespace liveroom::rooms {

// `length` uniformly random characters of [0-9A-Za-z].
std::string randomBase62(size_t length);
// "live_" + 16 base62 characters (~95 bits).
std::string newRoomId();
// A host token: "lrh_" + 43 base62 characters (~256 bits). Shown once, stored hashed.
std::string newHostToken();
// Lowercase hex SHA-256.
std::string sha256Hex(std::string_view data);
// Equality in time independent of where the inputs differ.
bool constantTimeEquals(std::string_view a, std::string_view b);
// True when sha256Hex(token) equals `expected_hash`, compared in constant time.
bool tokenMatchesHash(std::string_view token, std::string_view expected_hash);

}  // namespace liveroom::rooms

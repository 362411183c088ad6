// Randomness, hashing and constant-time comparison for ids and host tokens.
#include "rooms/secrets.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <span>
#include <stdexcept>

#include "common/hex.hpp"
#include "common/random.hpp"

namespace liveroom::rooms {

std::string randomBase62(size_t length) { return randomString(length, kBase62); }

std::string newRoomId() { return "live_" + randomBase62(16); }

std::string newHostToken() { return "lrh_" + randomBase62(43); }

std::string sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return hexEncode(std::span<const uint8_t>(digest, len));
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;  // lengths are not secret here (fixed-size hashes)
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool tokenMatchesHash(std::string_view token, std::string_view expected_hash) {
  return constantTimeEquals(sha256Hex(token), expected_hash);
}

}  // namespace liveroom::rooms

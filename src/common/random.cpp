// Random values (see random.hpp).
#include "common/random.hpp"

#include <openssl/rand.h>

#include <array>
#include <climits>
#include <stdexcept>
#include <vector>

#include "common/hex.hpp"

namespace liveroom {

void randomBytes(void* out, size_t size) {
  auto* bytes = static_cast<unsigned char*>(out);
  while (size > 0) {  // RAND_bytes takes an int
    const int chunk = size > static_cast<size_t>(INT_MAX) ? INT_MAX : static_cast<int>(size);
    if (RAND_bytes(bytes, chunk) != 1) throw std::runtime_error("RAND_bytes failed: no randomness");
    bytes += chunk;
    size -= static_cast<size_t>(chunk);
  }
}

std::string randomHex(size_t bytes) {
  std::vector<uint8_t> random(bytes);
  randomBytes(random.data(), random.size());
  return hexEncode(random);
}

std::string randomString(size_t length, std::string_view alphabet) {
  if (alphabet.size() < 2 || alphabet.size() > 256) throw std::invalid_argument("randomString: 2..256 symbols");
  // The largest multiple of the alphabet's size a byte can reach: bytes at or above it are
  // drawn again, so every symbol is equally likely.
  const unsigned limit = 256 - 256 % static_cast<unsigned>(alphabet.size());
  std::string out;
  out.reserve(length);
  std::array<unsigned char, 64> buf{};
  while (out.size() < length) {
    randomBytes(buf.data(), buf.size());
    for (unsigned char b : buf) {
      if (b >= limit) continue;
      out.push_back(alphabet[b % alphabet.size()]);
      if (out.size() == length) break;
    }
  }
  return out;
}

}  // namespace liveroom

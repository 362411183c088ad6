// Random values for ids, secrets and protocol fields, the one implementation: OpenSSL's
// RAND_bytes (a CSPRNG) behind each, and a std::runtime_error when it cannot deliver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace liveroom {

void randomBytes(void* out, size_t size);

// Any value of a trivially copyable type, e.g. randomValue<uint32_t>().
template <typename T>
T randomValue() {
  T value;
  randomBytes(&value, sizeof value);
  return value;
}

// `bytes` random bytes as lower-case hex (2 * bytes characters).
std::string randomHex(size_t bytes);

// `length` characters of `alphabet` (2..256 symbols), each equally likely: bytes that would
// favour the first symbols are drawn again.
std::string randomString(size_t length, std::string_view alphabet);

// The 62 ASCII letters and digits.
inline constexpr std::string_view kBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

}  // namespace liveroom

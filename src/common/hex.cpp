// Hex text <-> bytes (see hex.hpp).
#include "common/hex.hpp"

#include <stdexcept>

namespace liveroom {

int hexDigitValue(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string hexEncode(std::span<const uint8_t> bytes, bool upper, char separator) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * (separator != '\0' ? 3 : 2));
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i != 0 && separator != '\0') out.push_back(separator);
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 15]);
  }
  return out;
}

std::vector<uint8_t> hexDecode(std::string_view text) {
  if (text.size() % 2 != 0) throw std::invalid_argument("hex: odd number of digits");
  std::vector<uint8_t> out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = hexDigitValue(text[i]);
    const int lo = hexDigitValue(text[i + 1]);
    if (hi < 0 || lo < 0) throw std::invalid_argument("hex: not a hex digit");
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

}  // namespace liveroom

// UTF-8 well-formedness, for text from outside (request bodies, chain events) before it is
// stored or rendered as JSON.
#pragma once

#include <cstddef>
#include <string_view>

namespace liveroom {

// True when `s` is well-formed UTF-8 (no overlongs, surrogates, or code points > U+10FFFF).
bool isValidUtf8(std::string_view s);
// Number of code points in well-formed UTF-8.
size_t utf8Length(std::string_view s);
// Calls visit(code_point, byte_offset, byte_length) for each code point of well-formed UTF-8.
template <typename Visit>
void forEachCodePoint(std::string_view s, Visit&& visit) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    visit(cp, i, len);
    i += len;
  }
}

}  // namespace liveroom

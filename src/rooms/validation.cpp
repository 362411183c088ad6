// Title/host/room-id rules (see validation.hpp).
#include "rooms/validation.hpp"

#include <cstdint>

#include "common/error.hpp"
#include "common/utf8.hpp"

namespace liveroom::rooms {

std::string_view trimAscii(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

namespace {

bool isUnicodeSpace(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 ||
         c == 0xFEFF;
}

// Why `c` may not appear in display text, or nullptr.
const char* forbiddenReason(char32_t c) {
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F)) return "control characters";
  if (c == 0x2028 || c == 0x2029) return "line or paragraph separators";
  if ((c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)) return "bidirectional override characters";
  if ((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE) return "noncharacters";
  return nullptr;
}

}  // namespace

std::string normalizeDisplayText(std::string_view text, std::string_view field, size_t max_chars) {
  const std::string name(field);
  if (!isValidUtf8(text)) throw Error(codes::kInvalidField, name + " must be valid UTF-8");
  // Trim Unicode white space (an IME's ideographic space, a pasted no-break space) at both ends.
  size_t begin = text.size();
  size_t end = 0;
  forEachCodePoint(text, [&](char32_t c, size_t offset, size_t length) {
    if (isUnicodeSpace(c)) return;
    if (begin == text.size()) begin = offset;
    end = offset + length;
  });
  const std::string_view trimmed = begin < end ? text.substr(begin, end - begin) : std::string_view();
  const size_t chars = utf8Length(trimmed);
  if (chars == 0) throw Error(codes::kInvalidField, name + " must not be empty");
  if (chars > max_chars) {
    throw Error(codes::kInvalidField, name + " must be at most " + std::to_string(max_chars) + " characters (got " +
                                          std::to_string(chars) + ")");
  }
  forEachCodePoint(trimmed, [&](char32_t c, size_t, size_t) {
    if (const char* why = forbiddenReason(c)) throw Error(codes::kInvalidField, name + " must not contain " + why);
  });
  return std::string(trimmed);
}

std::string normalizeTitle(std::string_view title) { return normalizeDisplayText(title, "title", kMaxTitleChars); }

std::string normalizeHost(std::string_view host) { return normalizeDisplayText(host, "host", kMaxHostChars); }

bool isWellFormedRoomId(std::string_view id) {
  constexpr std::string_view prefix = "live_";
  if (id.substr(0, prefix.size()) != prefix) return false;
  std::string_view rest = id.substr(prefix.size());
  if (rest.size() < 12 || rest.size() > 64) return false;
  for (char c : rest) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace liveroom::rooms

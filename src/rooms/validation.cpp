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

std::string normalizeTitle(std::string_view title) {
  if (!isValidUtf8(title)) throw Error(codes::kInvalidField, "title must be valid UTF-8");
  std::string_view trimmed = trimAscii(title);
  size_t chars = utf8Length(trimmed);
  if (chars == 0) throw Error(codes::kInvalidField, "title must not be empty");
  if (chars > kMaxTitleChars) {
    throw Error(codes::kInvalidField, "title must be at most 200 characters (got " + std::to_string(chars) + ")");
  }
  for (char ch : trimmed) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) throw Error(codes::kInvalidField, "title must not contain control characters");
  }
  return std::string(trimmed);
}

void validateHost(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostChars) {
    throw Error(codes::kInvalidField, "host must be 1 to 64 characters");
  }
  for (char c : host) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '@' || c == '-';
    if (!ok) throw Error(codes::kInvalidField, "host may contain only letters, digits and _ . @ -");
  }
}

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

// Cursor encoding: base64url("<created_at_ms>:<room_id>"), no padding.
#include "api/cursor.hpp"

#include <charconv>

#include "rooms/validation.hpp"

namespace liveroom::api {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  size_t i = 0;
  while (i + 3 <= in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
    i += 3;
  }
  size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (rest == 2) v |= uint8_t(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> unbase64url(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}
}  // namespace

std::string encodeCursor(const ListCursor& cursor) {
  return base64url(std::to_string(cursor.created_at_ms) + ":" + cursor.room_id);
}

std::optional<ListCursor> decodeCursor(std::string_view text) {
  if (text.empty() || text.size() > 200) return std::nullopt;
  auto raw = unbase64url(text);
  if (!raw) return std::nullopt;
  size_t colon = raw->find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  ListCursor cursor;
  auto [ptr, ec] = std::from_chars(raw->data(), raw->data() + colon, cursor.created_at_ms);
  if (ec != std::errc() || ptr != raw->data() + colon || cursor.created_at_ms < 0) return std::nullopt;
  cursor.room_id = raw->substr(colon + 1);
  if (!rooms::isWellFormedRoomId(cursor.room_id)) return std::nullopt;
  return cursor;
}

}  // namespace liveroom::api

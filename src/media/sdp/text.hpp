// Small allocation-free string_view helpers shared by the SDP parsers and the negotiation code.
// Internal to src/media/sdp: nothing here throws; number parsing reports failure with std::optional.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace liveroom::media::sdp::text {

inline char toLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (toLower(a[i]) != toLower(b[i])) return false;
  }
  return true;
}

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = toLower(c);
  return out;
}

inline bool isSpace(char c) { return c == ' ' || c == '\t'; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Splits at the first `sep`: returns what precedes it and leaves the rest (after `sep`) in `s`.
// Without `sep`, returns all of `s` and leaves it empty.
inline std::string_view cut(std::string_view& s, char sep) {
  const std::size_t pos = s.find(sep);
  std::string_view head = s.substr(0, pos);
  s = pos == std::string_view::npos ? std::string_view{} : s.substr(pos + 1);
  return head;
}

// Next space-separated token (runs of spaces/tabs count as one separator); empty at the end.
inline std::string_view nextToken(std::string_view& s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  std::size_t n = 0;
  while (n < s.size() && !isSpace(s[n])) ++n;
  std::string_view token = s.substr(0, n);
  s.remove_prefix(n);
  return token;
}

template <typename T>
std::optional<T> parseUnsigned(std::string_view s) {
  if (s.empty()) return std::nullopt;
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

inline bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace liveroom::media::sdp::text

// The domain's rules for what a title, host and room id may be. Pure functions; a bad
// value throws liveroom::Error(invalid_field) with a message naming the field.
#pragma once

#include <string>
#include <string_view>

namespace liveroom::rooms {

inline constexpr size_t kMaxTitleChars = 200;
inline constexpr size_t kMaxHostChars = 64;

// True when `s` is well-formed UTF-8 (no overlongs, surrogates, or code points > U+10FFFF).
bool isValidUtf8(std::string_view s);
// Number of code points in well-formed UTF-8.
size_t utf8Length(std::string_view s);
// Trims ASCII whitespace at both ends.
std::string_view trimAscii(std::string_view s);

// Returns the trimmed title: 1..200 characters of valid UTF-8 with no control characters.
std::string normalizeTitle(std::string_view title);
// Checks 1..64 of [A-Za-z0-9_.@-].
void validateHost(std::string_view host);
// True for ids this server could have issued: "live_" + 12..64 base62 characters.
bool isWellFormedRoomId(std::string_view room_id);

}  // namespace liveroom::rooms

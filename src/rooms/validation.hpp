// The domain's rules for what a title, host and room id may be. Pure functions; a bad
// value throws liveroom::Error(invalid_field) with a message naming the field.
#pragma once

#include <string>
#include <string_view>

#include "common/utf8.hpp"

namespace liveroom::rooms {

inline constexpr size_t kMaxTitleChars = 200;
inline constexpr size_t kMaxHostChars = 64;

using liveroom::isValidUtf8;
using liveroom::utf8Length;

// Trims ASCII whitespace at both ends.
std::string_view trimAscii(std::string_view s);

// Text people see (titles, host names): valid UTF-8, trimmed of Unicode white space at both
// ends, then 1..max characters (code points) with no control characters (C0, DEL, C1), line or
// paragraph separators, bidirectional embeddings/overrides/isolates (U+202A-E, U+2066-9: they
// make a name display as another, "Trojan Source") or noncharacters. Any script, emoji
// included. Returns the trimmed text; throws invalid_field naming `field`.
std::string normalizeDisplayText(std::string_view text, std::string_view field, size_t max_chars);

// The trimmed title: normalizeDisplayText with 200 characters.
std::string normalizeTitle(std::string_view title);
// The trimmed host name: normalizeDisplayText with 64 characters ("Cô Lan", "user_123", "李老师").
std::string normalizeHost(std::string_view host);
// True for ids this server could have issued: "live_" + 12..64 base62 characters.
bool isWellFormedRoomId(std::string_view room_id);

}  // namespace liveroom::rooms

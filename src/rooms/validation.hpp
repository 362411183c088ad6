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

// Returns the trimmed title: 1..200 characters of valid UTF-8 with no control characters.
std::string normalizeTitle(std::string_view title);
// Checks 1..64 of [A-Za-z0-9_.@-].
void validateHost(std::string_view host);
// True for ids this server could have issued: "live_" + 12..64 base62 characters.
bool isWellFormedRoomId(std::string_view room_id);

}  // namespace liveroom::rooms

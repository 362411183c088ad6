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

}  // namespace liveroom

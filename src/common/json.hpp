// JSON from outside (request bodies, provider replies, webhooks), parsed with a depth cap: the
// nesting is measured by a linear scan first, so nothing deeper than the cap is ever built (a
// deep value would be copied and destroyed recursively) and the parser never throws.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace liveroom {

// Nesting depth every parser of outside JSON accepts; liveroom's own shapes need 4.
inline constexpr int kMaxJsonDepth = 32;

// Deepest nesting of arrays/objects outside strings.
int jsonNestingDepth(std::string_view text);

struct JsonParse {
  std::optional<nlohmann::json> value;  // nullopt: not JSON, or too deep
  bool too_deep = false;
};
JsonParse parseJsonBounded(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace liveroom

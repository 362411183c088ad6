// Depth-capped JSON parsing (see json.hpp).
#include "common/json.hpp"

#include <algorithm>

namespace liveroom {

int jsonNestingDepth(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

JsonParse parseJsonBounded(std::string_view text, int max_depth) {
  JsonParse out;
  if (jsonNestingDepth(text) > max_depth) {
    out.too_deep = true;
    return out;
  }
  auto value = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!value.is_discarded()) out.value = std::move(value);
  return out;
}

}  // namespace liveroom

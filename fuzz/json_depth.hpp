// The nesting depth of a parsed JSON value (a scalar is 0, [] is 1), measured on the tree: the
// oracle the JSON targets hold the parsers' depth cap (common/json.hpp) against.
#pragma once

#include <algorithm>

#include <nlohmann/json.hpp>

namespace liveroom::fuzz {

inline int jsonDepth(const nlohmann::json& j) {
  if (!j.is_structured()) return 0;
  int deepest = 0;
  for (const auto& child : j) deepest = std::max(deepest, jsonDepth(child));
  return deepest + 1;
}

}  // namespace liveroom::fuzz

// LineReader: splits SDP text (CRLF or LF) into numbered "<type>=<value>" lines, enforcing the
// per-line limit. Internal to src/media/sdp; shared by the offer and trickle-fragment parsers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "media/sdp/sdp_error.hpp"

namespace liveroom::media::sdp {

struct SdpLine {
  std::size_t number = 0;  // 1-based, counting every line of the input
  char type = 0;           // 'v', 'o', 'm', 'a', ...
  std::string_view value;  // after "<type>="
};

// An attribute line "a=<name>[:<value>]".
struct Attribute {
  std::string_view name;
  std::string_view value;
};

inline Attribute splitAttribute(std::string_view value) {
  const std::size_t colon = value.find(':');
  if (colon == std::string_view::npos) return {value, {}};
  return {value.substr(0, colon), value.substr(colon + 1)};
}

class LineReader {
 public:
  explicit LineReader(std::string_view text, std::size_t max_line_bytes) : rest_(text), max_line_(max_line_bytes) {}

  // Next non-empty line; false at the end. Throws SdpError for an over-long or malformed line.
  bool next(SdpLine& out) {
    while (!rest_.empty()) {
      const std::size_t nl = rest_.find('\n');
      std::string_view line = rest_.substr(0, nl);
      rest_ = nl == std::string_view::npos ? std::string_view{} : rest_.substr(nl + 1);
      ++number_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() > max_line_) {
        throw SdpError("line " + std::to_string(number_) + " is longer than " + std::to_string(max_line_) + " bytes");
      }
      if (line.empty()) continue;
      if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
        throw SdpError("line " + std::to_string(number_) + " is malformed");
      }
      out.number = number_;
      out.type = line[0];
      out.value = line.substr(2);
      return true;
    }
    return false;
  }

 private:
  std::string_view rest_;
  std::size_t max_line_;
  std::size_t number_ = 0;
};

[[noreturn]] inline void throwMalformed(const SdpLine& line, std::string_view what) {
  throw SdpError("line " + std::to_string(line.number) + " is malformed (" + std::string(what) + ")");
}

}  // namespace liveroom::media::sdp

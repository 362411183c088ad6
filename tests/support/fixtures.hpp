// Test data from ../shared/fixtures (LIVEROOM_FIXTURES_DIR), read as bytes.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace liveroom::test_support {

// The bytes of <fixtures>/<relative_path>, e.g. "cloudflare/live_input.create.200.json".
inline std::string readFixture(const std::string& relative_path) {
  const std::string path = std::string(LIVEROOM_FIXTURES_DIR) + "/" + relative_path;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace liveroom::test_support

// Reads ../shared/fixtures/sdp/<name> (LIVEROOM_FIXTURES_DIR) for the SDP unit tests. Same contract
// as test_support::readFixture, but built on std::filesystem::path: GCC 12 reports a false
// -Warray-bounds on readFixture's string concatenation in this translation unit.
#include "unit/media/sdp/sdp_fixtures.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace liveroom::media::sdp::fixtures {

namespace {
std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}
}  // namespace

std::string sdpFixture(const char* name) {
  return readFile(std::filesystem::path(LIVEROOM_FIXTURES_DIR) / "sdp" / name);
}

std::string sdpFixtureFromE2e(const char* name) {
  return readFile(std::filesystem::path(LIVEROOM_E2E_FIXTURES_DIR) / name);
}

}  // namespace liveroom::media::sdp::fixtures

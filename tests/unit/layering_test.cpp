// The layers of src/: CMakeLists.txt declares one library per folder and the folders each may
// use (liveroom_library(... USES ...)), and writes that graph to generated/layers.txt. Here every
// #include "folder/..." of every source is checked against it, so a layering mistake (rooms/
// reaching into api/, media/ into rooms/) fails the unit tests instead of compiling quietly.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace liveroom {
namespace {

namespace fs = std::filesystem;

struct Layer {
  bool recurse = false;
  std::set<std::string> uses;
};

std::map<std::string, Layer> readLayers() {
  std::map<std::string, Layer> layers;
  std::ifstream in(LIVEROOM_LAYERS_FILE);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string folder, recurse, used;
    if (!(words >> folder >> recurse)) continue;
    Layer& layer = layers[folder];
    layer.recurse = recurse == "TRUE";
    while (words >> used) layer.uses.insert(used);
  }
  return layers;
}

// The library a path under src/ ("rooms/room_service.cpp") belongs to: the deepest declared
// folder that holds it directly, or beneath it for a recursive one; empty when none.
std::string layerOf(const std::map<std::string, Layer>& layers, const std::string& path) {
  const std::string dir = fs::path(path).parent_path().generic_string();
  std::string best;
  for (const auto& [folder, layer] : layers) {
    const bool holds = dir == folder || (layer.recurse && dir.starts_with(folder + "/"));
    if (holds && folder.size() > best.size()) best = folder;
  }
  return best;
}

TEST(Layering, TheDeclaredGraphHasNoCycle) {
  const auto layers = readLayers();
  ASSERT_GE(layers.size(), 10u) << "read " << LIVEROOM_LAYERS_FILE;
  std::map<std::string, int> state;  // 1: on the path, 2: done
  std::function<bool(const std::string&)> acyclic = [&](const std::string& folder) {
    if (state[folder] == 1) return false;
    if (state[folder] == 2) return true;
    state[folder] = 1;
    for (const std::string& used : layers.at(folder).uses) {
      EXPECT_TRUE(layers.count(used)) << folder << " uses " << used << ", which is no library";
      if (layers.count(used) && !acyclic(used)) {
        ADD_FAILURE() << "cycle through " << folder << " -> " << used;
        return false;
      }
    }
    state[folder] = 2;
    return true;
  };
  for (const auto& [folder, layer] : layers) acyclic(folder);
}

TEST(Layering, EveryIncludeIsOfAFolderTheLibraryUses) {
  const auto layers = readLayers();
  ASSERT_FALSE(layers.empty());
  const fs::path src = fs::path(LIVEROOM_SOURCE_DIR) / "src";
  const std::regex include(R"re(^\s*#\s*include\s+"([^"]+)")re");
  size_t files = 0, checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    const std::string ext = entry.path().extension().string();
    if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp" && ext != ".in")) continue;
    const std::string path = fs::relative(entry.path(), src).generic_string();
    if (path == "main.cpp") continue;  // the executable: app only
    const std::string layer = layerOf(layers, path);
    EXPECT_FALSE(layer.empty()) << path << " is in no library of CMakeLists.txt";
    if (layer.empty()) continue;
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (!std::regex_search(line, m, include)) continue;
      const std::string target = m[1];
      if (target.find('/') == std::string::npos) continue;  // not a src/ path
      const std::string used = layerOf(layers, target);
      if (used.empty() || used == layer) continue;
      ++checked;
      EXPECT_TRUE(layers.at(layer).uses.count(used))
          << path << " includes " << target << ": " << layer << " does not use " << used
          << " (add it to liveroom_library(" << layer << " USES ...) if the arrow is right)";
    }
  }
  EXPECT_GT(files, 100u);
  EXPECT_GT(checked, 100u);
}

}  // namespace
}  // namespace liveroom

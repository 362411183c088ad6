// The data directory (--data-dir) holds secrets: the SQLite store (publish URLs, stream keys),
// the contract index's side table, media-secret. It is made private (0700, files 0600), and
// files an older liveroom created readable by others are tightened at start.
#pragma once

#include <filesystem>
#include <string>

namespace liveroom::app {

// Creates `dir` (and parents) if missing and makes it 0700 when liveroom owns it; files in it
// that liveroom writes (liveroom.db*, contract-*.db*, media-secret) lose group/other access.
// Throws std::runtime_error with the reason when the directory cannot be created.
void preparePrivateDataDir(const std::filesystem::path& dir);

}  // namespace liveroom::app

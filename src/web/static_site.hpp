// Serves the web pages (web/: plain HTML, CSS and ES modules, no build step) from a
// directory: the page routes (/, /studio/<room_id>, /watch/<room_id>) and the files
// under the root. Which paths belong to the API, the probes or the media server is the app's
// route table's business (http::Router): the app asks it first and hands the site only the
// paths no route owns; for a first path segment the root does not hold the site answers
// nullopt, and the caller falls through.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace liveroom::web {

struct StaticSiteOptions {
  // Builds error replies (404, 405, 400), so the body format can be the API's; the
  // default answers plain text.
  std::function<http::Response(int status, std::string_view code, std::string_view message)> error_response;
  // Files are kept in memory, shared by every reply that sends them (a slow reader holds no copy
  // of its own), up to this many bytes in all; files above max_cached_file, or when the cache is
  // full, are streamed from disk in small pieces instead.
  size_t cache_bytes = 64 * 1024 * 1024;
  size_t max_cached_file = 8 * 1024 * 1024;
};

class StaticSite {
 public:
  // `root` need not exist yet (pages then answer 404); it is resolved once here.
  explicit StaticSite(std::filesystem::path root, StaticSiteOptions options = {});

  // The reply for a web path, or nullopt when the path is not the site's (a first path segment
  // the root does not hold).
  // Each request checks the file's size and modification time, so an edited page shows on the
  // next reload; unchanged files are answered from the shared cache. Thread-safe.
  std::optional<http::Response> handle(const http::Request& req) const;

  const std::filesystem::path& root() const { return root_; }

  // For a browser (GET or HEAD accepting text/html) asking for a path nothing serves: a 404
  // page people can read (404.html in the root, else a short built-in one) instead of the API's
  // JSON; nullopt for any other client.
  std::optional<http::Response> notFoundPage(const http::Request& req) const;

 private:
  http::Response serveFile(const http::Request& req, const std::filesystem::path& relative) const;
  static bool acceptsHtml(const http::Request& req);
  http::Response error(int status, std::string_view code, std::string_view message) const;

  // The bytes of a file as of (size, mtime); nullptr when it is to be streamed instead.
  std::shared_ptr<const std::string> cachedBytes(const std::filesystem::path& full, uintmax_t size,
                                                 std::filesystem::file_time_type mtime) const;

  struct CacheEntry {
    uintmax_t size = 0;
    std::filesystem::file_time_type mtime{};
    std::shared_ptr<const std::string> bytes;
  };
  std::filesystem::path root_;  // canonical when it exists
  StaticSiteOptions options_;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, CacheEntry> cache_;
  mutable size_t cache_used_ = 0;
};

// Content-Type for a file name by its extension; application/octet-stream when unknown.
std::string_view contentTypeFor(std::string_view file_name);

}  // namespace liveroom::web

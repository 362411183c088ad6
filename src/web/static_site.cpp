// The web pages' file server (see static_site.hpp).
#include "web/static_site.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace liveroom::web {

namespace fs = std::filesystem;

namespace {

// Pages only load what this server sends, plus media and API calls to other origins (a
// Cloudflare room's WHIP/WHEP and HLS URLs); hls.js runs its demuxer in a blob: worker.
constexpr std::string_view kPageSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' https: http:; media-src 'self' blob: https: http:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::vector<std::string_view> splitSegments(std::string_view path) {
  std::vector<std::string_view> segments;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

// A decoded path segment that may name a file under the root: no traversal, no hidden
// files, nothing a filesystem would read as a separator or terminator.
bool isSafeSegment(std::string_view segment) {
  if (segment.empty() || segment.front() == '.') return false;  // also "." and ".."
  return std::none_of(segment.begin(), segment.end(), [](char c) { return c == '/' || c == '\\' || c == '\0'; });
}

// Room ids in page routes: the characters room ids are made of, bounded.
bool isRoomIdSegment(std::string_view segment) {
  if (segment.empty() || segment.size() > 128) return false;
  return std::all_of(segment.begin(), segment.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// `child` (canonical) is `root` or inside it.
bool isInside(const fs::path& root, const fs::path& child) {
  auto [root_end, child_it] = std::mismatch(root.begin(), root.end(), child.begin(), child.end());
  return root_end == root.end() || (std::next(root_end) == root.end() && root_end->empty());
}

std::string entityTag(uintmax_t size, fs::file_time_type mtime) {
  auto ticks = std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count();
  std::ostringstream out;
  out << '"' << std::hex << size << '-' << ticks << '"';
  return out.str();
}

bool ifNoneMatchHits(const http::Request& req, std::string_view etag) {
  auto header = req.header("if-none-match");
  if (!header) return false;
  std::string_view list = *header;
  if (list == "*") return true;
  // A list of tags, possibly weak (W/"..."): a weak match is enough for GET.
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view tag = list.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (startsWith(tag, "W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

http::Response plainTextError(int status, std::string_view, std::string_view message) {
  http::Response res;
  res.status = status;
  res.body = std::string(message) + "\n";
  res.set("Content-Type", "text/plain; charset=utf-8");
  res.set("Cache-Control", "no-store");
  return res;
}

}  // namespace

std::string_view contentTypeFor(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  }};
  size_t dot = file_name.rfind('.');
  if (dot != std::string_view::npos && file_name.find('/', dot) == std::string_view::npos) {
    std::string ext(file_name.substr(dot));
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const auto& [known, type] : kTypes) {
      if (ext == known) return type;
    }
  }
  return "application/octet-stream";
}

StaticSite::StaticSite(fs::path root, StaticSiteOptions options) : options_(std::move(options)) {
  std::error_code ec;
  fs::path absolute = fs::absolute(root, ec);
  if (ec) absolute = root;
  root_ = fs::weakly_canonical(absolute, ec);
  if (ec) root_ = absolute.lexically_normal();
  if (!options_.error_response) options_.error_response = plainTextError;
}

http::Response StaticSite::error(int status, std::string_view code, std::string_view message) const {
  return options_.error_response(status, code, message);
}

std::optional<http::Response> StaticSite::handle(const http::Request& req) const {
  const std::string& path = req.path;
  if (path.empty() || path.front() != '/') return std::nullopt;

  auto raw_segments = splitSegments(path);
  auto first = http::percentDecode(raw_segments.front(), false);
  if (!first) return std::nullopt;  // not a name the site could hold

  // Which file answers, and whether the path is the site's at all.
  fs::path relative;
  if (path == "/") {
    relative = "index.html";
  } else if (*first == "studio" || *first == "watch") {
    const bool one_segment = raw_segments.size() == 2 && !raw_segments[1].empty() && raw_segments[1].size() <= 256;
    if (!one_segment) {
      if (auto page = notFoundPage(req)) return page;
      return error(404, codes::kNotFound, "no such page: " + path + " (expected /" + *first + "/<room_id>)");
    }
    if (!isRoomIdSegment(raw_segments[1])) {
      // A link cut short or pasted with a trailing "." or ")": the page itself says the room
      // cannot be found (in the reader's language), under a 404.
      if (req.method != "GET" && req.method != "HEAD") return error(404, codes::kNotFound, "no such page: " + path);
      http::Response page = serveFile(req, *first + ".html");
      if (page.status == 200) page.status = 404;
      return page;
    }
    relative = *first + ".html";
  } else {
    std::error_code ec;
    if (!isSafeSegment(*first) || *first == "node_modules" || !fs::exists(fs::symlink_status(root_ / *first, ec))) {
      return std::nullopt;
    }
    for (const auto& raw : raw_segments) {
      auto segment = http::percentDecode(raw, false);
      if (!segment) return error(400, "invalid_path", "the path is not valid percent-encoding");
      if (!isSafeSegment(*segment)) return error(404, codes::kNotFound, "no such file: " + path);
      relative /= *segment;
    }
  }

  if (req.method != "GET" && req.method != "HEAD") {
    http::Response res = error(405, codes::kMethodNotAllowed, "method not allowed here; use GET");
    res.set("Allow", "GET, HEAD");
    return res;
  }
  return serveFile(req, relative);
}

bool StaticSite::acceptsHtml(const http::Request& req) {
  auto accept = req.header("accept");
  return accept && accept->find("text/html") != std::string_view::npos;
}

std::optional<http::Response> StaticSite::notFoundPage(const http::Request& req) const {
  if ((req.method != "GET" && req.method != "HEAD") || !acceptsHtml(req)) return std::nullopt;
  std::error_code ec;
  if (fs::is_regular_file(root_ / "404.html", ec)) {
    http::Request page_req = req;
    page_req.headers.erase(std::remove_if(page_req.headers.begin(), page_req.headers.end(),
                                          [](const auto& h) { return h.first == "if-none-match"; }),
                           page_req.headers.end());
    http::Response page = serveFile(page_req, "404.html");
    if (page.status == 200) {
      page.status = 404;
      return page;
    }
  }
  http::Response page;
  page.status = 404;
  page.body =
      "<!doctype html><meta charset=\"utf-8\"><title>Not found · liveroom</title>"
      "<h1>Not found</h1><p>Nothing is here. <a href=\"/\">Go to the lobby</a>.</p>\n";
  page.set("Content-Type", "text/html; charset=utf-8");
  page.set("Cache-Control", "no-store");
  page.set("Content-Security-Policy", std::string(kPageSecurityPolicy));
  return page;
}

http::Response StaticSite::serveFile(const http::Request& req, const fs::path& relative) const {
  std::error_code ec;
  // Symlinks are followed, but the file they land on must still be under the root.
  fs::path full = fs::weakly_canonical(root_ / relative, ec);
  if (ec || !isInside(root_, full) || !fs::is_regular_file(full, ec)) {
    return error(404, codes::kNotFound, "no such file: " + req.path);
  }
  uintmax_t size = fs::file_size(full, ec);
  if (ec) return error(404, codes::kNotFound, "no such file: " + req.path);
  fs::file_time_type mtime = fs::last_write_time(full, ec);
  if (ec) return error(404, codes::kNotFound, "no such file: " + req.path);

  std::string type(contentTypeFor(full.filename().string()));
  std::string etag = entityTag(size, mtime);
  http::Response res;
  res.headers.reserve(8);
  res.set("Content-Type", type);
  res.set("Cache-Control", "no-cache");  // revalidate every time: a 304 is cheap, and edits show at once
  res.set("ETag", etag);
  res.set("X-Content-Type-Options", "nosniff");
  if (startsWith(type, "text/html")) {
    res.set("Content-Security-Policy", std::string(kPageSecurityPolicy));
    res.set("Referrer-Policy", "no-referrer");
  }
  if (ifNoneMatchHits(req, etag)) {
    res.status = 304;
    return res;
  }

  res.status = 200;
  if (auto bytes = cachedBytes(full, size, mtime)) {
    res.shared_body = std::move(bytes);
  } else {
    res.file = http::FileBody{full.string(), static_cast<uint64_t>(size)};
  }
  return res;
}

std::shared_ptr<const std::string> StaticSite::cachedBytes(const fs::path& full, uintmax_t size,
                                                           fs::file_time_type mtime) const {
  if (size > options_.max_cached_file || size > options_.cache_bytes) return nullptr;
  const std::string key = full.string();
  {
    std::lock_guard lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.size == size && it->second.mtime == mtime) return it->second.bytes;
  }
  // Read outside the lock; two requests racing for a new file both read it, once each.
  std::ifstream in(full, std::ios::binary);
  if (!in) return nullptr;
  auto bytes = std::make_shared<std::string>(static_cast<size_t>(size), '\0');
  in.read(bytes->data(), static_cast<std::streamsize>(bytes->size()));
  if (static_cast<uintmax_t>(in.gcount()) != size) return nullptr;  // changed meanwhile: stream it
  std::lock_guard lock(cache_mutex_);
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    cache_used_ -= it->second.bytes->size();
    cache_.erase(it);
  }
  if (cache_used_ + size > options_.cache_bytes) {
    // Full: start over (entries of edited or deleted files go too). Replies in flight keep
    // their bytes alive until they are sent.
    cache_.clear();
    cache_used_ = 0;
  }
  cache_used_ += size;
  cache_.emplace(key, CacheEntry{size, mtime, bytes});
  return bytes;
}

}  // namespace liveroom::web

// Fuzz target: request paths to the web pages' file server (web/static_site: StaticSite).
// The site's root is a temporary directory with a few pages, a subdirectory, a hidden file and
// a node_modules directory; next to it lie a secret file and a sibling directory whose name
// starts like the root's ("site-private"), and inside the root symlinks point out to both.
// Input: one byte choosing the method, an If-None-Match and whether files come from the site's
// memory cache or are streamed from disk, then the path (raw, as a request target's path:
// percent-encoding, dots, slashes, NULs, ...).
// Checks, beyond "no crash":
//  - no reply body ever contains the secret marker (nothing outside the root, through "..",
//    encoded separators, symlinks or a sibling with the same prefix, and no hidden file);
//  - every 200 body is byte for byte a regular file under the root, served with that file's
//    content type; a 304 has no body and only answers a matching If-None-Match;
//  - the site answers nullopt only for reserved paths (API, probes, WHIP/WHEP) or paths whose
//    first segment it does not hold; only GET and HEAD ever get a file.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "fuzz_check.hpp"
#include "web/static_site.hpp"

namespace {

namespace fs = std::filesystem;
using namespace liveroom;

const std::string kSecretMarker = "LIVEROOM-FUZZ-SECRET-c9a1f0";

void write(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

struct Site {
  fs::path base;
  fs::path root;
  std::map<std::string, std::string> files;         // content -> file name, for every regular file under the root
  std::unique_ptr<web::StaticSite> site;            // files from its in-memory cache
  std::unique_ptr<web::StaticSite> streaming_site;  // files over 16 bytes streamed from disk

  Site() {
    base = fs::temp_directory_path() / ("liveroom-fuzz-static-" + std::to_string(::getpid()));
    fs::remove_all(base);
    root = base / "site";
    const std::map<std::string, std::string> pages = {
        {"index.html", "<!doctype html><title>lobby</title>"},
        {"studio.html", "<!doctype html><title>studio</title>"},
        {"watch.html", "<!doctype html><title>watch</title>"},
        {"app.js", "export const app = 1;\n"},
        {"css/style.css", "body { margin: 0 }\n"},
        {"img/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>"},
        {"a b%.txt", "a file with a space and a percent sign\n"},
        {"deep/er/file.json", "{\"deep\": true}\n"},
        {"node_modules/pkg/index.js", "module.exports = 'never served';\n"},
    };
    for (const auto& [name, content] : pages) write(root / name, content);
    for (const auto& [name, content] : pages) {
      if (!name.starts_with("node_modules")) files[content] = name;
    }
    // Never to be served: hidden files, and everything outside the root.
    write(root / ".env", kSecretMarker + " hidden\n");
    write(root / "css/.secret", kSecretMarker + " hidden in a subdirectory\n");
    write(base / "secret.txt", kSecretMarker + " outside\n");
    write(base / "site-private/secret.txt", kSecretMarker + " in a sibling with the root's prefix\n");
    write(base / "site.txt", kSecretMarker + " next to the root\n");
    fs::create_symlink(base / "secret.txt", root / "link-out.txt");
    fs::create_symlink(base / "site-private", root / "dir-out");
    fs::create_symlink("../../secret.txt", root / "css/rel-out.css");
    fs::create_symlink(root / "app.js", root / "link-in.js");  // inside: may be served
    site = std::make_unique<web::StaticSite>(root);
    web::StaticSiteOptions streaming;
    streaming.max_cached_file = 16;
    streaming_site = std::make_unique<web::StaticSite>(root, streaming);
  }
  ~Site() {
    std::error_code ec;
    fs::remove_all(base, ec);
  }
};

Site& site() {
  static Site s;
  return s;
}

std::optional<std::string> headerOf(const http::Response& res, std::string_view name) {
  for (const auto& [n, v] : res.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Site& s = site();
  static const char* kMethods[] = {"GET", "GET", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"};
  http::Request req;
  req.method = kMethods[data[0] & 7];
  req.target = std::string(fuzz::asText(data + 1, size - 1));
  const size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  if (data[0] & 0x08) req.headers.emplace_back("if-none-match", "*");
  if (data[0] & 0x10) req.headers.emplace_back("if-none-match", "W/\"x\", \"y\"");

  const std::optional<http::Response> res = ((data[0] & 0x20) ? s.streaming_site : s.site)->handle(req);
  if (!res) {
    if (req.path.empty() || req.path.front() != '/') return 0;
    FUZZ_CHECK(req.path != "/", "the site owns /");
    const std::string_view path(req.path);
    const auto first = http::percentDecode(path.substr(1, path.find('/', 1) - 1), false);
    if (!first) return 0;
    FUZZ_CHECK(*first != "studio" && *first != "watch", "the site owns its page routes");
    const bool could_be_a_name = !first->empty() && first->front() != '.' && *first != "node_modules" &&
                                 first->find_first_of(std::string("/\\\0", 3)) == std::string::npos;
    std::error_code ec;
    FUZZ_CHECK(!could_be_a_name || !fs::exists(fs::symlink_status(s.root / *first, ec)),
               "nullopt only for a first segment the root does not hold");
    return 0;
  }
  std::string body(res->bodyView());
  if (res->file) {
    // Streamed from disk: that file must be a regular file under the root.
    std::error_code ec;
    const fs::path file = fs::weakly_canonical(res->file->path, ec);
    FUZZ_CHECK(!ec && fs::is_regular_file(file) &&
                   std::mismatch(s.root.begin(), s.root.end(), file.begin(), file.end()).first == s.root.end(),
               "a streamed file is under the root");
    std::ifstream in(file, std::ios::binary);
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  FUZZ_CHECK(!fuzz::containsSecret(body, kSecretMarker), "nothing outside the root or hidden is ever served");
  if (res->status == 200 || res->status == 304) {
    FUZZ_CHECK(req.method == "GET" || req.method == "HEAD", "only GET and HEAD get files");
    FUZZ_CHECK(headerOf(*res, "ETag").has_value(), "files have an ETag");
  }
  if (res->status == 304) {
    FUZZ_CHECK(body.empty() && req.header("if-none-match") == "*", "304 only for a matching If-None-Match");
  }
  if (res->status == 200) {
    auto it = s.files.find(body);
    FUZZ_CHECK(it != s.files.end(), "a 200 body is exactly a file under the root");
    FUZZ_CHECK(headerOf(*res, "Content-Type") == std::string(web::contentTypeFor(it->second)),
               "the file's content type");
  }
  return 0;
}

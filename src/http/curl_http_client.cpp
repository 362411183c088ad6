// libcurl implementation of HttpClient (see curl_http_client.hpp).
// Request headers are never logged or put into error messages: they carry API tokens.
// Error messages name the host only, never the full URL, because some URLs (WHIP) carry
// a secret in their path.
#include "http/curl_http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace liveroom::http {

namespace {

struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using HeaderSlist = std::unique_ptr<curl_slist, SlistDeleter>;

void globalInitOnce() {
  // curl_global_init is not thread-safe and must run before any easy handle exists;
  // it is never undone (curl_global_cleanup at exit would race other static destructors).
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

// "https://host:port/secret/path" -> "host:port", for error messages without secrets.
std::string hostOf(std::string_view url) {
  auto start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  auto end = url.find_first_of("/?#", start);
  auto authority = url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  // Drop any userinfo ("user:pass@host").
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  return std::string(authority);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

struct Transfer {
  ClientResponse response;
  std::size_t max_body = 0;
  bool body_too_large = false;
};

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->response.body.size() + n > t->max_body) {
    t->body_too_large = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    // A new status line (e.g. after "100 Continue"): only the final response's headers count.
    t->response.headers.clear();
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;  // blank line or folded junk
  std::string name(trim(line.substr(0, colon)));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  t->response.headers.emplace_back(std::move(name), std::string(trim(line.substr(colon + 1))));
  return n;
}

template <typename T>
void setopt(CURL* h, CURLoption option, T value) {
  if (CURLcode rc = curl_easy_setopt(h, option, value); rc != CURLE_OK) {
    throw TransportError(std::string("curl_easy_setopt failed: ") + curl_easy_strerror(rc), false);
  }
}

}  // namespace

CurlHttpClient::CurlHttpClient() : CurlHttpClient(Options{}) {}

CurlHttpClient::CurlHttpClient(Options options) : options_(options) { globalInitOnce(); }

CurlHttpClient::~CurlHttpClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* CurlHttpClient::takeHandle() {
  {
    std::lock_guard lock(idle_mutex_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void CurlHttpClient::giveBack(void* handle) {
  {
    std::lock_guard lock(idle_mutex_);
    if (idle_.size() < options_.max_idle_handles) {
      idle_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

ClientResponse CurlHttpClient::send(const ClientRequest& request) {
  // A handle from an earlier call keeps its connections open; reset clears every option it had.
  struct Lease {
    CurlHttpClient& client;
    CURL* handle;
    ~Lease() {
      if (handle) client.giveBack(handle);
    }
  } lease{*this, static_cast<CURL*>(takeHandle())};
  if (!lease.handle) throw TransportError("curl_easy_init failed", false);
  CURL* h = lease.handle;
  curl_easy_reset(h);

  Transfer transfer;
  transfer.max_body = options_.max_response_bytes;
  char error_buffer[CURL_ERROR_SIZE] = {};

  setopt(h, CURLOPT_URL, request.url.c_str());
  setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  setopt(h, CURLOPT_NOSIGNAL, 1L);  // timeouts must not use SIGALRM in a threaded program
  setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  setopt(h, CURLOPT_WRITEFUNCTION, &onBody);
  setopt(h, CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
  setopt(h, CURLOPT_HEADERFUNCTION, &onHeader);
  setopt(h, CURLOPT_HEADERDATA, static_cast<void*>(&transfer));

  const std::string& method = request.method;
  if (method == "GET") {
    setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    if (method != "POST") setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method == "POST" || !request.body.empty()) {
      // POSTFIELDS does not copy: `request` outlives the transfer.
      setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
    }
  }

  HeaderSlist headers;
  auto append = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (!next) throw TransportError("out of memory building request headers", false);
    (void)headers.release();  // ownership moves into the list returned by curl
    headers.reset(next);
  };
  for (const auto& [name, value] : request.headers) {
    if (name.find_first_of("\r\n:") != std::string::npos || value.find_first_of("\r\n") != std::string::npos) {
      // Never echo the value: it may be a token.
      throw TransportError("invalid characters in a request header", false);
    }
    // "Name;" is curl's spelling of a header with an empty value ("Name:" would remove it).
    append(value.empty() ? name + ";" : name + ": " + value);
  }
  // curl would otherwise wait for "100 Continue" on larger bodies: one round trip wasted.
  append("Expect:");
  setopt(h, CURLOPT_HTTPHEADER, headers.get());

  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    if (transfer.body_too_large) detail = "response body larger than the limit";
    throw TransportError(method + " to " + hostOf(request.url) + " failed: " + detail, rc == CURLE_OPERATION_TIMEDOUT);
  }

  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status == 0) throw TransportError(method + " to " + hostOf(request.url) + " got no HTTP answer", false);
  transfer.response.status = static_cast<int>(status);
  long new_connections = 0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &new_connections);
  transfer.response.reused_connection = new_connections == 0;
  return std::move(transfer.response);
}

}  // namespace liveroom::http

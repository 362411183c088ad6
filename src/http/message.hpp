// Transport-neutral HTTP request/response values: what handlers take and return, so
// handlers are plain functions testable without sockets.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace liveroom::http {

struct Request {
  std::string method;                                        // "GET", "POST", ... as sent
  std::string target;                                        // path + "?" + query, as sent
  std::string path;                                          // before '?'
  std::string query;                                         // after '?', without it
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  // First header with this lowercase name.
  std::optional<std::string_view> header(std::string_view lowercase_name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  Response& set(std::string name, std::string value);
};

// Hands a response back to the connection; callable once, from any thread.
using Responder = std::function<void(Response)>;
// Takes a request and answers it, now or later (e.g. after blocking work on a pool).
using Handler = std::function<void(Request&&, Responder)>;

// Percent-decoding of a URL component ('+' is a space in queries). nullopt when malformed.
std::optional<std::string> percentDecode(std::string_view in, bool plus_is_space);
// Value of `name` in an application/x-www-form-urlencoded query; nullopt if absent or
// malformed.
std::optional<std::string> queryParam(std::string_view query, std::string_view name);

}  // namespace liveroom::http

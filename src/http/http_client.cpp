// Out-of-line parts of the transport-neutral HTTP client types (http_client.hpp).
#include "http/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace liveroom::http {

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<std::string> ClientResponse::header(std::string_view name) const {
  // Names are stored lowercased by the client, but responses built by hand (tests, fakes)
  // may not be: compare without case either way.
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

}  // namespace liveroom::http

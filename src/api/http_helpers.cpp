// Shared response/request helpers of the api (see http_helpers.hpp).
#include "api/http_helpers.hpp"

#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "api/errors.hpp"
#include "common/error.hpp"
#include "rooms/secrets.hpp"
#include "rooms/validation.hpp"

namespace liveroom::api {

http::Response jsonText(int status, std::string body) {
  http::Response res;
  res.status = status;
  res.body = std::move(body);
  res.headers.reserve(4);
  res.set("Content-Type", "application/json");
  res.set("Cache-Control", "no-store");
  return res;
}

http::Response json(int status, const nlohmann::json& body) {
  return jsonText(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

http::Response fromError(const Error& e) {
  http::Response res = errorResponse(e.code(), e.what());
  if (auto retry = e.retryAfterSeconds()) res.set("Retry-After", std::to_string(*retry));
  return res;
}

http::Response methodNotAllowed(std::string_view allow) {
  http::Response res = errorResponse(codes::kMethodNotAllowed, "method not allowed here; use " + std::string(allow));
  res.set("Allow", std::string(allow) + ", OPTIONS");
  return res;
}

// The bearer token of the request; throws unauthorized when there is none.
std::string bearerToken(const http::Request& req) {
  auto auth = req.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!auth || auth->size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), auth->begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      })) {
    throw Error(codes::kUnauthorized, "missing Authorization: Bearer <token>");
  }
  return std::string(rooms::trimAscii(auth->substr(kBearer.size())));
}

bool holdsApiKey(const http::Request& req, const std::optional<std::string>& api_key) {
  if (!api_key || !req.header("authorization")) return false;
  const std::string key = bearerToken(req);
  return rooms::constantTimeEquals(rooms::sha256Hex(key), rooms::sha256Hex(*api_key));
}

void requireApiKey(const http::Request& req, const std::optional<std::string>& api_key) {
  if (!api_key) return;
  bearerToken(req);  // unauthorized when there is none
  if (!holdsApiKey(req, api_key)) throw Error(codes::kForbidden, "the API key is not valid");
}

std::string linkBase(const http::Request& req, std::string_view configured, std::string_view scheme,
                     std::string_view fallback) {
  std::string base;
  if (!configured.empty()) {
    base = std::string(configured);
  } else if (auto host = req.header("host");
             host && !host->empty() && host->size() <= 255 && std::all_of(host->begin(), host->end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == ':' || c == '[' ||
                      c == ']' || c == '_';
             })) {
    base = std::string(scheme) + "://" + std::string(*host);
  } else {
    base = std::string(fallback);
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

void applyCors(const std::vector<std::string>& origins, const http::Request& req, http::Response& res) {
  if (origins.empty()) return;
  if (origins.size() == 1 && origins[0] == "*") {
    res.set("Access-Control-Allow-Origin", "*");
    return;
  }
  res.set("Vary", "Origin");
  if (auto origin = req.header("origin")) {
    for (const auto& allowed : origins) {
      if (allowed == *origin) {
        res.set("Access-Control-Allow-Origin", allowed);
        return;
      }
    }
  }
}

void runBlocking(const BlockingRunner& runner, const std::vector<std::string>& cors_origins, const http::Request& req,
                 http::Responder respond, std::function<http::Response()> work) {
  http::Response cors;
  applyCors(cors_origins, req, cors);
  runner([cors = std::move(cors.headers), respond = std::move(respond), work = std::move(work)]() mutable {
    http::Response res;
    try {
      res = work();
    } catch (const Error& e) {
      if (e.code() == codes::kStoreUnavailable) {
        spdlog::warn("api: store unavailable: {}", e.what());
        res = errorResponse(e.code(), "the room store is unavailable; nothing was changed, try again shortly");
      } else {
        res = fromError(e);
      }
    } catch (const std::exception& e) {
      spdlog::error("api: unexpected failure: {}", e.what());
      res = errorResponse(codes::kInternalError, "internal error");
    }
    for (auto& header : cors) res.set(header.first, std::move(header.second));
    respond(std::move(res));
  });
}

}  // namespace liveroom::api

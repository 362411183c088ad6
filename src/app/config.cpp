// Cloudflare settings resolution (see config.hpp).
#include "app/config.hpp"

#include <algorithm>

#include <cctype>
#include <functional>

namespace liveroom::app {

void resolveStream(ServeConfig& config, const std::function<const char*(const char*)>& getenv) {
  auto var = [&](const char* name) -> std::optional<std::string> {
    const char* v = getenv(name);
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  auto account = var("CLOUDFLARE_ACCOUNT_ID");
  auto token = var("CLOUDFLARE_API_TOKEN");
  auto email = var("CLOUDFLARE_EMAIL");
  auto key = var("CLOUDFLARE_API_KEY");
  auto base = var("CLOUDFLARE_API_BASE");

  if (email && !key)
    throw ConfigError("CLOUDFLARE_API_KEY is not set but CLOUDFLARE_EMAIL is: set both (or use CLOUDFLARE_API_TOKEN)");
  if (key && !email)
    throw ConfigError("CLOUDFLARE_EMAIL is not set but CLOUDFLARE_API_KEY is: set both (or use CLOUDFLARE_API_TOKEN)");
  if (!account && (token || key)) {
    throw ConfigError("CLOUDFLARE_ACCOUNT_ID is not set but Cloudflare credentials are: set the account id too");
  }
  if (account && !token && !key) {
    throw ConfigError(
        "CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY) is not set but CLOUDFLARE_ACCOUNT_ID is");
  }
  if (config.stream.empty()) config.stream = account ? "cloudflare" : "local";
  if (config.stream == "cloudflare") {
    if (!account) throw ConfigError("--stream cloudflare needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN");
    for (char c : *account) {
      if (!std::isalnum(static_cast<unsigned char>(c))) {
        throw ConfigError("CLOUDFLARE_ACCOUNT_ID must be letters and digits only (the id in your dashboard URL)");
      }
    }
    for (const auto* secret : {&token, &email, &key}) {
      if (*secret && secret->value().find_first_of("\r\n") != std::string::npos) {
        throw ConfigError("CLOUDFLARE_API_TOKEN, CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY must be single-line values");
      }
    }
    CloudflareConfig cf;
    cf.account_id = *account;
    cf.api_token = token;
    cf.email = email;
    cf.api_key = key;
    if (base) {
      if (base->rfind("http://", 0) != 0 && base->rfind("https://", 0) != 0) {
        throw ConfigError("CLOUDFLARE_API_BASE must be an http(s) URL");
      }
      while (!base->empty() && base->back() == '/') base->pop_back();
      cf.api_base = *base;
    }
    config.cloudflare = std::move(cf);
  }
}

ConnectionLimits connectionLimits(int max_connections, int max_connections_per_ip, uint64_t fd_limit) {
  constexpr uint64_t kReservedDescriptors = 128;  // store, provider/chain connections, served files
  constexpr uint64_t kDefaultCap = 10000;
  ConnectionLimits limits;
  if (max_connections > 0) {
    limits.total = static_cast<size_t>(max_connections);
  } else {
    const uint64_t available = fd_limit > kReservedDescriptors * 2 ? fd_limit - kReservedDescriptors : fd_limit / 2;
    limits.total = static_cast<size_t>(std::max<uint64_t>(16, std::min(kDefaultCap, available)));
  }
  limits.per_address =
      max_connections_per_ip > 0 ? static_cast<size_t>(max_connections_per_ip) : std::max<size_t>(16, limits.total / 8);
  limits.per_address = std::min(limits.per_address, limits.total);
  return limits;
}

}  // namespace liveroom::app

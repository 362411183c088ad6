// Startup self-check of the media server's candidates (see reachability.hpp).
#include "app/reachability.hpp"

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <algorithm>

#include <boost/asio/ip/address.hpp>

namespace liveroom::app {

AddressScope addressScope(std::string_view ip) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(ip), ec);
  if (ec) return AddressScope::Public;
  if (address.is_loopback()) return AddressScope::Loopback;
  if (address.is_v4()) {
    const uint32_t a = address.to_v4().to_uint();
    const auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
    if (in(0x0A000000u, 8) || in(0xAC100000u, 12) || in(0xC0A80000u, 16) || in(0x64400000u, 10) ||
        in(0xA9FE0000u, 16)) {
      return AddressScope::Private;
    }
    return AddressScope::Public;
  }
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped())
    return addressScope(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string());
  const auto bytes = v6.to_bytes();
  if ((bytes[0] & 0xFE) == 0xFC || v6.is_link_local()) return AddressScope::Private;
  return AddressScope::Public;
}

std::string urlHost(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    return close == std::string_view::npos ? std::string() : std::string(rest.substr(1, close - 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

namespace {

// A host name (not an IP literal) is taken as public unless it is plainly local.
AddressScope hostScope(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (!ec) return addressScope(host);
  std::string h = host;
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto endsWith = [&h](std::string_view s) { return h.size() >= s.size() && h.ends_with(s); };
  if (h == "localhost" || endsWith(".localhost")) return AddressScope::Loopback;
  if (h.find('.') == std::string::npos || endsWith(".local") || endsWith(".lan") || endsWith(".internal") ||
      endsWith(".home.arpa")) {
    return AddressScope::Private;
  }
  return AddressScope::Public;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::optional<std::string> candidateReachabilityWarning(const std::vector<std::string>& candidates,
                                                        std::string_view public_url,
                                                        const std::vector<std::string>& ice_servers) {
  if (candidates.empty()) return std::nullopt;
  const auto all = [&](AddressScope scope) {
    return std::all_of(candidates.begin(), candidates.end(),
                       [scope](const std::string& c) { return addressScope(c) == scope; });
  };
  const bool all_loopback = all(AddressScope::Loopback);
  const AddressScope url_scope = hostScope(urlHost(public_url));
  if (all_loopback) {
    if (url_scope == AddressScope::Loopback) return std::nullopt;  // a server for this machine only
    return "media: the only ICE candidates are loopback addresses (" + joined(candidates) +
           "): browsers on other machines will connect to the pages but get no video. Pass --webrtc-ip with "
           "this machine's LAN or public address.";
  }
  const bool any_public = std::any_of(candidates.begin(), candidates.end(),
                                      [](const std::string& c) { return addressScope(c) == AddressScope::Public; });
  const bool has_turn = std::any_of(ice_servers.begin(), ice_servers.end(), [](const std::string& u) {
    return u.starts_with("turn:") || u.starts_with("turns:");
  });
  if (!any_public && url_scope == AddressScope::Public && !has_turn) {
    return "media: every ICE candidate is a private or loopback address (" + joined(candidates) +
           ") but --public-url " + std::string(public_url) +
           " is public: viewers outside this network will get no video. Pass --webrtc-ip with the public address "
           "(and forward the UDP and TCP media ports to this machine), or give a TURN server with --ice-server.";
  }
  return std::nullopt;
}

}  // namespace liveroom::app

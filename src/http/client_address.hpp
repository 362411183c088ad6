// Who a request comes from, as the per-address limits count it (connections, WHIP/WHEP
// sessions and offers, room creates).
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

namespace liveroom::http {

// The key a connection counts under for the per-address limit: the IPv4 address, or the /64
// prefix of an IPv6 one (one host usually owns a whole /64).
std::string connectionLimitKey(const boost::asio::ip::address& address);
// The same for Request::remote_address text; empty stays empty (no address known).
std::string connectionLimitKey(std::string_view address_text);

// Proxies whose X-Forwarded-For is believed (--trusted-proxy): addresses or CIDR networks.
class TrustedProxies {
 public:
  // Throws std::invalid_argument naming an entry that is neither an address nor a network.
  explicit TrustedProxies(const std::vector<std::string>& entries = {});
  bool empty() const noexcept { return v4_.empty() && v6_.empty(); }
  bool contains(const boost::asio::ip::address& address) const;
  // The client behind a trusted peer: walking X-Forwarded-For from the right (the entry the
  // nearest proxy added), the first address that is not itself a trusted proxy. `peer` itself
  // when it is not trusted or the header says nothing usable.
  std::string clientAddress(const boost::asio::ip::address& peer, std::string_view forwarded_for) const;

 private:
  std::vector<boost::asio::ip::network_v4> v4_;
  std::vector<boost::asio::ip::network_v6> v6_;
};

}  // namespace liveroom::http

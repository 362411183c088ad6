// Who a request comes from, as the per-address limits count it (connections, WHIP/WHEP
// sessions and offers, room creates).
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

namespace liveroom::http {

// The key a connection counts under for the per-address limit: the IPv4 address, or the /64
// prefix of an IPv6 one (one host usually owns a whole /64).
std::string connectionLimitKey(const boost::asio::ip::address& address);
// The same for Request::remote_address text; empty stays empty (no address known).
std::string connectionLimitKey(std::string_view address_text);

}  // namespace liveroom::http

// Per-address limit keys (see client_address.hpp).
#include "http/client_address.hpp"

#include <algorithm>

namespace liveroom::http {

namespace net = boost::asio;

std::string connectionLimitKey(const net::ip::address& address) {
  if (address.is_v6()) {
    const auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string();
    auto bytes = v6.to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return net::ip::address_v6(bytes).to_string() + "/64";
  }
  return address.to_string();
}

std::string connectionLimitKey(std::string_view address_text) {
  if (address_text.empty()) return {};
  boost::system::error_code ec;
  const auto address = net::ip::make_address(std::string(address_text), ec);
  return ec ? std::string(address_text) : connectionLimitKey(address);
}

}  // namespace liveroom::http

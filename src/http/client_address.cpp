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

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string plain(const net::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

}  // namespace

TrustedProxies::TrustedProxies(const std::vector<std::string>& entries) {
  for (const std::string& raw : entries) {
    const std::string entry(trim(raw));
    if (entry.empty()) continue;
    boost::system::error_code ec;
    if (entry.find('/') == std::string::npos) {
      const auto a = net::ip::make_address(entry, ec);
      if (ec) throw std::invalid_argument("not an address or network: " + entry);
      if (a.is_v4()) {
        v4_.emplace_back(a.to_v4(), 32);
      } else {
        v6_.emplace_back(a.to_v6(), 128);
      }
      continue;
    }
    if (entry.find(':') == std::string::npos) {
      v4_.push_back(net::ip::make_network_v4(entry, ec));
    } else {
      v6_.push_back(net::ip::make_network_v6(entry, ec));
    }
    if (ec) throw std::invalid_argument("not an address or network: " + entry);
  }
}

bool TrustedProxies::contains(const net::ip::address& address) const {
  net::ip::address a = address;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
  if (a.is_v4()) {
    const auto v4 = a.to_v4();
    for (const auto& n : v4_) {
      if ((v4.to_uint() & n.netmask().to_uint()) == n.network().to_uint()) return true;
    }
    return false;
  }
  const auto bytes = a.to_v6().to_bytes();
  for (const auto& n : v6_) {
    const auto net_bytes = n.network().to_bytes();
    const unsigned bits = n.prefix_length();
    bool match = true;
    for (unsigned i = 0; i < 16 && match; ++i) {
      const unsigned keep = bits >= (i + 1) * 8 ? 8 : (bits > i * 8 ? bits - i * 8 : 0);
      const auto mask = static_cast<unsigned char>(keep == 0 ? 0 : 0xFF << (8 - keep));
      match = (bytes[i] & mask) == (net_bytes[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

std::string TrustedProxies::clientAddress(const net::ip::address& peer, std::string_view forwarded_for) const {
  if (forwarded_for.empty() || !contains(peer)) return plain(peer);
  std::string_view rest = forwarded_for;
  while (!rest.empty()) {
    const size_t comma = rest.rfind(',');
    const std::string_view item = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    boost::system::error_code ec;
    const auto a = net::ip::make_address(std::string(item), ec);
    if (ec) break;                      // garbage: stop believing the header here
    if (!contains(a)) return plain(a);  // the first hop that is not one of ours
  }
  return plain(peer);
}

}  // namespace liveroom::http

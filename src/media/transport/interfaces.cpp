// The machine's interface addresses (see interfaces.hpp).
#include "media/transport/interfaces.hpp"

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include <boost/asio/ip/address.hpp>

namespace liveroom::media {

std::vector<std::string> localInterfaceAddresses(bool ipv6) {
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  std::vector<std::string> loopback;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {"127.0.0.1"};
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) continue;
    boost::asio::ip::address address;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      const boost::asio::ip::address_v4 a(ntohl(sin->sin_addr.s_addr));
      if ((a.to_uint() & 0xFFFF0000u) == 0xA9FE0000u) continue;  // 169.254/16: link-local
      address = a;
    } else if (i->ifa_addr->sa_family == AF_INET6 && ipv6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      boost::asio::ip::address_v6::bytes_type bytes{};
      std::memcpy(bytes.data(), &sin6->sin6_addr, bytes.size());
      const boost::asio::ip::address_v6 a(bytes);
      // Link-local addresses need a zone the peer cannot know; v4-mapped ones duplicate IPv4.
      if (a.is_link_local() || a.is_v4_mapped() || a.is_multicast()) continue;
      address = a;
    } else {
      continue;
    }
    const std::string text = address.to_string();
    auto& bucket = address.is_loopback() ? loopback : address.is_v4() ? v4 : v6;
    if (std::find(bucket.begin(), bucket.end(), text) == bucket.end()) bucket.push_back(text);
  }
  freeifaddrs(list);
  std::vector<std::string> out = std::move(v4);
  out.insert(out.end(), v6.begin(), v6.end());
  // 127.0.0.1 before ::1.
  std::sort(loopback.begin(), loopback.end(), [](const std::string& a, const std::string& b) {
    return (a.find(':') == std::string::npos) > (b.find(':') == std::string::npos);
  });
  out.insert(out.end(), loopback.begin(), loopback.end());
  if (out.empty()) out.push_back("127.0.0.1");
  return out;
}

}  // namespace liveroom::media

// The machine's own addresses, for the host candidates the media server advertises when
// --webrtc-ip does not name them (and the names a self-signed certificate covers).
#pragma once

#include <string>
#include <vector>

namespace liveroom::media {

// The machine's interface addresses (up, not link-local), IPv4 first, then IPv6 when `ipv6`,
// loopback last; 127.0.0.1 alone when there are none.
std::vector<std::string> localInterfaceAddresses(bool ipv6 = false);

}  // namespace liveroom::media

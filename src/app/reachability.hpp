// Startup self-check: will browsers elsewhere reach the media server's candidates? Pure: looks at
// the addresses the answers will carry and the public URL, and says in words what looks wrong
// (only loopback; only private addresses while the public URL is public), naming --webrtc-ip.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace liveroom::app {

enum class AddressScope { Loopback, Private, Public };

// 127/8 and ::1; RFC 1918, 100.64/10 (CGNAT), 169.254/16, fc00::/7, fe80::/10; anything else
// (and anything unparsable) Public.
AddressScope addressScope(std::string_view ip);

// The host of a URL ("https://[::1]:8443/x" -> "::1"); empty when there is none.
std::string urlHost(std::string_view url);

// A warning to log, or nullopt when the candidates look reachable for whoever the public URL
// serves. `ice_servers` are the --ice-server URLs (a TURN server makes private candidates fine).
std::optional<std::string> candidateReachabilityWarning(const std::vector<std::string>& candidates,
                                                        std::string_view public_url,
                                                        const std::vector<std::string>& ice_servers);

}  // namespace liveroom::app

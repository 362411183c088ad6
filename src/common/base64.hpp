// Base64 (RFC 4648 §4, padded) and base64url (§5, without padding), encode and strict decode.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace liveroom {

std::string encodeBase64(std::string_view bytes);
// Padding optional; nullopt on any other character or a length no encoding yields.
std::optional<std::string> decodeBase64(std::string_view text);

std::string encodeBase64Url(std::string_view bytes);
std::optional<std::string> decodeBase64Url(std::string_view text);

}  // namespace liveroom

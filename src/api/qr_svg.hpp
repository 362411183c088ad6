// QR codes as SVG, for the links a teacher hands her students (the watch link) and keeps for
// herself (the studio link): encoded by libqrencode (byte mode, error correction M), drawn as one
// path of dark modules on a white square with the 4-module quiet zone the standard asks for.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace liveroom::api {

// The SVG document, or nullopt when the text cannot be encoded (empty, or longer than a QR code
// holds: ~2,300 bytes at level M).
std::optional<std::string> qrSvg(std::string_view text);

}  // namespace liveroom::api

// Hex text <-> bytes, the one implementation: ids, digests, certificate fingerprints, Ethereum
// data (eth/hex adds the "0x" prefix).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace liveroom {

// Two digits per byte, lower case (upper with `upper`); `separator` between bytes unless '\0'
// (a DTLS fingerprint: upper case, ':').
std::string hexEncode(std::span<const uint8_t> bytes, bool upper = false, char separator = '\0');

// The value of one hex digit (either case), or -1.
int hexDigitValue(char c) noexcept;

// The bytes of `text`: an even number of hex digits, either case, nothing else; throws
// std::invalid_argument otherwise.
std::vector<uint8_t> hexDecode(std::string_view text);

}  // namespace liveroom

// Hex text <-> bytes for the Ethereum client: JSON-RPC quantities and data, test vectors, addresses.
// Parsing is strict: an optional "0x"/"0X" prefix, then an even number of hex digits (either case), nothing else.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace liveroom::eth {

using Bytes = std::vector<uint8_t>;

// The bytes of `text`; throws std::invalid_argument on an odd length or a non-hex character.
Bytes fromHex(std::string_view text);

// Lower-case hex of `bytes`, "0x"-prefixed when `with_prefix`.
std::string toHex(std::span<const uint8_t> bytes, bool with_prefix = false);

}  // namespace liveroom::eth

// Keccak-256 as Ethereum uses it (the original Keccak padding, not NIST SHA3-256): hashes of
// transactions, addresses from public keys, ABI function selectors and event topics.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace liveroom::eth {

using Hash = std::array<uint8_t, 32>;

Hash keccak256(std::span<const uint8_t> data);
Hash keccak256(std::string_view text);

}  // namespace liveroom::eth

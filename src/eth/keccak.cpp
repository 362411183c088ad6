// Keccak-256 over Crypto++ (see keccak.hpp).
#include "eth/keccak.hpp"

#include <crypto++/keccak.h>

namespace liveroom::eth {

Hash keccak256(std::span<const uint8_t> data) {
  CryptoPP::Keccak_256 h;
  h.Update(data.data(), data.size());
  Hash out{};
  h.Final(out.data());
  return out;
}

Hash keccak256(std::string_view text) {
  return keccak256(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace liveroom::eth

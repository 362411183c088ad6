// Hex text <-> bytes (see hex.hpp), over common/hex.
#include "eth/hex.hpp"

#include "common/hex.hpp"

namespace liveroom::eth {

Bytes fromHex(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  return hexDecode(text);
}

std::string toHex(std::span<const uint8_t> bytes, bool with_prefix) {
  return (with_prefix ? "0x" : "") + hexEncode(bytes);
}

}  // namespace liveroom::eth

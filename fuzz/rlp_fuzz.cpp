// Fuzz target: RLP (transactions and receipts from an Ethereum node), eth/rlp and
// eth/transaction.
// Checks, beyond "no crash":
//  - rlp::decode() throws nothing but DecodeError, and accepts only the canonical encoding:
//    encode(decode(bytes)) == bytes;
//  - a decoded item's strings read as integers exactly when they are canonical integers, and
//    encodeUint() of that integer gives the item's encoding again;
//  - decodeEip1559() of a type-2 transaction throws nothing but DecodeError, and raw() of what
//    it accepts is the input byte for byte;
//  - hex: fromHex(toHex(bytes)) == bytes.
#include <vector>

#include "eth/hex.hpp"
#include "eth/rlp.hpp"
#include "eth/transaction.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace liveroom::eth;

void checkItem(const rlp::Item& item, size_t depth) {
  FUZZ_CHECK(depth <= rlp::kMaxDepth, "nesting within kMaxDepth");
  if (item.is_list) {
    FUZZ_CHECK(item.bytes.empty(), "a list has no string bytes");
    for (const rlp::Item& child : item.items) checkItem(child, depth + 1);
    return;
  }
  FUZZ_CHECK(item.items.empty(), "a string has no items");
  const bool canonical_integer = item.bytes.size() <= 32 && (item.bytes.empty() || item.bytes[0] != 0);
  try {
    const U256 v = item.asU256();
    FUZZ_CHECK(canonical_integer, "asU256 accepts only canonical integers");
    FUZZ_CHECK(rlp::encodeUint(v) == rlp::encode(item), "encodeUint(asU256()) is the item's encoding");
    FUZZ_CHECK(v.minimalBytes() == item.bytes, "minimal bytes round-trip");
    if (item.bytes.size() <= 8)
      FUZZ_CHECK(rlp::encodeUint(item.asUint64()) == rlp::encode(item), "asUint64 round-trip");
  } catch (const DecodeError&) {
    FUZZ_CHECK(!canonical_integer, "asU256 refuses only non-canonical integers");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  FUZZ_CHECK(fromHex(toHex(input, size % 2 == 0)) == Bytes(data, data + size), "hex round-trip");
  try {
    const rlp::Item item = rlp::decode(input);
    FUZZ_CHECK(rlp::encode(item) == Bytes(data, data + size), "RLP decode -> encode gives the same bytes");
    checkItem(item, 0);
  } catch (const DecodeError&) {
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);
  }
  if (size > 0 && data[0] == 0x02) {
    try {
      const SignedEip1559Transaction tx = decodeEip1559(input);
      FUZZ_CHECK(tx.raw() == Bytes(data, data + size), "a decoded type-2 transaction re-encodes to its bytes");
      FUZZ_CHECK(tx.signature.recovery_id <= 1, "yParity is 0 or 1");
    } catch (const DecodeError&) {
    } catch (const std::exception& e) {
      FUZZ_UNEXPECTED_EXCEPTION(e);
    }
  }
  return 0;
}

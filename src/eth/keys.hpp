// secp256k1 keys as Ethereum uses them: private key -> public key -> address, EIP-55 checksummed address
// text, and recoverable ECDSA signatures (sign a 32-byte hash; recover the signer's address), over libsecp256k1.
// A PrivateKey never prints: it has no text form, and no error message quotes it.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "eth/keccak.hpp"

namespace liveroom::eth {

using Address = std::array<uint8_t, 20>;
using PublicKey = std::array<uint8_t, 65>;  // uncompressed: 0x04 || x || y

class PrivateKey {
 public:
  // 32 bytes, a valid secp256k1 scalar (non-zero, below the group order); throws std::invalid_argument
  // (without quoting the key) otherwise.
  static PrivateKey fromBytes(std::span<const uint8_t> bytes);
  // 64 hex digits, "0x"-prefixed or bare, as key files hold them (surrounding whitespace is ignored).
  static PrivateKey fromHex(std::string_view text);

  PrivateKey(const PrivateKey&) = default;
  PrivateKey& operator=(const PrivateKey&) = default;
  ~PrivateKey();

  const std::array<uint8_t, 32>& bytes() const { return bytes_; }
  PublicKey publicKey() const;
  Address address() const;

 private:
  PrivateKey() = default;
  std::array<uint8_t, 32> bytes_{};
};

// keccak256(public key without its 0x04 prefix), last 20 bytes.
Address addressOf(const PublicKey& public_key);

// "0x" + EIP-55 mixed-case hex.
std::string checksumAddress(const Address& address);
// "0x" + 40 hex digits. All-lower or all-upper hex is accepted as is; mixed case must be a valid EIP-55
// checksum. Throws std::invalid_argument otherwise.
Address parseAddress(std::string_view text);

struct Signature {
  Hash r{};
  Hash s{};                 // always in the lower half of the group order (EIP-2)
  uint8_t recovery_id = 0;  // 0 or 1: the parity of the point R's y coordinate
};

// Deterministic (RFC 6979) signature of `hash`.
Signature sign(const Hash& hash, const PrivateKey& key);
// The address whose key signed `hash`. Throws std::invalid_argument for an invalid signature, including
// r or s out of range, s in the upper half of the order (EIP-2), or recovery_id > 1.
Address recover(const Hash& hash, const Signature& signature);

}  // namespace liveroom::eth

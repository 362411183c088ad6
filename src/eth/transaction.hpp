// Ethereum transactions signed locally: legacy (EIP-155, replay-protected by chain id) and EIP-1559
// (type 2) — their signing hashes, signed raw encodings (what eth_sendRawTransaction takes), transaction
// hashes, and decoding a raw type-2 transaction back into its fields and sender.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "eth/hex.hpp"
#include "eth/keccak.hpp"
#include "eth/keys.hpp"
#include "eth/rlp.hpp"
#include "eth/uint256.hpp"

namespace liveroom::eth {

struct LegacyTransaction {
  uint64_t nonce = 0;
  U256 gas_price;
  uint64_t gas_limit = 0;
  std::optional<Address> to;  // none: contract creation
  U256 value;
  Bytes data;
  uint64_t chain_id = 1;
};

// keccak(rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])) (EIP-155).
Hash signingHash(const LegacyTransaction& tx);
// rlp([nonce, gasPrice, gas, to, value, data, v, r, s]) with v = chainId * 2 + 35 + recovery id.
Bytes signRaw(const LegacyTransaction& tx, const PrivateKey& key);

struct AccessListEntry {
  Address address{};
  std::vector<Hash> storage_keys;
  friend bool operator==(const AccessListEntry&, const AccessListEntry&) = default;
};

struct Eip1559Transaction {
  uint64_t chain_id = 1;
  uint64_t nonce = 0;
  U256 max_priority_fee_per_gas;
  U256 max_fee_per_gas;
  uint64_t gas_limit = 0;
  std::optional<Address> to;  // none: contract creation
  U256 value;
  Bytes data;
  std::vector<AccessListEntry> access_list;
  friend bool operator==(const Eip1559Transaction&, const Eip1559Transaction&) = default;
};

// keccak(0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value, data,
// accessList])).
Hash signingHash(const Eip1559Transaction& tx);

struct SignedEip1559Transaction {
  Eip1559Transaction tx;
  Signature signature;  // recovery_id is the yParity field

  // 0x02 || rlp([... the 9 fields, yParity, r, s]).
  Bytes raw() const;
  // keccak(raw()): the hash eth_sendRawTransaction returns and receipts are looked up by.
  Hash hash() const;
  // The address that signed it; throws std::invalid_argument for an unrecoverable signature.
  Address sender() const;
};

SignedEip1559Transaction sign(const Eip1559Transaction& tx, const PrivateKey& key);

// Parses a raw type-2 transaction (0x02 || rlp([...12 fields])). Throws DecodeError unless it is exactly
// that, canonically encoded: non-canonical integers, a `to` that is neither empty nor 20 bytes, yParity
// other than 0/1, or extra bytes are all refused. The signature itself is checked by sender().
SignedEip1559Transaction decodeEip1559(std::span<const uint8_t> raw);

}  // namespace liveroom::eth

// Legacy (EIP-155) and EIP-1559 transactions (see transaction.hpp).
#include "eth/transaction.hpp"

#include <algorithm>

namespace liveroom::eth {
namespace {

constexpr uint8_t kEip1559Type = 0x02;

Bytes encodeTo(const std::optional<Address>& to) {
  return to ? rlp::encodeString(*to) : rlp::encodeString(std::span<const uint8_t>{});
}

// r and s are RLP integers: big-endian without leading zeros.
Bytes encodeScalar(const Hash& h) { return rlp::encodeUint(U256::fromBytes(h)); }

Bytes encodeAccessList(const std::vector<AccessListEntry>& list) {
  std::vector<Bytes> entries;
  entries.reserve(list.size());
  for (const AccessListEntry& e : list) {
    std::vector<Bytes> keys;
    keys.reserve(e.storage_keys.size());
    for (const Hash& k : e.storage_keys) keys.push_back(rlp::encodeString(k));
    const std::vector<Bytes> entry{rlp::encodeString(e.address), rlp::encodeList(keys)};
    entries.push_back(rlp::encodeList(entry));
  }
  return rlp::encodeList(entries);
}

std::vector<Bytes> eip1559Fields(const Eip1559Transaction& tx) {
  return {
      rlp::encodeUint(tx.chain_id),        rlp::encodeUint(tx.nonce),     rlp::encodeUint(tx.max_priority_fee_per_gas),
      rlp::encodeUint(tx.max_fee_per_gas), rlp::encodeUint(tx.gas_limit), encodeTo(tx.to),
      rlp::encodeUint(tx.value),           rlp::encodeString(tx.data),    encodeAccessList(tx.access_list)};
}

Bytes typed(uint8_t type, const Bytes& payload) {
  Bytes out(payload.size() + 1);
  out[0] = type;
  std::copy(payload.begin(), payload.end(), out.begin() + 1);
  return out;
}

const Bytes& stringField(const rlp::Item& item, const char* what) {
  if (item.is_list) throw DecodeError(std::string("transaction: ") + what + " must be a string");
  return item.bytes;
}

template <size_t N>
std::array<uint8_t, N> fixedField(const rlp::Item& item, const char* what) {
  const Bytes& b = stringField(item, what);
  if (b.size() != N) throw DecodeError(std::string("transaction: ") + what + " has the wrong length");
  std::array<uint8_t, N> out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

std::optional<Address> decodeTo(const rlp::Item& item) {
  if (!item.is_list && item.bytes.empty()) return std::nullopt;
  return fixedField<20>(item, "to");
}

Hash decodeScalar(const rlp::Item& item) { return item.asU256().bytes(); }

std::vector<AccessListEntry> decodeAccessList(const rlp::Item& item) {
  if (!item.is_list) throw DecodeError("transaction: access list must be a list");
  std::vector<AccessListEntry> out;
  for (const rlp::Item& entry : item.items) {
    if (!entry.is_list || entry.items.size() != 2 || !entry.items[1].is_list) {
      throw DecodeError("transaction: access list entry must be [address, [storage keys]]");
    }
    AccessListEntry e;
    e.address = fixedField<20>(entry.items[0], "access list address");
    for (const rlp::Item& key : entry.items[1].items) e.storage_keys.push_back(fixedField<32>(key, "storage key"));
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

Hash signingHash(const LegacyTransaction& tx) {
  const std::vector<Bytes> fields{rlp::encodeUint(tx.nonce),     rlp::encodeUint(tx.gas_price),
                                  rlp::encodeUint(tx.gas_limit), encodeTo(tx.to),
                                  rlp::encodeUint(tx.value),     rlp::encodeString(tx.data),
                                  rlp::encodeUint(tx.chain_id),  rlp::encodeUint(uint64_t{0}),
                                  rlp::encodeUint(uint64_t{0})};
  return keccak256(rlp::encodeList(fields));
}

Bytes signRaw(const LegacyTransaction& tx, const PrivateKey& key) {
  const Signature sig = sign(signingHash(tx), key);
  // v = chainId * 2 + 35 + recovery id must fit the 64 bits it is computed in.
  if (tx.chain_id > (uint64_t{1} << 62)) throw std::invalid_argument("transaction: chain id too large for v");
  const uint64_t v = tx.chain_id * 2 + 35 + sig.recovery_id;
  const std::vector<Bytes> fields{
      rlp::encodeUint(tx.nonce), rlp::encodeUint(tx.gas_price), rlp::encodeUint(tx.gas_limit),
      encodeTo(tx.to),           rlp::encodeUint(tx.value),     rlp::encodeString(tx.data),
      rlp::encodeUint(v),        encodeScalar(sig.r),           encodeScalar(sig.s)};
  return rlp::encodeList(fields);
}

Hash signingHash(const Eip1559Transaction& tx) {
  return keccak256(typed(kEip1559Type, rlp::encodeList(eip1559Fields(tx))));
}

Bytes SignedEip1559Transaction::raw() const {
  std::vector<Bytes> fields = eip1559Fields(tx);
  fields.push_back(rlp::encodeUint(uint64_t{signature.recovery_id}));
  fields.push_back(encodeScalar(signature.r));
  fields.push_back(encodeScalar(signature.s));
  return typed(kEip1559Type, rlp::encodeList(fields));
}

Hash SignedEip1559Transaction::hash() const { return keccak256(raw()); }

Address SignedEip1559Transaction::sender() const { return recover(signingHash(tx), signature); }

SignedEip1559Transaction sign(const Eip1559Transaction& tx, const PrivateKey& key) {
  return SignedEip1559Transaction{tx, sign(signingHash(tx), key)};
}

SignedEip1559Transaction decodeEip1559(std::span<const uint8_t> raw) {
  if (raw.empty() || raw[0] != kEip1559Type) throw DecodeError("transaction: not a type-2 transaction");
  const rlp::Item item = rlp::decode(raw.subspan(1));
  if (!item.is_list || item.items.size() != 12) throw DecodeError("transaction: type 2 needs a list of 12 fields");
  const auto& f = item.items;
  SignedEip1559Transaction out;
  out.tx.chain_id = f[0].asUint64();
  out.tx.nonce = f[1].asUint64();
  out.tx.max_priority_fee_per_gas = f[2].asU256();
  out.tx.max_fee_per_gas = f[3].asU256();
  out.tx.gas_limit = f[4].asUint64();
  out.tx.to = decodeTo(f[5]);
  out.tx.value = f[6].asU256();
  out.tx.data = stringField(f[7], "data");
  out.tx.access_list = decodeAccessList(f[8]);
  const uint64_t y_parity = f[9].asUint64();
  if (y_parity > 1) throw DecodeError("transaction: yParity must be 0 or 1");
  out.signature.recovery_id = static_cast<uint8_t>(y_parity);
  out.signature.r = decodeScalar(f[10]);
  out.signature.s = decodeScalar(f[11]);
  return out;
}

}  // namespace liveroom::eth

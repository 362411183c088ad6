// secp256k1 keys, addresses and recoverable signatures (see keys.hpp).
#include "eth/keys.hpp"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "eth/hex.hpp"

namespace liveroom::eth {
namespace {

// One context for the process, randomized once before anyone uses it; afterwards only passed as const to
// signing/verification calls, which libsecp256k1 documents as safe from several threads.
const secp256k1_context* context() {
  static const secp256k1_context* const ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (c == nullptr) throw std::runtime_error("secp256k1: cannot create a context");
    std::array<uint8_t, 32> seed{};
    if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) == 1) {
      [[maybe_unused]] const int randomized = secp256k1_context_randomize(c, seed.data());  // blinding; optional
    }
    OPENSSL_cleanse(seed.data(), seed.size());
    return c;
  }();
  return ctx;
}

// Half the secp256k1 group order: s above this is the malleable twin of a valid signature (EIP-2).
constexpr Hash kHalfOrder = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                             0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
                             0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

}  // namespace

PrivateKey PrivateKey::fromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != 32) throw std::invalid_argument("private key: must be 32 bytes");
  PrivateKey key;
  std::copy(bytes.begin(), bytes.end(), key.bytes_.begin());
  if (secp256k1_ec_seckey_verify(context(), key.bytes_.data()) != 1) {
    throw std::invalid_argument("private key: not a valid secp256k1 key");
  }
  return key;
}

PrivateKey PrivateKey::fromHex(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  Bytes bytes;
  try {
    bytes = eth::fromHex(text);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("private key: not hex");
  }
  try {
    PrivateKey key = fromBytes(bytes);
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return key;
  } catch (...) {
    OPENSSL_cleanse(bytes.data(), bytes.size());
    throw;
  }
}

PrivateKey::~PrivateKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

PublicKey PrivateKey::publicKey() const {
  secp256k1_pubkey pub;
  if (secp256k1_ec_pubkey_create(context(), &pub, bytes_.data()) != 1) {
    throw std::invalid_argument("private key: not a valid secp256k1 key");
  }
  PublicKey out{};
  size_t len = out.size();
  secp256k1_ec_pubkey_serialize(context(), out.data(), &len, &pub, SECP256K1_EC_UNCOMPRESSED);
  return out;
}

Address PrivateKey::address() const { return addressOf(publicKey()); }

Address addressOf(const PublicKey& public_key) {
  const Hash h = keccak256(std::span<const uint8_t>(public_key).subspan(1));
  Address out{};
  std::copy(h.end() - 20, h.end(), out.begin());
  return out;
}

std::string checksumAddress(const Address& address) {
  const std::string lower = toHex(address);
  const Hash h = keccak256(lower);
  std::string out = "0x";
  for (size_t i = 0; i < lower.size(); ++i) {
    const uint8_t nibble = (i % 2 == 0) ? h[i / 2] >> 4 : h[i / 2] & 15;
    const char c = lower[i];
    out.push_back(c >= 'a' && nibble >= 8 ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

Address parseAddress(std::string_view text) {
  if (text.size() != 42 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    throw std::invalid_argument("address: expected 0x and 40 hex digits");
  }
  const Bytes bytes = eth::fromHex(text);
  Address out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  const std::string_view digits = text.substr(2);
  const bool has_lower = std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'a' && c <= 'f'; });
  const bool has_upper = std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'A' && c <= 'F'; });
  if (has_lower && has_upper && checksumAddress(out).substr(2) != digits) {
    throw std::invalid_argument("address: EIP-55 checksum mismatch");
  }
  return out;
}

Signature sign(const Hash& hash, const PrivateKey& key) {
  secp256k1_ecdsa_recoverable_signature sig;
  if (secp256k1_ecdsa_sign_recoverable(context(), &sig, hash.data(), key.bytes().data(), nullptr, nullptr) != 1) {
    throw std::invalid_argument("sign: signing failed");
  }
  std::array<uint8_t, 64> compact{};
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(context(), compact.data(), &recid, &sig);
  Signature out;
  std::copy(compact.begin(), compact.begin() + 32, out.r.begin());
  std::copy(compact.begin() + 32, compact.end(), out.s.begin());
  out.recovery_id = static_cast<uint8_t>(recid);
  return out;
}

Address recover(const Hash& hash, const Signature& signature) {
  if (signature.recovery_id > 1) throw std::invalid_argument("recover: recovery id must be 0 or 1");
  if (signature.s > kHalfOrder) throw std::invalid_argument("recover: s in the upper half of the order");
  std::array<uint8_t, 64> compact{};
  std::copy(signature.r.begin(), signature.r.end(), compact.begin());
  std::copy(signature.s.begin(), signature.s.end(), compact.begin() + 32);
  secp256k1_ecdsa_recoverable_signature sig;
  if (secp256k1_ecdsa_recoverable_signature_parse_compact(context(), &sig, compact.data(), signature.recovery_id) !=
      1) {
    throw std::invalid_argument("recover: r or s out of range");
  }
  // parse_compact accepts zero r/s; recovery then fails, which is the check we want.
  secp256k1_pubkey pub;
  if (secp256k1_ecdsa_recover(context(), &pub, &sig, hash.data()) != 1) {
    throw std::invalid_argument("recover: no public key for this signature");
  }
  PublicKey out{};
  size_t len = out.size();
  secp256k1_ec_pubkey_serialize(context(), out.data(), &len, &pub, SECP256K1_EC_UNCOMPRESSED);
  return addressOf(out);
}

}  // namespace liveroom::eth

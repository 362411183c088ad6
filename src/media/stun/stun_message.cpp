// STUN parsing, verification (FINGERPRINT, MESSAGE-INTEGRITY) and response writing.
#include "media/stun/stun_message.hpp"

#include "media/byte_io.hpp"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <utility>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace liveroom::media::stun {
namespace {

constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr size_t kIntegritySize = 20;  // HMAC-SHA1
constexpr uint8_t kFamilyIpv4 = 0x01;
constexpr uint8_t kFamilyIpv6 = 0x02;

size_t padded4(size_t n) { return (n + 3) & ~size_t{3}; }

// The class bits are interleaved with the method bits in the 14-bit message type (§6).
StunClass classOf(uint16_t type) { return static_cast<StunClass>(((type >> 7) & 0x2) | ((type >> 4) & 0x1)); }
uint16_t methodOf(uint16_t type) {
  return static_cast<uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
}
uint16_t messageType(StunClass cls, uint16_t method) {
  const auto c = static_cast<uint16_t>(cls);
  return static_cast<uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) |
                               ((c & 0x1) << 4) | ((c & 0x2) << 7));
}

// The xor mask of XOR-MAPPED-ADDRESS: magic cookie then transaction id (§15.2).
std::array<uint8_t, 16> xorMask(const TransactionId& id) {
  std::array<uint8_t, 16> mask{};
  write32(mask.data(), kMagicCookie);
  std::memcpy(mask.data() + 4, id.data(), id.size());
  return mask;
}

constexpr std::array<uint32_t, 256> makeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    table[i] = c;
  }
  return table;
}
constexpr auto kCrcTable = makeCrcTable();

// HMAC-SHA1 over up to three byte ranges, so verification needs no copy of the message.
bool hmacSha1(std::string_view key, std::initializer_list<std::pair<const uint8_t*, size_t>> parts,
              uint8_t (&out)[kIntegritySize]) noexcept {
  // Fetched once: the EVP_MAC object is immutable and safe to share between threads.
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return false;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  if (ctx == nullptr) return false;
  char digest[] = "SHA1";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  // An empty key is legal for HMAC, but OpenSSL wants a non-null pointer.
  static const unsigned char kEmpty[1] = {0};
  const auto* key_bytes = key.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  bool ok = EVP_MAC_init(ctx, key_bytes, key.size(), params) == 1;
  for (const auto& [ptr, len] : parts) ok = ok && EVP_MAC_update(ctx, ptr, len) == 1;
  size_t written = 0;
  ok = ok && EVP_MAC_final(ctx, out, &written, kIntegritySize) == 1 && written == kIntegritySize;
  EVP_MAC_CTX_free(ctx);
  return ok;
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t size) noexcept {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = kCrcTable[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

TransportAddress TransportAddress::v4(std::array<uint8_t, 4> bytes, uint16_t port) {
  TransportAddress a;
  std::memcpy(a.ip.data(), bytes.data(), bytes.size());
  a.port = port;
  return a;
}

TransportAddress TransportAddress::v6(const std::array<uint8_t, 16>& bytes, uint16_t port) {
  TransportAddress a;
  a.ipv6 = true;
  a.ip = bytes;
  a.port = port;
  return a;
}

std::optional<StunMessage> StunMessage::parse(const uint8_t* data, size_t size) {
  if (data == nullptr || size < kHeaderSize) return std::nullopt;
  const uint16_t type = read16(data);
  const uint16_t length = read16(data + 2);
  if ((type & 0xC000) != 0) return std::nullopt;  // top two bits are zero in every STUN message
  if (length % 4 != 0 || kHeaderSize + length != size) return std::nullopt;
  if (read32(data + 4) != kMagicCookie) return std::nullopt;

  StunMessage msg;
  msg.data_ = data;
  msg.size_ = size;
  msg.class_ = classOf(type);
  msg.method_ = methodOf(type);
  std::memcpy(msg.transaction_id_.data(), data + 8, msg.transaction_id_.size());

  size_t pos = kHeaderSize;
  while (pos < size) {
    if (size - pos < 4) return std::nullopt;
    const uint16_t attr_type = read16(data + pos);
    const uint16_t attr_len = read16(data + pos + 2);
    const size_t value_pos = pos + 4;
    if (padded4(attr_len) > size - value_pos) return std::nullopt;
    const uint8_t* value = data + value_pos;
    if (msg.fingerprint_offset_) return std::nullopt;  // FINGERPRINT must be the last attribute

    if (attr_type == attr::kFingerprint) {
      if (attr_len != 4) return std::nullopt;
      msg.fingerprint_offset_ = pos;
      msg.fingerprint_ = read32(value);
    } else if (msg.integrity_offset_) {
      // Everything between MESSAGE-INTEGRITY and FINGERPRINT is unauthenticated: ignore it.
    } else {
      switch (attr_type) {
        case attr::kMessageIntegrity:
          if (attr_len != kIntegritySize) return std::nullopt;
          msg.integrity_offset_ = pos;
          break;
        case attr::kUsername:
          if (attr_len > 513) return std::nullopt;  // §15.3 limit
          if (!msg.username_) msg.username_ = std::string_view(reinterpret_cast<const char*>(value), attr_len);
          break;
        case attr::kPriority:
          if (attr_len != 4) return std::nullopt;
          if (!msg.priority_) msg.priority_ = read32(value);
          break;
        case attr::kUseCandidate:
          if (attr_len != 0) return std::nullopt;
          msg.use_candidate_ = true;
          break;
        case attr::kIceControlling:
          if (attr_len != 8) return std::nullopt;
          if (!msg.ice_controlling_) msg.ice_controlling_ = read64(value);
          break;
        case attr::kIceControlled:
          if (attr_len != 8) return std::nullopt;
          if (!msg.ice_controlled_) msg.ice_controlled_ = read64(value);
          break;
        case attr::kErrorCode:
          if (attr_len < 4) return std::nullopt;
          if (!msg.error_code_) msg.error_code_ = static_cast<uint16_t>((value[2] & 0x7) * 100 + value[3]);
          break;
        case attr::kXorMappedAddress: {
          if (attr_len < 4) return std::nullopt;
          const uint8_t family = value[1];
          const size_t ip_len = family == kFamilyIpv4 ? 4 : family == kFamilyIpv6 ? 16 : 0;
          if (ip_len == 0) break;  // unknown family: not ours to judge
          if (attr_len != 4 + ip_len) return std::nullopt;
          if (msg.xor_mapped_address_) break;
          const auto mask = xorMask(msg.transaction_id_);
          TransportAddress addr;
          addr.ipv6 = family == kFamilyIpv6;
          addr.port = static_cast<uint16_t>(read16(value + 2) ^ (kMagicCookie >> 16));
          for (size_t i = 0; i < ip_len; ++i) addr.ip[i] = value[4 + i] ^ mask[i];
          msg.xor_mapped_address_ = addr;
          break;
        }
        default:
          break;  // unknown attributes are skipped; the ICE layer decides what it requires
      }
    }
    pos = value_pos + padded4(attr_len);
  }
  return msg;
}

bool StunMessage::verifyFingerprint() const noexcept {
  if (!fingerprint_offset_ || !fingerprint_) return false;
  return (crc32(data_, *fingerprint_offset_) ^ kFingerprintXor) == *fingerprint_;
}

bool StunMessage::verifyIntegrity(std::string_view key) const noexcept {
  if (!integrity_offset_) return false;
  const size_t offset = *integrity_offset_;
  // The length field must count through MESSAGE-INTEGRITY, excluding a trailing FINGERPRINT.
  uint8_t adjusted_length[2];
  write16(adjusted_length, static_cast<uint16_t>(offset + 4 + kIntegritySize - kHeaderSize));
  uint8_t expected[kIntegritySize];
  if (!hmacSha1(key, {{data_, 2}, {adjusted_length, 2}, {data_ + 4, offset - 4}}, expected)) return false;
  return CRYPTO_memcmp(expected, data_ + offset + 4, kIntegritySize) == 0;
}

void StunMessageWriter::begin(StunClass cls, uint16_t method, const TransactionId& transaction_id) {
  transaction_id_ = transaction_id;
  out_.resize(kHeaderSize);
  write16(out_.data(), messageType(cls, method));
  write16(out_.data() + 2, 0);
  write32(out_.data() + 4, kMagicCookie);
  std::memcpy(out_.data() + 8, transaction_id.data(), transaction_id.size());
}

void StunMessageWriter::setLength(size_t body_size) { write16(out_.data() + 2, static_cast<uint16_t>(body_size)); }

void StunMessageWriter::addAttribute(uint16_t type, const uint8_t* value, size_t size) {
  const size_t pos = out_.size();
  out_.resize(pos + 4 + padded4(size), 0);
  write16(out_.data() + pos, type);
  write16(out_.data() + pos + 2, static_cast<uint16_t>(size));
  if (size > 0) std::memcpy(out_.data() + pos + 4, value, size);
  setLength(out_.size() - kHeaderSize);
}

void StunMessageWriter::addXorMappedAddress(const TransportAddress& address) {
  const size_t ip_len = address.ipv6 ? 16 : 4;
  uint8_t value[20] = {};
  value[1] = address.ipv6 ? kFamilyIpv6 : kFamilyIpv4;
  write16(value + 2, static_cast<uint16_t>(address.port ^ (kMagicCookie >> 16)));
  const auto mask = xorMask(transaction_id_);
  for (size_t i = 0; i < ip_len; ++i) value[4 + i] = address.ip[i] ^ mask[i];
  addAttribute(attr::kXorMappedAddress, value, 4 + ip_len);
}

void StunMessageWriter::addErrorCode(uint16_t code, std::string_view reason) {
  // Reason phrases are short (§15.6 caps them at 763 bytes); a fixed buffer avoids allocating.
  uint8_t value[4 + 128] = {};
  const size_t reason_len = std::min(reason.size(), sizeof(value) - 4);
  value[2] = static_cast<uint8_t>((code / 100) & 0x7);
  value[3] = static_cast<uint8_t>(code % 100);
  std::memcpy(value + 4, reason.data(), reason_len);
  addAttribute(attr::kErrorCode, value, 4 + reason_len);
}

void StunMessageWriter::addMessageIntegrity(std::string_view key) {
  const size_t pos = out_.size();
  // The HMAC covers the header with a length that already includes this attribute.
  setLength(pos + 4 + kIntegritySize - kHeaderSize);
  uint8_t mac[kIntegritySize] = {};
  hmacSha1(key, {{out_.data(), pos}}, mac);
  addAttribute(attr::kMessageIntegrity, mac, kIntegritySize);
}

void StunMessageWriter::addFingerprint() {
  const size_t pos = out_.size();
  setLength(pos + 8 - kHeaderSize);
  uint8_t value[4];
  write32(value, crc32(out_.data(), pos) ^ kFingerprintXor);
  addAttribute(attr::kFingerprint, value, 4);
}

size_t buildBindingSuccess(const TransactionId& request_id, const TransportAddress& mapped, std::string_view local_pwd,
                           std::vector<uint8_t>& out) {
  StunMessageWriter writer(out);
  writer.begin(StunClass::SuccessResponse, kMethodBinding, request_id);
  writer.addXorMappedAddress(mapped);
  writer.addMessageIntegrity(local_pwd);
  writer.addFingerprint();
  return out.size();
}

size_t buildBindingRequest(const TransactionId& id, std::string_view username, uint32_t priority, uint64_t tie_breaker,
                           std::string_view remote_pwd, std::vector<uint8_t>& out) {
  StunMessageWriter writer(out);
  writer.begin(StunClass::Request, kMethodBinding, id);
  writer.addAttribute(attr::kUsername, reinterpret_cast<const uint8_t*>(username.data()), username.size());
  const uint8_t p[4] = {static_cast<uint8_t>(priority >> 24), static_cast<uint8_t>(priority >> 16),
                        static_cast<uint8_t>(priority >> 8), static_cast<uint8_t>(priority)};
  writer.addAttribute(attr::kPriority, p, sizeof p);
  uint8_t t[8];
  for (int i = 0; i < 8; ++i) t[i] = static_cast<uint8_t>(tie_breaker >> (56 - 8 * i));
  writer.addAttribute(attr::kIceControlled, t, sizeof t);
  writer.addMessageIntegrity(remote_pwd);
  writer.addFingerprint();
  return out.size();
}

size_t buildBindingError(const TransactionId& request_id, uint16_t code, std::string_view reason,
                         std::vector<uint8_t>& out) {
  StunMessageWriter writer(out);
  writer.begin(StunClass::ErrorResponse, kMethodBinding, request_id);
  writer.addErrorCode(code, reason);
  writer.addFingerprint();
  return out.size();
}

}  // namespace liveroom::media::stun

// STUN (RFC 5389/8489) message parsing and the few responses an ICE-lite server sends
// (RFC 8445 §7.3): Binding success with XOR-MAPPED-ADDRESS, and Binding errors.
// Pure: no sockets, no ICE state. Parsing never allocates; a parsed message borrows its bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace liveroom::media::stun {

inline constexpr uint32_t kMagicCookie = 0x2112A442;
inline constexpr size_t kHeaderSize = 20;
inline constexpr uint16_t kMethodBinding = 0x001;

// Attribute types this server reads or writes.
namespace attr {
inline constexpr uint16_t kMappedAddress = 0x0001;
inline constexpr uint16_t kUsername = 0x0006;
inline constexpr uint16_t kMessageIntegrity = 0x0008;
inline constexpr uint16_t kErrorCode = 0x0009;
inline constexpr uint16_t kXorMappedAddress = 0x0020;
inline constexpr uint16_t kPriority = 0x0024;
inline constexpr uint16_t kUseCandidate = 0x0025;
inline constexpr uint16_t kSoftware = 0x8022;
inline constexpr uint16_t kFingerprint = 0x8028;
inline constexpr uint16_t kIceControlled = 0x8029;
inline constexpr uint16_t kIceControlling = 0x802A;
}  // namespace attr

enum class StunClass : uint8_t { Request = 0, Indication = 1, SuccessResponse = 2, ErrorResponse = 3 };

using TransactionId = std::array<uint8_t, 12>;

// An IP address and port as raw network-order bytes; kept free of socket types on purpose.
// RFC 8445 §3: an IP address, a port and the transport protocol. `tcp` tells an ICE-TCP
// connection's address from a UDP one; STUN attributes (XOR-MAPPED-ADDRESS) do not encode it.
struct TransportAddress {
  bool ipv6 = false;
  std::array<uint8_t, 16> ip{};  // IPv4 uses the first 4 bytes
  uint16_t port = 0;
  bool tcp = false;

  static TransportAddress v4(std::array<uint8_t, 4> bytes, uint16_t port);
  static TransportAddress v6(const std::array<uint8_t, 16>& bytes, uint16_t port);
  bool operator==(const TransportAddress&) const = default;
};

// A validated view of one STUN message. It points into the caller's buffer: keep that buffer
// alive and unchanged while using the message (username() is a view into it too).
class StunMessage {
 public:
  // nullopt when the bytes are not one well-formed STUN message: short, top bits set, length
  // not a multiple of 4 or not matching the datagram, wrong magic cookie, an attribute
  // overrunning the message, a known attribute with the wrong size, or anything after
  // FINGERPRINT. Attributes after MESSAGE-INTEGRITY other than FINGERPRINT are ignored (§14.5).
  static std::optional<StunMessage> parse(const uint8_t* data, size_t size);

  StunClass messageClass() const noexcept { return class_; }
  uint16_t method() const noexcept { return method_; }
  bool isBindingRequest() const noexcept { return class_ == StunClass::Request && method_ == kMethodBinding; }
  const TransactionId& transactionId() const noexcept { return transaction_id_; }
  const uint8_t* data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }

  std::optional<std::string_view> username() const noexcept { return username_; }
  std::optional<uint32_t> priority() const noexcept { return priority_; }
  bool useCandidate() const noexcept { return use_candidate_; }
  std::optional<uint64_t> iceControlling() const noexcept { return ice_controlling_; }
  std::optional<uint64_t> iceControlled() const noexcept { return ice_controlled_; }
  std::optional<TransportAddress> xorMappedAddress() const noexcept { return xor_mapped_address_; }
  std::optional<uint16_t> errorCode() const noexcept { return error_code_; }
  // Offset of the MESSAGE-INTEGRITY attribute header from the start of the message.
  std::optional<size_t> messageIntegrityOffset() const noexcept { return integrity_offset_; }
  std::optional<uint32_t> fingerprint() const noexcept { return fingerprint_; }

  // CRC-32 of everything before FINGERPRINT, xor 0x5354554e (RFC 5389 §15.5). False if absent.
  bool verifyFingerprint() const noexcept;
  // HMAC-SHA1 keyed with `key` (ICE: the receiver's ice-pwd) over the message up to
  // MESSAGE-INTEGRITY, with the length field counting through it (§15.4). False if absent.
  bool verifyIntegrity(std::string_view key) const noexcept;

 private:
  StunMessage() = default;

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  StunClass class_ = StunClass::Request;
  uint16_t method_ = 0;
  TransactionId transaction_id_{};
  std::optional<std::string_view> username_;
  std::optional<uint32_t> priority_;
  bool use_candidate_ = false;
  std::optional<uint64_t> ice_controlling_;
  std::optional<uint64_t> ice_controlled_;
  std::optional<TransportAddress> xor_mapped_address_;
  std::optional<uint16_t> error_code_;
  std::optional<size_t> integrity_offset_;
  std::optional<size_t> fingerprint_offset_;
  std::optional<uint32_t> fingerprint_;
};

// Writes one STUN message into a caller-owned vector, reusing its capacity (no allocation once
// it has grown). Call order: begin, attributes, then addMessageIntegrity, then addFingerprint.
class StunMessageWriter {
 public:
  explicit StunMessageWriter(std::vector<uint8_t>& out) : out_(out) {}

  void begin(StunClass cls, uint16_t method, const TransactionId& transaction_id);
  // Raw attribute, zero-padded to 4 bytes.
  void addAttribute(uint16_t type, const uint8_t* value, size_t size);
  void addXorMappedAddress(const TransportAddress& address);
  void addErrorCode(uint16_t code, std::string_view reason);
  void addMessageIntegrity(std::string_view key);
  void addFingerprint();

 private:
  void setLength(size_t body_size);

  std::vector<uint8_t>& out_;
  TransactionId transaction_id_{};
};

// Binding success response to `request_id`: XOR-MAPPED-ADDRESS (the request's source address),
// MESSAGE-INTEGRITY keyed with the local ice-pwd, FINGERPRINT. Returns the size written to `out`.
size_t buildBindingSuccess(const TransactionId& request_id, const TransportAddress& mapped, std::string_view local_pwd,
                           std::vector<uint8_t>& out);

// Binding error response (e.g. 400 Bad Request, 401 Unauthorized) with FINGERPRINT. It carries
// no MESSAGE-INTEGRITY: the peer's credentials were wrong or missing, so none can be trusted.
size_t buildBindingError(const TransactionId& request_id, uint16_t code, std::string_view reason,
                         std::vector<uint8_t>& out);

// Binding request from the controlled side (RFC 8445 §7.1.2): USERNAME "<their ufrag>:<our
// ufrag>", PRIORITY, ICE-CONTROLLED with our tie-breaker, MESSAGE-INTEGRITY keyed with the
// peer's ice-pwd, FINGERPRINT. Returns the size written to `out`.
size_t buildBindingRequest(const TransactionId& id, std::string_view username, uint32_t priority, uint64_t tie_breaker,
                           std::string_view remote_pwd, std::vector<uint8_t>& out);

// CRC-32 (ISO-HDLC, as zlib) used by FINGERPRINT; exposed for tests.
uint32_t crc32(const uint8_t* data, size_t size) noexcept;

}  // namespace liveroom::media::stun

// Fuzz target: STUN datagrams (ICE connectivity checks on the WebRTC UDP port), media/stun.
// Checks, beyond "no crash":
//  - a parsed message agrees with an independent walk of its attributes: sizes, the first
//    USERNAME / PRIORITY / ICE-CONTROLLING / ICE-CONTROLLED before MESSAGE-INTEGRITY, where
//    MESSAGE-INTEGRITY and FINGERPRINT are;
//  - parse -> build -> parse: its attributes before MESSAGE-INTEGRITY written again with
//    StunMessageWriter, signed with a key and fingerprinted, parse to the same values, verify
//    with that key and fingerprint, never verify with another key, and stop verifying when any
//    signed byte is flipped;
//  - on the fuzzed message itself, no two different keys both verify;
//  - the server's Binding success / error responses to it parse, carry its transaction id,
//    the XOR-MAPPED-ADDRESS given, and verify (integrity with the local pwd, fingerprint).
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "media/byte_io.hpp"
#include "media/stun/stun_message.hpp"

namespace {

using namespace liveroom::media;
using namespace liveroom::media::stun;

struct RawAttribute {
  uint16_t type;
  const uint8_t* value;
  size_t size;
  size_t offset;  // of its header
};

// Reference walk: the attributes as a TLV list, no interpretation.
std::vector<RawAttribute> walk(const uint8_t* data, size_t size) {
  std::vector<RawAttribute> out;
  size_t pos = kHeaderSize;
  while (pos + 4 <= size) {
    const uint16_t type = read16(data + pos);
    const uint16_t len = read16(data + pos + 2);
    out.push_back(RawAttribute{type, data + pos + 4, len, pos});
    pos += 4 + ((len + 3u) & ~3u);
  }
  return out;
}

void checkAgainstWalk(const StunMessage& msg, const uint8_t* data, size_t size) {
  FUZZ_CHECK(msg.size() == size && size % 4 == 0 && size >= kHeaderSize, "sizes");
  FUZZ_CHECK(std::memcmp(msg.transactionId().data(), data + 8, 12) == 0, "transaction id");
  std::optional<std::string_view> username;
  std::optional<uint32_t> priority;
  std::optional<size_t> integrity, fingerprint;
  for (const RawAttribute& a : walk(data, size)) {
    FUZZ_CHECK(a.value + a.size <= data + size, "every attribute inside the datagram");
    if (a.type == attr::kFingerprint) {
      fingerprint = a.offset;
      continue;
    }
    if (integrity) continue;
    if (a.type == attr::kMessageIntegrity) integrity = a.offset;
    if (a.type == attr::kUsername && !username)
      username = std::string_view(reinterpret_cast<const char*>(a.value), a.size);
    if (a.type == attr::kPriority && !priority) priority = read32(a.value);
  }
  FUZZ_CHECK(msg.username() == username, "USERNAME is the first one before MESSAGE-INTEGRITY");
  FUZZ_CHECK(msg.priority() == priority, "PRIORITY is the first one before MESSAGE-INTEGRITY");
  FUZZ_CHECK(msg.messageIntegrityOffset() == integrity, "MESSAGE-INTEGRITY found where it is");
  if (integrity) FUZZ_CHECK(*integrity + 24 <= size, "MESSAGE-INTEGRITY inside the message");
  if (fingerprint) FUZZ_CHECK(*fingerprint + 8 == size, "FINGERPRINT is last");
  FUZZ_CHECK(msg.fingerprint().has_value() == fingerprint.has_value(), "FINGERPRINT found where it is");
}

// Writes the message's attributes before MESSAGE-INTEGRITY / FINGERPRINT again, then signs.
void checkRebuilt(const StunMessage& msg, const uint8_t* data, size_t size, std::string_view key) {
  std::vector<uint8_t> out;
  StunMessageWriter writer(out);
  writer.begin(msg.messageClass(), msg.method(), msg.transactionId());
  for (const RawAttribute& a : walk(data, size)) {
    if (a.type == attr::kMessageIntegrity || a.type == attr::kFingerprint) break;
    writer.addAttribute(a.type, a.value, a.size);
  }
  writer.addMessageIntegrity(key);
  writer.addFingerprint();

  auto again = StunMessage::parse(out.data(), out.size());
  FUZZ_CHECK(again.has_value(), "the rebuilt message parses");
  FUZZ_CHECK(again->messageClass() == msg.messageClass() && again->method() == msg.method() &&
                 again->transactionId() == msg.transactionId(),
             "class, method and transaction id survive a rebuild");
  FUZZ_CHECK(again->username() == msg.username() && again->priority() == msg.priority() &&
                 again->useCandidate() == msg.useCandidate() && again->iceControlling() == msg.iceControlling() &&
                 again->iceControlled() == msg.iceControlled() && again->errorCode() == msg.errorCode() &&
                 again->xorMappedAddress() == msg.xorMappedAddress(),
             "attribute values survive a rebuild");
  FUZZ_CHECK(again->verifyIntegrity(key), "signed with a key, it verifies with that key");
  FUZZ_CHECK(again->verifyFingerprint(), "the fingerprint verifies");
  FUZZ_CHECK(!again->verifyIntegrity(std::string(key) + "x"), "a wrong key never verifies");
  if (!key.empty()) {
    // (Not a shorter key: HMAC pads keys with zeros, so "k" and "k\0" are the same key. ICE
    // passwords are ice-chars, never NUL.)
    std::string other(key);
    other.back() = static_cast<char>(other.back() ^ 0x01);
    FUZZ_CHECK(!again->verifyIntegrity(other), "a key that differs in one byte never verifies");
  }

  // Any flipped byte of the signed part (header, attributes, the HMAC itself) breaks it.
  const size_t signed_end = *again->messageIntegrityOffset() + 24;
  const size_t flip = (size * 31 + key.size()) % signed_end;
  std::vector<uint8_t> tampered = out;
  tampered[flip] ^= 0x01;
  if (auto t = StunMessage::parse(tampered.data(), tampered.size())) {
    FUZZ_CHECK(!t->verifyIntegrity(key), "a flipped signed byte fails MESSAGE-INTEGRITY");
    FUZZ_CHECK(!t->verifyFingerprint(), "a flipped byte fails FINGERPRINT");
  }
}

void checkResponses(const StunMessage& msg, const uint8_t* data, size_t size) {
  TransportAddress mapped;
  if (size > 24 && (data[20] & 1)) {
    std::array<uint8_t, 16> ip{};
    std::memcpy(ip.data(), data + size - 16 - 4, 16);  // any 16 bytes of the input
    mapped = TransportAddress::v6(ip, read16(data + size - 2));
  } else {
    mapped = TransportAddress::v4({data[8], data[9], data[10], data[11]}, read16(data + 12));
  }
  const std::string pwd(reinterpret_cast<const char*>(data + 8), 12);  // arbitrary bytes as a key
  std::vector<uint8_t> out;
  buildBindingSuccess(msg.transactionId(), mapped, pwd, out);
  auto success = StunMessage::parse(out.data(), out.size());
  FUZZ_CHECK(success && success->messageClass() == StunClass::SuccessResponse && success->method() == kMethodBinding &&
                 success->transactionId() == msg.transactionId(),
             "a Binding success response parses, for the request's transaction");
  FUZZ_CHECK(success->xorMappedAddress() == mapped, "XOR-MAPPED-ADDRESS round-trips");
  FUZZ_CHECK(success->verifyIntegrity(pwd) && success->verifyFingerprint(), "the response verifies");
  FUZZ_CHECK(!success->verifyIntegrity(pwd + "!"), "not with another key");

  const uint16_t code = static_cast<uint16_t>(300 + size % 300);
  std::string reason(msg.username().value_or("Bad Request"));  // any bytes, cut to 128 by the writer
  buildBindingError(msg.transactionId(), code, reason, out);
  auto error = StunMessage::parse(out.data(), out.size());
  FUZZ_CHECK(error && error->messageClass() == StunClass::ErrorResponse && error->errorCode() == code &&
                 error->verifyFingerprint() && !error->messageIntegrityOffset(),
             "a Binding error response parses with its code, a fingerprint and no integrity");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto msg = StunMessage::parse(data, size);
  if (!msg) return 0;
  checkAgainstWalk(*msg, data, size);
  // Two different keys can never both verify the same MESSAGE-INTEGRITY.
  FUZZ_CHECK(!(msg->verifyIntegrity("key-one") && msg->verifyIntegrity("key-two")), "one key at most verifies");
  if (msg->username()) {
    const std::string_view u = *msg->username();
    FUZZ_CHECK(!(msg->verifyIntegrity(u) && msg->verifyIntegrity(std::string(u) + "\x01")), "one key at most verifies");
  }
  // A rebuilt message stays under the 16-bit length only if the original did (it did: it parsed).
  checkRebuilt(*msg, data, size, msg->username().value_or("fuzz-ice-pwd-0123456789"));
  checkResponses(*msg, data, size);
  return 0;
}

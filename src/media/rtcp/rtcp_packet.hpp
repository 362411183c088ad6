// RTCP compound packet framing (RFC 3550 §6.1, RFC 4585 §6.1): iterate the packets of one
// (decrypted) compound datagram and write packet headers. Type-specific parsing lives in
// report.hpp and feedback.hpp; everything here is pure and allocation-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "media/byte_io.hpp"

namespace liveroom::media::rtcp {

inline constexpr size_t kHeaderSize = 4;

namespace type {
inline constexpr uint8_t kSenderReport = 200;
inline constexpr uint8_t kReceiverReport = 201;
inline constexpr uint8_t kSdes = 202;
inline constexpr uint8_t kBye = 203;
inline constexpr uint8_t kApp = 204;
inline constexpr uint8_t kTransportFeedback = 205;  // RTPFB
inline constexpr uint8_t kPayloadFeedback = 206;    // PSFB
}  // namespace type

// Feedback message types: the 5-bit count field of RTPFB/PSFB packets.
namespace fmt {
inline constexpr uint8_t kNack = 1;          // RTPFB, RFC 4585 §6.2.1
inline constexpr uint8_t kTransportCc = 15;  // RTPFB, draft-holmer-rmcat-transport-wide-cc
inline constexpr uint8_t kPli = 1;           // PSFB, RFC 4585 §6.3.1
inline constexpr uint8_t kFir = 4;           // PSFB, RFC 5104 §4.3.1
inline constexpr uint8_t kAfb = 15;          // PSFB application layer feedback (REMB)
}  // namespace fmt

// One packet of a compound, header validated. `data` points at its first header byte and
// `size` covers the whole packet (length field + 1 words), padding included.
struct RtcpPacketView {
  const uint8_t* data = nullptr;
  size_t size = 0;
  uint8_t count = 0;  // reception report count, source count or feedback FMT
  uint8_t packet_type = 0;
  size_t padding = 0;  // trailing padding bytes (P bit), already checked to fit

  // Bytes after the 4-byte header, padding excluded.
  const uint8_t* body() const noexcept { return data + kHeaderSize; }
  size_t bodySize() const noexcept { return size - kHeaderSize - padding; }
};

// Walks a compound packet. next() returns packets in order and nullopt at the end or at the
// first malformed header (version != 2, length overrunning the datagram, bad padding); then
// malformed() tells which. Packets before a malformed one were valid and may still be used.
class RtcpCompoundReader {
 public:
  RtcpCompoundReader(const uint8_t* data, size_t size) noexcept : data_(data), size_(size) {}

  std::optional<RtcpPacketView> next() noexcept;
  bool malformed() const noexcept { return malformed_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  bool malformed_ = false;
};

// True if every packet header of the datagram is valid and they tile it exactly.
bool isValidCompound(const uint8_t* data, size_t size) noexcept;

// Big-endian helpers shared by the RTCP parsers and builders.
namespace detail {
using media::append16;
using media::append24;
using media::append32;
using media::append8;
using media::read16;
using media::read24;
using media::read32;
// Appends a header with a zero length; finishPacket() fills the length once the body is written.
size_t beginPacket(std::vector<uint8_t>& out, uint8_t count, uint8_t packet_type);
size_t finishPacket(std::vector<uint8_t>& out, size_t start);
}  // namespace detail

}  // namespace liveroom::media::rtcp

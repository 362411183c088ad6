// A non-owning view over one RTP packet (RFC 3550 §5.1) with RFC 8285 header extensions.
// The forwarding path copies a publisher's packet into a viewer's buffer and rewrites it here
// in place (payload type, SSRC, sequence number, timestamp, extension ids): no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace liveroom::media::rtp {

inline constexpr size_t kFixedHeaderSize = 12;
inline constexpr uint16_t kOneByteProfile = 0xBEDE;
inline constexpr uint16_t kTwoByteProfileMask = 0xFFF0;  // 0x100X: low 4 bits are app bits
inline constexpr uint16_t kTwoByteProfile = 0x1000;

enum class ExtensionForm { None, OneByte, TwoByte, Other };

class RtpPacket {
 public:
  // nullopt unless the bytes are a well-formed RTP packet: at least 12 bytes, version 2, CSRC
  // list and extension block inside the packet, extension elements (one- or two-byte form)
  // inside their block, padding count non-zero and not larger than what follows the header.
  // The view aliases `data`: it stays valid as long as the buffer does.
  static std::optional<RtpPacket> parse(uint8_t* data, size_t size);

  uint8_t version() const noexcept { return static_cast<uint8_t>(data_[0] >> 6); }
  bool hasPadding() const noexcept { return (data_[0] & 0x20) != 0; }
  bool hasExtension() const noexcept { return (data_[0] & 0x10) != 0; }
  uint8_t csrcCount() const noexcept { return data_[0] & 0x0F; }
  uint32_t csrc(size_t index) const noexcept;  // index < csrcCount()
  bool marker() const noexcept { return (data_[1] & 0x80) != 0; }
  uint8_t payloadType() const noexcept { return data_[1] & 0x7F; }
  uint16_t sequenceNumber() const noexcept;
  uint32_t timestamp() const noexcept;
  uint32_t ssrc() const noexcept;

  ExtensionForm extensionForm() const noexcept { return extension_form_; }
  uint16_t extensionProfile() const noexcept { return extension_profile_; }
  // The value bytes of the first element with this id (one- or two-byte form), if any.
  std::optional<std::span<uint8_t>> findExtension(uint8_t id) const noexcept;

  void setMarker(bool marker) noexcept;
  void setPayloadType(uint8_t payload_type) noexcept;  // 0..127
  void setSequenceNumber(uint16_t sequence_number) noexcept;
  void setTimestamp(uint32_t timestamp) noexcept;
  void setSsrc(uint32_t ssrc) noexcept;
  // Rewrites extension ids in place: an element with id `old` gets id map[old]. An id with no
  // entry, a 0 entry, or a new id that does not fit the form (one-byte: 1..14) removes the
  // element by overwriting it with padding bytes (0), which RFC 8285 §4.2 lets receivers skip;
  // a viewer must never see an id it negotiated for something else.
  void remapExtensionIds(std::span<const uint8_t> map) noexcept;

  // The same packet copied into `buffer` (at least size() bytes), without parsing it again: a
  // forwarded packet is parsed once, however many viewers rewrite their own copy.
  RtpPacket copyTo(uint8_t* buffer) const noexcept;

  uint8_t* data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }
  size_t headerSize() const noexcept { return header_size_; }  // fixed + CSRCs + extension
  size_t paddingSize() const noexcept { return padding_size_; }
  size_t payloadOffset() const noexcept { return header_size_; }
  size_t payloadSize() const noexcept { return size_ - header_size_ - padding_size_; }
  std::span<uint8_t> payload() const noexcept { return {data_ + header_size_, payloadSize()}; }

 private:
  RtpPacket() = default;

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t header_size_ = 0;
  size_t padding_size_ = 0;
  size_t extension_offset_ = 0;  // first byte of the extension elements
  size_t extension_size_ = 0;
  uint16_t extension_profile_ = 0;
  ExtensionForm extension_form_ = ExtensionForm::None;
};

}  // namespace liveroom::media::rtp

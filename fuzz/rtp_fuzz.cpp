// Fuzz target: RTP packets (publishers' media after SRTP), media/rtp/rtp_packet.
// Checks, beyond "no crash":
//  - a parsed packet's fields agree with the buffer: version 2, header = 12 + CSRCs (+ the
//    extension block), header + padding within the packet, payload inside the buffer; every
//    extension element findExtension() returns lies inside the extension block;
//  - the demultiplexer classifies it as RTP (or RTCP for the RTCP-looking payload types);
//  - rewriting as the forwarding path does (marker, payload type, sequence number, timestamp,
//    SSRC, extension ids remapped with a map taken from the input) keeps it parseable with the
//    same sizes and payload bytes, the new values read back, and after remapping no element
//    carries an id that the map did not produce (ids over 14 never in the one-byte form);
//    with an injective map each kept element keeps its value under its new id.
#include <array>
#include <cstring>
#include <vector>

#include "fuzz_check.hpp"
#include "media/demux.hpp"
#include "media/rtp/rtp_packet.hpp"

namespace {

using namespace liveroom::media;
using liveroom::media::rtp::ExtensionForm;
using liveroom::media::rtp::RtpPacket;

struct Shape {
  size_t header, padding, payload;
  ExtensionForm form;
};

Shape shapeOf(const RtpPacket& p) { return {p.headerSize(), p.paddingSize(), p.payloadSize(), p.extensionForm()}; }

void checkFields(const RtpPacket& p, const uint8_t* buffer, size_t size) {
  FUZZ_CHECK(p.version() == 2, "version 2");
  FUZZ_CHECK(p.size() == size && p.data() == buffer, "the view covers the buffer");
  const size_t fixed = rtp::kFixedHeaderSize + 4 * size_t{p.csrcCount()};
  FUZZ_CHECK(p.headerSize() >= fixed, "header holds the CSRCs");
  if (!p.hasExtension())
    FUZZ_CHECK(p.headerSize() == fixed && p.extensionForm() == ExtensionForm::None, "no extension");
  if (p.hasExtension()) FUZZ_CHECK(p.headerSize() >= fixed + 4, "the extension header is in the header");
  FUZZ_CHECK(p.headerSize() + p.paddingSize() <= size, "header and padding within the packet");
  FUZZ_CHECK(p.hasPadding() == (p.paddingSize() > 0), "padding only with the P bit");
  FUZZ_CHECK(p.payload().data() == buffer + p.headerSize() &&
                 p.payload().data() + p.payload().size() + p.paddingSize() == buffer + size,
             "payload between header and padding");
  for (size_t i = 0; i < p.csrcCount(); ++i) (void)p.csrc(i);
  for (unsigned id = 1; id < 256; ++id) {
    if (auto ext = p.findExtension(static_cast<uint8_t>(id))) {
      FUZZ_CHECK(p.extensionForm() == ExtensionForm::OneByte || p.extensionForm() == ExtensionForm::TwoByte,
                 "elements only in the one- and two-byte forms");
      if (p.extensionForm() == ExtensionForm::OneByte) FUZZ_CHECK(id <= 14, "one-byte ids are 1..14");
      FUZZ_CHECK(ext->data() >= buffer + fixed + 4 && ext->data() + ext->size() <= buffer + p.headerSize(),
                 "an element's value is inside the extension block");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> buffer(data, data + size);
  auto parsed = RtpPacket::parse(buffer.data(), buffer.size());
  if (!parsed) return 0;
  RtpPacket packet = *parsed;
  checkFields(packet, buffer.data(), size);

  const PacketKind kind = classifyPacket(buffer.data(), buffer.size());
  // RFC 5761: payload types 64..95 with the marker bit make a second byte of 192..223, which
  // reads as RTCP; that is why SDP negotiation never picks them.
  const uint8_t pt = packet.payloadType();
  const bool looks_like_rtcp = packet.marker() && pt >= 64 && pt <= 95;
  FUZZ_CHECK(kind == (looks_like_rtcp ? PacketKind::Rtcp : PacketKind::Rtp), "classified as RTP");

  const Shape before = shapeOf(packet);
  const std::vector<uint8_t> payload(packet.payload().begin(), packet.payload().end());
  std::array<std::vector<uint8_t>, 256> values;  // extension values before remapping, by id
  std::array<bool, 256> present{};
  for (unsigned id = 1; id < 256; ++id) {
    if (auto ext = packet.findExtension(static_cast<uint8_t>(id))) {
      present[id] = true;
      values[id].assign(ext->begin(), ext->end());
    }
  }

  // New header values: the last bytes of the input (whatever they are).
  const uint8_t* tail = data + size - 12;  // size >= 12: it parsed
  const uint16_t seq = static_cast<uint16_t>(tail[0] << 8 | tail[1]);
  const uint32_t ts = uint32_t{tail[2]} << 24 | uint32_t{tail[3]} << 16 | uint32_t{tail[4]} << 8 | tail[5];
  const uint32_t ssrc = uint32_t{tail[6]} << 24 | uint32_t{tail[7]} << 16 | uint32_t{tail[8]} << 8 | tail[9];
  const uint8_t new_pt = tail[10] & 0x7F;
  const bool marker = (tail[11] & 1) != 0;
  packet.setSequenceNumber(seq);
  packet.setTimestamp(ts);
  packet.setSsrc(ssrc);
  packet.setPayloadType(new_pt);
  packet.setMarker(marker);

  // An extension id map from the input: id -> some byte of the packet (0 drops it).
  std::array<uint8_t, 256> map{};
  for (size_t id = 0; id < map.size(); ++id) map[id] = data[(id * 7 + 3) % size];
  packet.remapExtensionIds(map);

  auto again = RtpPacket::parse(buffer.data(), buffer.size());
  FUZZ_CHECK(again.has_value(), "a rewritten packet still parses");
  checkFields(*again, buffer.data(), size);
  const Shape after = shapeOf(*again);
  FUZZ_CHECK(after.header == before.header && after.padding == before.padding && after.payload == before.payload &&
                 after.form == before.form,
             "rewriting keeps header, padding and payload sizes");
  FUZZ_CHECK(std::equal(payload.begin(), payload.end(), again->payload().begin()), "rewriting keeps the payload");
  FUZZ_CHECK(again->sequenceNumber() == seq && again->timestamp() == ts && again->ssrc() == ssrc &&
                 again->payloadType() == new_pt && again->marker() == marker,
             "rewritten fields read back");

  // Which new ids the map can produce from the ids that were present, and whether it is injective.
  std::array<int, 256> sources{};
  for (unsigned id = 1; id < 256; ++id) {
    if (present[id] && map[id] != 0) ++sources[map[id]];
  }
  for (unsigned id = 1; id < 256; ++id) {
    auto ext = again->findExtension(static_cast<uint8_t>(id));
    if (!ext) continue;
    FUZZ_CHECK(sources[id] > 0, "after remapping, every id comes from the map");
    if (before.form == ExtensionForm::OneByte) FUZZ_CHECK(id <= 14, "one-byte ids stay 1..14");
  }
  for (unsigned id = 1; id < 256; ++id) {
    if (!present[id] || map[id] == 0 || sources[map[id]] != 1) continue;
    if (before.form == ExtensionForm::OneByte && map[id] > 14) continue;  // dropped: does not fit
    auto ext = again->findExtension(map[id]);
    FUZZ_CHECK(ext && std::equal(values[id].begin(), values[id].end(), ext->begin(), ext->end()),
               "an element keeps its value under its new id");
  }
  return 0;
}

// Fuzz target: what ICE-TCP and loss repair read from peers: RFC 4571 framing
// (media/transport/rfc4571.hpp), RTX restore/wrap (media/rtp/rtx) and the NackGenerator fed
// arbitrary sequence numbers (media/rtp/nack_generator). The first byte picks the part.
// Checks, beyond "no crash":
//  - framing: the input cut into fuzzed pieces yields frames of 1..max bytes whose bytes, with a
//    2-byte prefix each and the skipped frames, never exceed what was fed; the same stream fed
//    whole yields the same frames;
//  - RTX: a restored packet is two bytes shorter, parses, carries the OSN, the media PT and SSRC,
//    and the payload after the OSN; wrapping it again with the RTX PT/SSRC/sequence gives back
//    the original bytes;
//  - NACK: never more gaps tracked than max_missing; collect() never names more than asked.
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "media/rtp/nack_generator.hpp"
#include "media/rtp/rtx.hpp"
#include "media/transport/rfc4571.hpp"

namespace {

using namespace liveroom::media;
using liveroom::fuzz::ByteReader;

void framing(ByteReader& in) {
  const size_t max_frame = 1 + in.u8() * 8;
  const std::string_view stream = in.rest();
  const auto* bytes = reinterpret_cast<const uint8_t*>(stream.data());
  std::vector<std::string> pieces_frames;
  std::vector<std::string> whole_frames;
  Rfc4571Reader pieces(max_frame);
  Rfc4571Reader whole(max_frame);
  size_t framed_bytes = 0;
  // Piece sizes come from the stream itself (1..16 bytes).
  for (size_t at = 0; at < stream.size();) {
    const size_t n = std::min<size_t>(stream.size() - at, 1 + (bytes[at] & 0x0F));
    pieces.feed(bytes + at, n, [&](uint8_t* d, size_t s) {
      FUZZ_CHECK(s >= 1 && s <= max_frame, "frame within 1..max");
      framed_bytes += s + 2;
      pieces_frames.emplace_back(reinterpret_cast<char*>(d), s);
      return true;
    });
    at += n;
  }
  FUZZ_CHECK(framed_bytes <= stream.size(), "no more frame bytes than fed");
  whole.feed(bytes, stream.size(), [&](uint8_t* d, size_t s) {
    whole_frames.emplace_back(reinterpret_cast<char*>(d), s);
    return true;
  });
  FUZZ_CHECK(pieces_frames == whole_frames, "pieces and whole give the same frames");
  FUZZ_CHECK(pieces.droppedFrames() == whole.droppedFrames(), "same frames dropped");
}

void rtx(ByteReader& in) {
  const uint8_t media_pt = in.u8() & 0x7F;
  const uint32_t media_ssrc = in.u32();
  const std::string_view rest = in.rest();
  std::vector<uint8_t> original(rest.begin(), rest.end());
  std::vector<uint8_t> buf = original;
  auto packet = rtp::RtpPacket::parse(buf.data(), buf.size());
  if (!packet) return;
  const uint8_t rtx_pt = packet->payloadType();
  const uint32_t rtx_ssrc = packet->ssrc();
  const uint16_t rtx_seq = packet->sequenceNumber();
  const size_t payload_size = packet->payloadSize();
  std::vector<uint8_t> after_osn;
  if (payload_size >= 2) after_osn.assign(packet->payload().begin() + 2, packet->payload().end());
  const uint16_t osn =
      payload_size >= 2 ? static_cast<uint16_t>((packet->payload()[0] << 8) | packet->payload()[1]) : 0;
  auto restored = rtp::restoreFromRtx(*packet, media_pt, media_ssrc);
  if (payload_size < 2) {
    FUZZ_CHECK(!restored, "no OSN, nothing restored");
    return;
  }
  if (!restored) return;  // moving the padding may leave an unparseable packet: refused, fine
  FUZZ_CHECK(restored->size() == original.size() - 2, "two bytes shorter");
  FUZZ_CHECK(restored->sequenceNumber() == osn && restored->payloadType() == media_pt && restored->ssrc() == media_ssrc,
             "OSN, media PT and SSRC");
  FUZZ_CHECK(std::vector<uint8_t>(restored->payload().begin(), restored->payload().end()) == after_osn,
             "the payload after the OSN");
  buf.resize(original.size());
  auto again = rtp::wrapInRtx(*restored, buf.size(), rtx_pt, rtx_ssrc, rtx_seq);
  FUZZ_CHECK(again.has_value(), "room for the OSN again");
  FUZZ_CHECK(std::vector<uint8_t>(again->data(), again->data() + again->size()) == original, "round trip");
}

void nack(ByteReader& in) {
  rtp::NackGenerator::Options o;
  o.max_missing = 1 + in.u8() * 4;
  o.max_retries = 1 + in.u8() % 12;
  rtp::NackGenerator g(o);
  auto now = rtp::NackGenerator::Clock::time_point{} + std::chrono::hours(1);
  std::vector<uint16_t> out;
  while (!in.empty()) {
    const uint8_t op = in.u8();
    now += std::chrono::milliseconds(op & 0x3F);
    if (op & 0x80) {
      out.clear();
      const size_t cap = 1 + (op & 0x0F);
      g.collect(now, out, cap);
      FUZZ_CHECK(out.size() <= cap, "collect respects its cap");
    } else {
      const size_t missing_before = g.missing();
      const bool resend = (op & 0x40) != 0;
      const auto arrival = g.onPacket(in.u16(), now, resend);
      if (resend && arrival == rtp::NackGenerator::Arrival::kOld) {
        FUZZ_CHECK(g.missing() == missing_before, "a resend that is no news changes nothing");
      }
    }
    FUZZ_CHECK(g.missing() <= o.max_missing, "bounded gap list");
    (void)g.takeKeyFrameRequest();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  switch (in.u8() % 3) {
    case 0:
      framing(in);
      break;
    case 1:
      rtx(in);
      break;
    default:
      nack(in);
      break;
  }
  return 0;
}

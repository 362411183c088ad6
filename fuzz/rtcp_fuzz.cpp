// Fuzz target: RTCP compound datagrams (after SRTCP), media/rtcp.
// Checks, beyond "no crash":
//  - every packet RtcpCompoundReader yields lies inside the datagram, right after the previous
//    one, is a whole number of 32-bit words, and its padding fits its body; isValidCompound()
//    is true exactly when the packets tile the datagram;
//  - parse -> build -> parse gives equal values for SR and RR (with their report blocks), PLI,
//    FIR (each entry), Generic NACK (the same set of lost sequence numbers) and REMB (the same
//    SSRCs; the bitrate rounded down to what 18 mantissa bits hold, and stable from then on);
//  - the transport-cc feedback header parser agrees with an independent decoder
//    (twcc_reference.hpp) on every fixed field.
#include <algorithm>
#include <set>
#include <vector>

#include "fuzz_check.hpp"
#include "media/rtcp/feedback.hpp"
#include "media/rtcp/report.hpp"
#include "media/rtcp/rtcp_packet.hpp"
#include "twcc_reference.hpp"

namespace {

using namespace liveroom::media::rtcp;
namespace twcc = liveroom::fuzz::twcc;

// The one packet a builder appended, read back.
RtcpPacketView only(const std::vector<uint8_t>& out) {
  RtcpCompoundReader reader(out.data(), out.size());
  auto view = reader.next();
  FUZZ_CHECK(view && view->size == out.size() && !reader.next() && !reader.malformed(),
             "a built packet is one valid RTCP packet");
  FUZZ_CHECK(isValidCompound(out.data(), out.size()), "a built packet is a valid compound");
  return *view;
}

void checkReports(const RtcpPacketView& p) {
  if (auto sr = SenderReport::parse(p)) {
    FUZZ_CHECK(sr->block_count == p.count && sr->block_count <= kMaxReportBlocks, "SR block count");
    FUZZ_CHECK(24 + sr->block_count * kReportBlockSize <= p.bodySize(), "SR blocks inside the packet");
    std::vector<uint8_t> out;
    appendSenderReport(out, sr->ssrc, sr->ntp_timestamp, sr->rtp_timestamp, sr->packet_count, sr->octet_count,
                       sr->reportBlocks());
    auto again = SenderReport::parse(only(out));
    FUZZ_CHECK(again && again->ssrc == sr->ssrc && again->ntp_timestamp == sr->ntp_timestamp &&
                   again->rtp_timestamp == sr->rtp_timestamp && again->packet_count == sr->packet_count &&
                   again->octet_count == sr->octet_count &&
                   std::ranges::equal(again->reportBlocks(), sr->reportBlocks()),
               "SR parse -> build -> parse");
  }
  if (auto rr = ReceiverReport::parse(p)) {
    FUZZ_CHECK(rr->block_count == p.count && rr->block_count <= kMaxReportBlocks, "RR block count");
    FUZZ_CHECK(4 + rr->block_count * kReportBlockSize <= p.bodySize(), "RR blocks inside the packet");
    std::vector<uint8_t> out;
    appendReceiverReport(out, rr->ssrc, rr->reportBlocks());
    auto again = ReceiverReport::parse(only(out));
    FUZZ_CHECK(again && again->ssrc == rr->ssrc && std::ranges::equal(again->reportBlocks(), rr->reportBlocks()),
               "RR parse -> build -> parse");
  }
}

void checkFeedback(const RtcpPacketView& p) {
  if (auto pli = Pli::parse(p)) {
    std::vector<uint8_t> out;
    appendPli(out, pli->sender_ssrc, pli->media_ssrc);
    auto again = Pli::parse(only(out));
    FUZZ_CHECK(again && again->sender_ssrc == pli->sender_ssrc && again->media_ssrc == pli->media_ssrc,
               "PLI parse -> build -> parse");
  }
  if (auto fir = Fir::parse(p)) {
    FUZZ_CHECK(fir->entry_count > 0 && 8 + fir->entry_count * 8 <= p.bodySize(), "FIR entries inside the packet");
    for (size_t i = 0; i < fir->entry_count; ++i) {
      const FirEntry e = fir->entry(i);
      std::vector<uint8_t> out;
      appendFir(out, fir->sender_ssrc, e.ssrc, e.sequence_number);
      auto again = Fir::parse(only(out));
      FUZZ_CHECK(again && again->sender_ssrc == fir->sender_ssrc && again->entry_count == 1 && again->entry(0) == e,
                 "FIR entry parse -> build -> parse");
    }
  }
  if (auto nack = Nack::parse(p)) {
    FUZZ_CHECK(nack->item_count > 0 && 8 + nack->item_count * 4 <= p.bodySize(), "NACK items inside the packet");
    std::vector<uint16_t> lost;
    nack->appendLost(lost);
    FUZZ_CHECK(lost.size() >= nack->item_count && lost.size() <= nack->item_count * 17, "NACK lost count");
    std::vector<uint8_t> out;
    appendNack(out, nack->sender_ssrc, nack->media_ssrc, lost);
    auto again = Nack::parse(only(out));
    FUZZ_CHECK(again && again->sender_ssrc == nack->sender_ssrc && again->media_ssrc == nack->media_ssrc,
               "NACK SSRCs survive");
    std::vector<uint16_t> lost_again;
    again->appendLost(lost_again);
    FUZZ_CHECK(std::set<uint16_t>(lost.begin(), lost.end()) == std::set<uint16_t>(lost_again.begin(), lost_again.end()),
               "NACK parse -> build -> parse: the same lost sequence numbers");
  }
  if (auto remb = Remb::parse(p)) {
    FUZZ_CHECK(8 + 8 + remb->ssrc_count * 4 <= p.bodySize(), "REMB SSRCs inside the packet");
    std::vector<uint32_t> ssrcs;
    for (size_t i = 0; i < remb->ssrc_count; ++i) ssrcs.push_back(remb->ssrc(i));
    std::vector<uint8_t> out;
    appendRemb(out, remb->sender_ssrc, remb->bitrate_bps, ssrcs);
    auto again = Remb::parse(only(out));
    FUZZ_CHECK(again && again->sender_ssrc == remb->sender_ssrc && again->ssrc_count == remb->ssrc_count,
               "REMB parse -> build -> parse: sender and SSRC count");
    for (size_t i = 0; i < ssrcs.size(); ++i) FUZZ_CHECK(again->ssrc(i) == ssrcs[i], "REMB SSRCs survive");
    unsigned shift = 0;
    while ((remb->bitrate_bps >> shift) > 0x3FFFF) ++shift;
    FUZZ_CHECK(again->bitrate_bps == (remb->bitrate_bps >> shift) << shift, "REMB bitrate rounded down to 18 bits");
    std::vector<uint8_t> out2;
    appendRemb(out2, again->sender_ssrc, again->bitrate_bps, ssrcs);
    auto third = Remb::parse(only(out2));
    FUZZ_CHECK(third && third->bitrate_bps == again->bitrate_bps, "a REMB bitrate is stable once rounded");
  }
  if (auto tcc = TransportCcHeader::parse(p)) {
    auto ref = twcc::decode(p.body(), p.bodySize());
    const uint8_t* b = p.body();
    FUZZ_CHECK(tcc->sender_ssrc == twcc::be32(b) && tcc->media_ssrc == twcc::be32(b + 4) &&
                   tcc->base_sequence == twcc::be16(b + 8) && tcc->packet_status_count == twcc::be16(b + 10) &&
                   tcc->feedback_count == b[15],
               "transport-cc header fields");
    if (ref) FUZZ_CHECK(tcc->reference_time == ref->reference_time, "transport-cc reference time, sign-extended");
    FUZZ_CHECK(tcc->reference_time >= -0x800000 && tcc->reference_time <= 0x7FFFFF, "24-bit reference time");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RtcpCompoundReader reader(data, size);
  size_t offset = 0;
  while (auto p = reader.next()) {
    FUZZ_CHECK(p->data == data + offset, "packets follow each other");
    FUZZ_CHECK(p->size >= kHeaderSize && p->size % 4 == 0 && p->size <= size - offset, "packet inside the datagram");
    FUZZ_CHECK(p->padding <= p->size - kHeaderSize, "padding fits the body");
    FUZZ_CHECK(p->body() + p->bodySize() <= data + size, "body inside the datagram");
    FUZZ_CHECK(p->packet_type == data[offset + 1] && p->count == (data[offset] & 0x1F), "header fields");
    offset += p->size;
    checkReports(*p);
    checkFeedback(*p);
  }
  FUZZ_CHECK(reader.malformed() || offset == size, "the reader stops only at the end or at a malformed packet");
  FUZZ_CHECK(isValidCompound(data, size) == (size > 0 && !reader.malformed()), "isValidCompound agrees");
  return 0;
}

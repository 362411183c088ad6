// RTCP compound framing, SR/RR and feedback parsers against hand-assembled packets; builder
// round trips; bounds and robustness sweeps.
#include "media/rtcp/feedback.hpp"
#include "media/rtcp/report.hpp"
#include "media/rtcp/rtcp_packet.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

namespace liveroom::media::rtcp {
namespace {

const std::vector<uint8_t> kSenderReport = {
    0x81, 0xC8, 0x00, 0x0C,  // V=2 P=0 RC=1, PT=200 SR, length 12 words
    0x11, 0x22, 0x33, 0x44,  // sender SSRC
    0xE1, 0x23, 0x45, 0x67,  // NTP timestamp, seconds
    0x89, 0xAB, 0xCD, 0xEF,  // NTP timestamp, fraction
    0x00, 0x01, 0x00, 0x00,  // RTP timestamp
    0x00, 0x00, 0x00, 0x64,  // sender's packet count 100
    0x00, 0x00, 0x27, 0x10,  // sender's octet count 10000
    0x55, 0x66, 0x77, 0x88,  // block 1: source SSRC
    0x40,                    //   fraction lost 64/256
    0xFF, 0xFF, 0xFE,        //   cumulative lost -2 (24-bit two's complement)
    0x00, 0x01, 0xFF, 0xFF,  //   extended highest sequence number
    0x00, 0x00, 0x00, 0x10,  //   interarrival jitter 16
    0xA1, 0xB2, 0xC3, 0xD4,  //   last SR
    0x00, 0x01, 0x00, 0x00,  //   delay since last SR: 1 s
};

// What Chromium sends when a viewer lost a key frame: an empty RR then a PLI.
const std::vector<uint8_t> kRrThenPli = {
    0x80, 0xC9, 0x00, 0x01,  // V=2 RC=0, PT=201 RR, length 1 word
    0x00, 0x00, 0x00, 0x01,  // reporter SSRC 1
    0x81, 0xCE, 0x00, 0x02,  // V=2 FMT=1, PT=206 PSFB (PLI), length 2 words
    0x00, 0x00, 0x00, 0x01,  // sender SSRC 1
    0xDE, 0xAD, 0xBE, 0xEF,  // media SSRC
};

const std::vector<uint8_t> kNack = {
    0x81, 0xCD, 0x00, 0x04,  // V=2 FMT=1, PT=205 RTPFB (Generic NACK), length 4 words
    0x00, 0x00, 0x00, 0x01,  // sender SSRC
    0xDE, 0xAD, 0xBE, 0xEF,  // media SSRC
    0x00, 0x64, 0x00, 0x05,  // PID 100, BLP 0b101: 101 and 103 lost too
    0xFF, 0xFF, 0x80, 0x00,  // PID 65535, BLP bit 15: 65535 + 16 wraps to 15
};

const std::vector<uint8_t> kFir = {
    0x84, 0xCE, 0x00, 0x04,  // V=2 FMT=4, PT=206 PSFB (FIR), length 4 words
    0x00, 0x00, 0x00, 0x01,  // sender SSRC
    0x00, 0x00, 0x00, 0x00,  // media SSRC: unused by FIR
    0xDE, 0xAD, 0xBE, 0xEF,  // FCI: target SSRC
    0x07, 0x00, 0x00, 0x00,  //      sequence number 7, reserved
};

const std::vector<uint8_t> kRemb = {
    0x8F, 0xCE, 0x00, 0x05,  // V=2 FMT=15, PT=206 PSFB (AFB), length 5 words
    0x00, 0x00, 0x00, 0x01,  // sender SSRC
    0x00, 0x00, 0x00, 0x00,  // media SSRC: 0 for REMB
    'R',  'E',  'M',  'B',   // unique identifier
    0x01,                    // 1 SSRC
    0x0B, 0xD0, 0x90,        // exponent 2, mantissa 250000: 1,000,000 bps
    0xDE, 0xAD, 0xBE, 0xEF,  // SSRC the estimate applies to
};

const std::vector<uint8_t> kTransportCc = {
    0x8F, 0xCD, 0x00, 0x05,  // V=2 FMT=15, PT=205 RTPFB (transport-cc), length 5 words
    0x00, 0x00, 0x00, 0x01,  // sender SSRC
    0xDE, 0xAD, 0xBE, 0xEF,  // media SSRC
    0x00, 0x01,              // base sequence number 1
    0x00, 0x02,              // packet status count 2
    0xFF, 0xFF, 0xFF,        // reference time -1
    0x03,                    // feedback packet count 3
    0x20, 0x02,              // run-length chunk: 2 x "received, small delta"
    0x04, 0x04,              // receive deltas
};

RtcpPacketView only(const std::vector<uint8_t>& bytes) {
  RtcpCompoundReader reader(bytes.data(), bytes.size());
  auto view = reader.next();
  EXPECT_TRUE(view);
  EXPECT_FALSE(reader.next());
  EXPECT_FALSE(reader.malformed());
  return view.value_or(RtcpPacketView{});
}

TEST(RtcpCompoundTest, IteratesPacketsAndStopsAtTheEnd) {
  RtcpCompoundReader reader(kRrThenPli.data(), kRrThenPli.size());
  const auto rr = reader.next();
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->packet_type, type::kReceiverReport);
  EXPECT_EQ(rr->size, 8u);
  const auto pli = reader.next();
  ASSERT_TRUE(pli);
  EXPECT_EQ(pli->packet_type, type::kPayloadFeedback);
  EXPECT_EQ(pli->count, fmt::kPli);
  EXPECT_EQ(pli->data, kRrThenPli.data() + 8);
  EXPECT_FALSE(reader.next());
  EXPECT_FALSE(reader.malformed());
  EXPECT_TRUE(isValidCompound(kRrThenPli.data(), kRrThenPli.size()));
}

TEST(RtcpCompoundTest, RejectsOverrunsBadVersionAndBadPadding) {
  auto bytes = kRrThenPli;
  bytes[11] = 0x03;  // PLI claims one word more than the datagram holds
  RtcpCompoundReader reader(bytes.data(), bytes.size());
  EXPECT_TRUE(reader.next());  // the RR before it is still fine
  EXPECT_FALSE(reader.next());
  EXPECT_TRUE(reader.malformed());
  EXPECT_FALSE(isValidCompound(bytes.data(), bytes.size()));

  bytes = kRrThenPli;
  bytes[0] = 0x40;  // version 1
  EXPECT_FALSE(isValidCompound(bytes.data(), bytes.size()));
  bytes = kRrThenPli;
  bytes.push_back(0x80);  // a trailing partial header
  EXPECT_FALSE(isValidCompound(bytes.data(), bytes.size()));
  bytes = kRrThenPli;
  bytes[0] = 0xA0;  // padding bit on the RR, whose last byte (0x01) is then padding: fine
  EXPECT_TRUE(isValidCompound(bytes.data(), bytes.size()));
  bytes[7] = 0x09;  // padding larger than the body
  EXPECT_FALSE(isValidCompound(bytes.data(), bytes.size()));
  bytes[7] = 0x00;  // zero padding count
  EXPECT_FALSE(isValidCompound(bytes.data(), bytes.size()));
  EXPECT_FALSE(isValidCompound(nullptr, 0));
}

TEST(RtcpReportTest, ParsesHandAssembledSenderReport) {
  const auto sr = SenderReport::parse(only(kSenderReport));
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->ssrc, 0x11223344u);
  EXPECT_EQ(sr->ntp_timestamp, 0xE123456789ABCDEFull);
  EXPECT_EQ(sr->rtp_timestamp, 0x10000u);
  EXPECT_EQ(sr->packet_count, 100u);
  EXPECT_EQ(sr->octet_count, 10000u);
  ASSERT_EQ(sr->reportBlocks().size(), 1u);
  const ReportBlock& block = sr->reportBlocks()[0];
  EXPECT_EQ(block.ssrc, 0x55667788u);
  EXPECT_EQ(block.fraction_lost, 0x40);
  EXPECT_EQ(block.cumulative_lost, -2);
  EXPECT_EQ(block.extended_highest_sequence, 0x1FFFFu);
  EXPECT_EQ(block.jitter, 16u);
  EXPECT_EQ(block.last_sr, 0xA1B2C3D4u);
  EXPECT_EQ(block.delay_since_last_sr, 0x10000u);
  EXPECT_FALSE(ReceiverReport::parse(only(kSenderReport)));
}

TEST(RtcpReportTest, RejectsReportsWhoseBlocksDoNotFit) {
  auto bytes = kSenderReport;
  bytes[0] = 0x82;  // RC=2 but only one block present
  RtcpCompoundReader reader(bytes.data(), bytes.size());
  const auto view = reader.next();
  ASSERT_TRUE(view);
  EXPECT_FALSE(SenderReport::parse(*view));
}

TEST(RtcpReportTest, SenderReportRoundTrip) {
  ReportBlock a{0xAAAA0001, 12, -5, 70000, 33, 0x12345678, 655};
  ReportBlock b{0xBBBB0002, 255, 0x7FFFFF, 1, 0, 0, 0};
  const ReportBlock blocks[] = {a, b};
  std::vector<uint8_t> out;
  const size_t size = appendSenderReport(out, 42, 0x0102030405060708ull, 9000, 7, 1400, blocks);
  EXPECT_EQ(size, 4u + 24u + 48u);
  EXPECT_EQ(out.size(), size);
  const auto sr = SenderReport::parse(only(out));
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->ssrc, 42u);
  EXPECT_EQ(sr->ntp_timestamp, 0x0102030405060708ull);
  EXPECT_EQ(sr->rtp_timestamp, 9000u);
  EXPECT_EQ(sr->packet_count, 7u);
  EXPECT_EQ(sr->octet_count, 1400u);
  ASSERT_EQ(sr->reportBlocks().size(), 2u);
  EXPECT_EQ(sr->reportBlocks()[0], a);
  EXPECT_EQ(sr->reportBlocks()[1], b);

  // The hand-assembled SR is reproduced byte for byte.
  std::vector<uint8_t> again;
  const ReportBlock original = SenderReport::parse(only(kSenderReport))->reportBlocks()[0];
  appendSenderReport(again, 0x11223344, 0xE123456789ABCDEFull, 0x10000, 100, 10000, {&original, 1});
  EXPECT_EQ(again, kSenderReport);
}

TEST(RtcpReportTest, ReceiverReportRoundTripAndClamping) {
  ReportBlock block{7, 1, -0x900000, 2, 3, 4, 5};  // cumulative lost below the 24-bit range
  std::vector<uint8_t> out;
  appendReceiverReport(out, 99, {&block, 1});
  const auto rr = ReceiverReport::parse(only(out));
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->ssrc, 99u);
  ASSERT_EQ(rr->reportBlocks().size(), 1u);
  EXPECT_EQ(rr->reportBlocks()[0].cumulative_lost, -0x800000);
  EXPECT_EQ(rr->reportBlocks()[0].ssrc, 7u);

  out.clear();
  appendReceiverReport(out, 1, {});
  EXPECT_EQ(out, std::vector<uint8_t>(kRrThenPli.begin(), kRrThenPli.begin() + 8));

  std::vector<ReportBlock> many(40, block);
  out.clear();
  appendReceiverReport(out, 1, many);
  const auto capped = ReceiverReport::parse(only(out));
  ASSERT_TRUE(capped);
  EXPECT_EQ(capped->reportBlocks().size(), kMaxReportBlocks);
}

TEST(RtcpFeedbackTest, PliParseAndRoundTrip) {
  RtcpCompoundReader reader(kRrThenPli.data(), kRrThenPli.size());
  reader.next();
  const auto pli = Pli::parse(*reader.next());
  ASSERT_TRUE(pli);
  EXPECT_EQ(pli->sender_ssrc, 1u);
  EXPECT_EQ(pli->media_ssrc, 0xDEADBEEFu);
  std::vector<uint8_t> out;
  EXPECT_EQ(appendPli(out, 1, 0xDEADBEEF), 12u);
  EXPECT_EQ(out, std::vector<uint8_t>(kRrThenPli.begin() + 8, kRrThenPli.end()));
  EXPECT_FALSE(Fir::parse(only(out)));
  EXPECT_FALSE(Nack::parse(only(out)));
}

TEST(RtcpFeedbackTest, FirParseAndRoundTrip) {
  const auto fir = Fir::parse(only(kFir));
  ASSERT_TRUE(fir);
  EXPECT_EQ(fir->sender_ssrc, 1u);
  ASSERT_EQ(fir->entry_count, 1u);
  EXPECT_EQ(fir->entry(0), (FirEntry{0xDEADBEEF, 7}));
  EXPECT_FALSE(Pli::parse(only(kFir)));
  std::vector<uint8_t> out;
  appendFir(out, 1, 0xDEADBEEF, 7);
  EXPECT_EQ(out, kFir);

  auto bad = kFir;
  bad[3] = 0x03;  // FCI of 4 bytes: not a whole entry
  bad.resize(16);
  EXPECT_FALSE(Fir::parse(only(bad)));
}

TEST(RtcpFeedbackTest, NackParseListsLostSequenceNumbers) {
  const auto nack = Nack::parse(only(kNack));
  ASSERT_TRUE(nack);
  EXPECT_EQ(nack->media_ssrc, 0xDEADBEEFu);
  std::vector<uint16_t> lost;
  nack->appendLost(lost);
  EXPECT_EQ(lost, (std::vector<uint16_t>{100, 101, 103, 65535, 15}));
}

TEST(RtcpFeedbackTest, NackRoundTripPacksItems) {
  const std::vector<uint16_t> lost = {100, 101, 103, 116, 117, 65530, 65535, 3, 9};
  std::vector<uint8_t> out;
  appendNack(out, 1, 2, lost);
  const auto nack = Nack::parse(only(out));
  ASSERT_TRUE(nack);
  EXPECT_EQ(nack->item_count, 3u);  // {100..116}, {117}, {65530..9 across the wrap}
  std::vector<uint16_t> back;
  nack->appendLost(back);
  EXPECT_EQ(back, lost);

  // Unsorted input with a duplicate still covers every number (possibly more than once).
  const std::vector<uint16_t> messy = {50, 10, 50, 11};
  out.clear();
  appendNack(out, 1, 2, messy);
  back.clear();
  Nack::parse(only(out))->appendLost(back);
  EXPECT_EQ(std::set<uint16_t>(back.begin(), back.end()), (std::set<uint16_t>{10, 11, 50}));

  // The hand-assembled NACK is what the builder writes for the same list.
  out.clear();
  appendNack(out, 1, 0xDEADBEEF, std::vector<uint16_t>{100, 101, 103, 65535, 15});
  EXPECT_EQ(out, kNack);
}

TEST(RtcpFeedbackTest, RembParseAndRoundTrip) {
  const auto remb = Remb::parse(only(kRemb));
  ASSERT_TRUE(remb);
  EXPECT_EQ(remb->sender_ssrc, 1u);
  EXPECT_EQ(remb->bitrate_bps, 1000000u);
  ASSERT_EQ(remb->ssrc_count, 1u);
  EXPECT_EQ(remb->ssrc(0), 0xDEADBEEFu);
  std::vector<uint8_t> out;
  const uint32_t ssrc = 0xDEADBEEF;
  appendRemb(out, 1, 1000000, {&ssrc, 1});
  EXPECT_EQ(out, kRemb);

  const uint32_t ssrcs[] = {1, 2, 3};
  for (uint64_t bitrate : {0ull, 1ull, 262143ull, 262144ull, 2500000ull, 123456789012ull}) {
    out.clear();
    appendRemb(out, 9, bitrate, ssrcs);
    const auto parsed = Remb::parse(only(out));
    ASSERT_TRUE(parsed);
    EXPECT_LE(parsed->bitrate_bps, bitrate);
    EXPECT_GE(parsed->bitrate_bps, bitrate - bitrate / 100000);  // 18-bit mantissa precision
    ASSERT_EQ(parsed->ssrc_count, 3u);
    EXPECT_EQ(parsed->ssrc(2), 3u);
  }
}

TEST(RtcpFeedbackTest, RembRejectsBadIdentifierAndSaturates) {
  auto bad = kRemb;
  bad[12] = 'X';
  EXPECT_FALSE(Remb::parse(only(bad)));
  bad = kRemb;
  bad[16] = 2;  // two SSRCs announced, one present
  EXPECT_FALSE(Remb::parse(only(bad)));
  bad = kRemb;
  bad[17] = 0xFF;  // exponent 63, mantissa 0x3D090: would overflow
  const auto huge = Remb::parse(only(bad));
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->bitrate_bps, UINT64_MAX);
}

TEST(RtcpFeedbackTest, IdentifiesTransportCc) {
  const auto twcc = TransportCcHeader::parse(only(kTransportCc));
  ASSERT_TRUE(twcc);
  EXPECT_EQ(twcc->sender_ssrc, 1u);
  EXPECT_EQ(twcc->media_ssrc, 0xDEADBEEFu);
  EXPECT_EQ(twcc->base_sequence, 1);
  EXPECT_EQ(twcc->packet_status_count, 2);
  EXPECT_EQ(twcc->reference_time, -1);
  EXPECT_EQ(twcc->feedback_count, 3);
  EXPECT_FALSE(Nack::parse(only(kTransportCc)));
  EXPECT_FALSE(Remb::parse(only(kTransportCc)));
}

TEST(RtcpCompoundTest, BuildersConcatenateIntoAValidCompound) {
  std::vector<uint8_t> out;
  appendReceiverReport(out, 1, {});
  appendRemb(out, 1, 300000, std::vector<uint32_t>{5});
  appendPli(out, 1, 5);
  appendNack(out, 1, 5, std::vector<uint16_t>{7});
  ASSERT_TRUE(isValidCompound(out.data(), out.size()));
  RtcpCompoundReader reader(out.data(), out.size());
  int packets = 0;
  while (auto view = reader.next()) {
    ++packets;
    EXPECT_EQ(view->size % 4, 0u);
  }
  EXPECT_EQ(packets, 4);
}

// Runs every parser on every packet of a datagram and checks that views stay inside it.
void parseEverything(const std::vector<uint8_t>& bytes) {
  const uint8_t* begin = bytes.data();
  const uint8_t* end = bytes.data() + bytes.size();
  RtcpCompoundReader reader(bytes.data(), bytes.size());
  while (auto view = reader.next()) {
    ASSERT_GE(view->data, begin);
    ASSERT_LE(view->data + view->size, end);
    ASSERT_LE(view->body() + view->bodySize(), end);
    SenderReport::parse(*view);
    ReceiverReport::parse(*view);
    Pli::parse(*view);
    TransportCcHeader::parse(*view);
    if (auto fir = Fir::parse(*view); fir && fir->entry_count > 0) {
      ASSERT_LE(fir->entries_data + 8 * fir->entry_count, end);
      fir->entry(fir->entry_count - 1);
    }
    if (auto nack = Nack::parse(*view)) {
      ASSERT_LE(nack->items_data + 4 * nack->item_count, end);
      std::vector<uint16_t> lost;
      nack->appendLost(lost);
      ASSERT_LE(lost.size(), 17 * nack->item_count);
    }
    if (auto remb = Remb::parse(*view); remb && remb->ssrc_count > 0) {
      ASSERT_LE(remb->ssrcs_data + 4 * remb->ssrc_count, end);
      remb->ssrc(remb->ssrc_count - 1);
    }
  }
}

TEST(RtcpRobustnessTest, EveryPrefixAndRandomCorruptionStaysInBounds) {
  std::vector<uint8_t> all;
  for (const auto* part : {&kSenderReport, &kRrThenPli, &kNack, &kFir, &kRemb, &kTransportCc}) {
    all.insert(all.end(), part->begin(), part->end());
  }
  ASSERT_TRUE(isValidCompound(all.data(), all.size()));
  for (size_t n = 0; n <= all.size(); ++n) {
    // A fresh vector per prefix so AddressSanitizer sees any read past it.
    parseEverything(std::vector<uint8_t>(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n)));
  }
  std::mt19937 rng(3550);
  for (int round = 0; round < 5000; ++round) {
    auto bytes = all;
    bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    parseEverything(bytes);
  }
}

}  // namespace
}  // namespace liveroom::media::rtcp

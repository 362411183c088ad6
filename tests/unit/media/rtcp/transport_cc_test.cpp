// TransportCcRecorder: feedback packets decoded by an independent decoder written from the draft
// (run-length and status vector chunks, 1- and 2-bit symbols) and compared with the arrivals fed
// in: order, losses, reordering, wraps, large and negative deltas, splitting, duplicates, window
// restarts; plus the exact bytes of one hand-computed packet.
#include "media/rtcp/transport_cc.hpp"

#include "media/rtcp/feedback.hpp"
#include "media/rtcp/rtcp_packet.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <vector>

namespace liveroom::media::rtcp {
namespace {

using Clock = TransportCcRecorder::Clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// One decoded feedback packet: the fixed part, then per status its symbol and, when received,
// the absolute arrival time in 250 us ticks (reference time * 256 + the running sum of deltas).
struct Decoded {
  TransportCcHeader header;
  size_t size = 0;
  std::vector<uint8_t> symbols;
  std::vector<std::optional<int64_t>> ticks;
};

// Decodes one RTPFB FMT 15 packet occupying all of `bytes`; nullopt (and a test failure) when
// anything is off: framing, chunks overrunning, deltas not exactly filling the body.
std::optional<Decoded> decode(const std::vector<uint8_t>& bytes) {
  RtcpCompoundReader reader(bytes.data(), bytes.size());
  const auto view = reader.next();
  if (!view || reader.next() || reader.malformed()) {
    ADD_FAILURE() << "not exactly one valid RTCP packet";
    return std::nullopt;
  }
  const auto header = TransportCcHeader::parse(*view);
  if (!header) {
    ADD_FAILURE() << "not a transport-cc packet";
    return std::nullopt;
  }
  Decoded decoded;
  decoded.header = *header;
  decoded.size = view->size;
  const uint8_t* p = view->body() + 16;
  const uint8_t* end = view->body() + view->bodySize();
  const size_t count = header->packet_status_count;
  while (decoded.symbols.size() < count) {
    if (end - p < 2) {
      ADD_FAILURE() << "chunks overrun the packet";
      return std::nullopt;
    }
    const uint16_t chunk = read16(p);
    p += 2;
    if ((chunk & 0x8000) == 0) {  // run-length chunk: 2-bit symbol, 13-bit length
      const uint8_t symbol = (chunk >> 13) & 0x3;
      for (size_t i = 0; i < (chunk & 0x1FFFu) && decoded.symbols.size() < count; ++i) {
        decoded.symbols.push_back(symbol);
      }
    } else if ((chunk & 0x4000) == 0) {  // status vector, 14 one-bit symbols
      for (int bit = 13; bit >= 0 && decoded.symbols.size() < count; --bit) {
        decoded.symbols.push_back((chunk >> bit) & 0x1);
      }
    } else {  // status vector, 7 two-bit symbols
      for (int shift = 12; shift >= 0 && decoded.symbols.size() < count; shift -= 2) {
        decoded.symbols.push_back((chunk >> shift) & 0x3);
      }
    }
  }
  int64_t now = int64_t{header->reference_time} * 256;
  for (const uint8_t symbol : decoded.symbols) {
    if (symbol == 0) {
      decoded.ticks.emplace_back();
      continue;
    }
    if (symbol == 3 || end - p < symbol) {
      ADD_FAILURE() << "reserved symbol or deltas overrun the packet";
      return std::nullopt;
    }
    now += symbol == 1 ? int64_t{p[0]} : int64_t{static_cast<int16_t>(read16(p))};
    p += symbol;
    decoded.ticks.emplace_back(now);
  }
  if (p != end) {
    ADD_FAILURE() << (end - p) << " bytes left after the deltas";
    return std::nullopt;
  }
  return decoded;
}

int64_t expectedTicks(int64_t us) { return (us + 125) / 250; }  // rounded, us >= 0

// Feeds arrivals (sequence, microseconds after a fixed start) and drains all feedback.
class TransportCcTest : public ::testing::Test {
 protected:
  void arrive(uint16_t sequence, int64_t us) { recorder_.onPacket(sequence, start_ + microseconds(us)); }

  // Every pending feedback, decoded; checks framing, sizes and the feedback counter.
  std::vector<Decoded> drain() {
    std::vector<Decoded> packets;
    for (int guard = 0; recorder_.hasPending() && guard < 1000; ++guard) {
      std::vector<uint8_t> out = {0xAA};  // appends after what is already there
      const size_t size = recorder_.appendFeedback(out, 0x01020304, 0xDEADBEEF);
      EXPECT_EQ(size, out.size() - 1);
      EXPECT_EQ(size % 4, 0u);
      EXPECT_LE(size, 1200u);
      out.erase(out.begin());
      auto decoded = decode(out);
      if (!decoded) break;
      EXPECT_EQ(decoded->header.sender_ssrc, 0x01020304u);
      EXPECT_EQ(decoded->header.media_ssrc, 0xDEADBEEFu);
      EXPECT_EQ(decoded->header.feedback_count, feedback_count_++);
      EXPECT_LE(decoded->header.packet_status_count, TransportCcRecorder::kMaxStatusesPerPacket);
      packets.push_back(std::move(*decoded));
    }
    EXPECT_FALSE(recorder_.hasPending());
    std::vector<uint8_t> out;
    EXPECT_EQ(recorder_.appendFeedback(out, 1, 2), 0u);
    EXPECT_TRUE(out.empty());
    return packets;
  }

  // Statuses of all drained packets by 16-bit sequence; each sequence reported at most once.
  static std::map<uint16_t, std::optional<int64_t>> statuses(const std::vector<Decoded>& packets) {
    std::map<uint16_t, std::optional<int64_t>> all;
    for (const auto& packet : packets) {
      for (size_t i = 0; i < packet.ticks.size(); ++i) {
        const auto sequence = static_cast<uint16_t>(packet.header.base_sequence + i);
        EXPECT_TRUE(all.emplace(sequence, packet.ticks[i]).second) << "sequence " << sequence << " reported twice";
      }
    }
    return all;
  }

  TransportCcRecorder recorder_;
  Clock::time_point start_ = Clock::time_point{} + std::chrono::hours(1);
  uint8_t feedback_count_ = 0;
};

TEST(TransportCcDecoderTest, DecodesStatusVectorChunks) {
  // Hand-assembled from the draft's chunk layouts: a 1-bit and a 2-bit status vector.
  std::vector<uint8_t> bytes = {
      0xAF, 0xCD, 0x00, 0x0A,  // V=2 P=1 FMT=15, PT=205, length 10 words
      0x00, 0x00, 0x00, 0x01,  // sender SSRC
      0xDE, 0xAD, 0xBE, 0xEF,  // media SSRC
      0xFF, 0xFE,              // base sequence 65534
      0x00, 0x15,              // 21 statuses
      0x00, 0x00, 0x02,        // reference time 2 (128 ms = 512 ticks)
      0x07,                    // feedback count 7
      0xAF, 0xFF,              // T=1 S=0: 1 0 1 1 1 1 1 1 1 1 1 1 1 1
      0xD8, 0x54,              // T=1 S=1: 1 2 0 1 1 1 0
  };
  for (int i = 0; i < 14; ++i) bytes.push_back(0x01);  // 13 + 1 small deltas of 1 tick
  bytes.insert(bytes.end(), {0xFF, 0xFC});             // large delta -4
  bytes.insert(bytes.end(), {0x02, 0x02, 0x02});       // 3 small deltas of 2 ticks
  bytes.push_back(0x01);                               // 1 byte of padding: 43 -> 44
  ASSERT_EQ(bytes.size(), 44u);

  const auto decoded = decode(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->header.base_sequence, 65534);
  EXPECT_EQ(decoded->header.feedback_count, 7);
  const std::vector<uint8_t> symbols = {1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 0, 1, 1, 1, 0};
  EXPECT_EQ(decoded->symbols, symbols);
  std::vector<std::optional<int64_t>> ticks = {513, std::nullopt};
  for (int64_t t = 514; t <= 526; ++t) ticks.emplace_back(t);
  ticks.insert(ticks.end(), {int64_t{522}, std::nullopt, int64_t{524}, int64_t{526}, int64_t{528}, std::nullopt});
  EXPECT_EQ(decoded->ticks, ticks);
}

TEST_F(TransportCcTest, WritesTheDraftFormatByteForByte) {
  arrive(100, 0);       // reference time 0, delta 0
  arrive(101, 1000);    // +4 ticks
  arrive(103, 71'000);  // 102 lost; +280 ticks: over 63.75 ms, a 2-byte delta
  std::vector<uint8_t> out;
  ASSERT_EQ(recorder_.appendFeedback(out, 1, 0xDEADBEEF), 32u);
  const std::vector<uint8_t> expected = {
      0xAF, 0xCD, 0x00, 0x07,  // V=2 P=1 FMT=15, PT=205 RTPFB, length 7 words
      0x00, 0x00, 0x00, 0x01,  // sender SSRC
      0xDE, 0xAD, 0xBE, 0xEF,  // media SSRC
      0x00, 0x64, 0x00, 0x04,  // base sequence 100, 4 statuses
      0x00, 0x00, 0x00, 0x00,  // reference time 0, feedback count 0
      0x20, 0x02,              // run-length: 2 x received, small delta
      0x00, 0x01,              // run-length: 1 x not received
      0x40, 0x01,              // run-length: 1 x received, large delta
      0x00, 0x04,              // small deltas 0 and 4
      0x01, 0x18,              // large delta 280
      0x00, 0x02,              // padding, 2 bytes
  };
  EXPECT_EQ(out, expected);
  EXPECT_FALSE(recorder_.hasPending());

  // The counter moves with every packet written, and the reference time with the arrivals.
  arrive(104, 200'000);  // 800 ticks: reference 3 (768), delta 32
  out.clear();
  ASSERT_EQ(recorder_.appendFeedback(out, 1, 0xDEADBEEF), 24u);
  const std::vector<uint8_t> second = {
      0xAF, 0xCD, 0x00, 0x05,  // padded, length 5 words
      0x00, 0x00, 0x00, 0x01,  //
      0xDE, 0xAD, 0xBE, 0xEF,  //
      0x00, 0x68, 0x00, 0x01,  // base sequence 104, 1 status
      0x00, 0x00, 0x03, 0x01,  // reference time 3, feedback count 1
      0x20, 0x01,              // run-length: 1 x received, small delta
      0x20, 0x01,              // delta 32, then 1 byte of padding
  };
  EXPECT_EQ(out, second);
}

TEST_F(TransportCcTest, ReportsInOrderArrivalsWithoutDrift) {
  // 333 us apart: never a whole number of ticks, yet every decoded time is the rounded truth.
  for (int i = 0; i < 200; ++i) arrive(static_cast<uint16_t>(1000 + i), 333 * i);
  const auto packets = drain();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].header.base_sequence, 1000);
  EXPECT_EQ(packets[0].header.packet_status_count, 200);
  EXPECT_EQ(packets[0].header.reference_time, 0);
  EXPECT_EQ(packets[0].size, 224u);  // 20 + one run-length chunk + 200 1-byte deltas, padded
  for (size_t i = 0; i < 200; ++i) {
    EXPECT_EQ(packets[0].symbols[i], 1);
    EXPECT_EQ(packets[0].ticks[i], expectedTicks(333 * static_cast<int64_t>(i))) << i;
  }
}

TEST_F(TransportCcTest, ReportsLosses) {
  std::map<uint16_t, int64_t> sent;
  for (int i = 0; i < 100; ++i) {
    if (i % 7 == 3 || (i >= 50 && i < 60)) continue;  // scattered losses and a burst
    sent[static_cast<uint16_t>(i)] = 5000 * i;
    arrive(static_cast<uint16_t>(i), 5000 * i);
  }
  const auto all = statuses(drain());
  ASSERT_EQ(all.size(), 100u);  // the first (0) to the last received (99)
  for (const auto& [sequence, ticks] : all) {
    const auto it = sent.find(sequence);
    if (it == sent.end()) {
      EXPECT_FALSE(ticks) << sequence;
    } else {
      EXPECT_EQ(ticks, expectedTicks(it->second)) << sequence;
    }
  }
}

TEST_F(TransportCcTest, ReportsReorderedPacketsAndNegativeDeltas) {
  arrive(10, 0);
  arrive(12, 10'000);
  arrive(11, 12'000);  // after 12, but reported before it: 12's delta is -8 ticks
  arrive(14, 13'000);
  arrive(13, 14'000);
  const auto packets = drain();
  ASSERT_EQ(packets.size(), 1u);
  const std::vector<uint8_t> symbols = {1, 1, 2, 1, 2};
  EXPECT_EQ(packets[0].symbols, symbols);
  const std::vector<std::optional<int64_t>> ticks = {int64_t{0}, int64_t{48}, int64_t{40}, int64_t{56}, int64_t{52}};
  EXPECT_EQ(packets[0].ticks, ticks);
}

TEST_F(TransportCcTest, UnwrapsTheSixteenBitSequence) {
  for (int i = 0; i < 20; ++i) {
    if (i == 8) continue;  // 65528 + 8 = 0 is lost
    arrive(static_cast<uint16_t>(65528 + i), 1000 * i);
  }
  const auto packets = drain();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].header.base_sequence, 65528);
  EXPECT_EQ(packets[0].header.packet_status_count, 20);
  for (size_t i = 0; i < 20; ++i) {
    if (i == 8) {
      EXPECT_FALSE(packets[0].ticks[i]);
    } else {
      EXPECT_EQ(packets[0].ticks[i], expectedTicks(1000 * static_cast<int64_t>(i))) << i;
    }
  }
  // And across feedback packets: the next one continues after the wrap.
  arrive(12, 30'000);
  arrive(0, 31'000);  // older than what was reported: ignored
  const auto next = drain();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].header.base_sequence, 12);
  EXPECT_EQ(next[0].header.packet_status_count, 1);
}

TEST_F(TransportCcTest, UsesTwoByteDeltasForGapsOverAByte) {
  arrive(1, 0);
  arrive(2, 63'750);   // 255 ticks: still one byte
  arrive(3, 127'750);  // 256 ticks: two bytes
  const auto packets = drain();
  ASSERT_EQ(packets.size(), 1u);
  const std::vector<uint8_t> symbols = {1, 1, 2};
  EXPECT_EQ(packets[0].symbols, symbols);
  const std::vector<std::optional<int64_t>> ticks = {int64_t{0}, int64_t{255}, int64_t{511}};
  EXPECT_EQ(packets[0].ticks, ticks);
}

TEST_F(TransportCcTest, SplitsMoreStatusesThanOnePacketHolds) {
  const int total = 1234;
  for (int i = 0; i < total; ++i) arrive(static_cast<uint16_t>(65000 + i), 1000 * i);  // wraps too
  const auto packets = drain();
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_EQ(packets[0].header.packet_status_count, TransportCcRecorder::kMaxStatusesPerPacket);
  const auto all = statuses(packets);
  ASSERT_EQ(all.size(), static_cast<size_t>(total));
  for (int i = 0; i < total; ++i) {
    const auto it = all.find(static_cast<uint16_t>(65000 + i));
    ASSERT_NE(it, all.end());
    EXPECT_EQ(it->second, expectedTicks(1000 * int64_t{i})) << i;
  }
}

TEST_F(TransportCcTest, SplitsWhereADeltaOverflowsSixteenBits) {
  arrive(1, 0);
  arrive(2, 1000);
  arrive(4, 10'000'000);  // 3 lost; 10 s later: 39996 ticks do not fit an int16
  arrive(5, 10'001'000);
  const auto packets = drain();
  ASSERT_EQ(packets.size(), 2u);
  // The first stops at the last packet it can time; the loss goes with the next one.
  EXPECT_EQ(packets[0].header.base_sequence, 1);
  EXPECT_EQ(packets[0].header.packet_status_count, 2);
  EXPECT_EQ(packets[1].header.base_sequence, 3);
  EXPECT_EQ(packets[1].header.packet_status_count, 3);
  const auto all = statuses(packets);
  EXPECT_EQ(all.at(1), 0);
  EXPECT_EQ(all.at(2), 4);
  EXPECT_FALSE(all.at(3));
  EXPECT_EQ(all.at(4), 40'000);
  EXPECT_EQ(all.at(5), 40'004);
}

TEST_F(TransportCcTest, IgnoresDuplicatesAndReportedPackets) {
  arrive(1, 0);
  arrive(2, 1000);
  arrive(2, 5000);  // duplicate: the first arrival stands
  arrive(3, 2000);
  auto all = statuses(drain());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.at(2), 4);
  arrive(3, 9000);  // already reported
  arrive(2, 9000);
  EXPECT_FALSE(recorder_.hasPending());
}

TEST_F(TransportCcTest, AcceptsReorderingBeforeTheFirstReport) {
  arrive(10, 0);
  arrive(8, 1000);  // before the first packet but nothing reported yet: still counted
  const auto first = drain();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].header.base_sequence, 8);
  const std::vector<std::optional<int64_t>> ticks = {int64_t{4}, std::nullopt, int64_t{0}};
  EXPECT_EQ(first[0].ticks, ticks);
}

TEST_F(TransportCcTest, RestartsAfterAJumpOverTheWindow) {
  for (int i = 0; i < 10; ++i) arrive(static_cast<uint16_t>(i), 1000 * i);
  const auto jump = static_cast<uint16_t>(9 + TransportCcRecorder::kWindow + 1);
  arrive(jump, 20'000);
  arrive(jump + 1, 21'000);
  arrive(5, 22'000);  // behind the restarted window: ignored
  const auto packets = drain();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].header.base_sequence, jump);
  EXPECT_EQ(packets[0].header.packet_status_count, 2);
  const std::vector<std::optional<int64_t>> ticks = {int64_t{80}, int64_t{84}};
  EXPECT_EQ(packets[0].ticks, ticks);
}

TEST_F(TransportCcTest, ForgetsPendingStatusesThatFallOutOfTheWindow) {
  for (int i = 0; i < 10; ++i) arrive(static_cast<uint16_t>(i), 1000 * i);
  const auto far = static_cast<uint16_t>(9 + TransportCcRecorder::kWindow - 5);  // within a window's jump
  arrive(far, 20'000);
  const auto all = statuses(drain());
  // Sequences 0..4 were overtaken by the window; 5..9 are still there, the rest lost.
  EXPECT_EQ(all.size(), TransportCcRecorder::kWindow);
  EXPECT_FALSE(all.contains(4));
  EXPECT_EQ(all.at(5), 20);
  EXPECT_EQ(all.at(9), 36);
  EXPECT_FALSE(all.at(10));
  EXPECT_EQ(all.at(far), 80);
}

TEST_F(TransportCcTest, BoundsThePacketSizeForAlternatingStatuses) {
  // Worst case for run-length chunks: every other packet lost, each received one a large delta.
  for (int i = 0; i < 2000; i += 2) arrive(static_cast<uint16_t>(i), 70'000 * (i / 2));
  const auto packets = drain();  // checks every packet <= 1200 bytes
  const auto all = statuses(packets);
  ASSERT_EQ(all.size(), 1999u);
  for (int i = 0; i < 1999; ++i) {
    if (i % 2 == 1) {
      EXPECT_FALSE(all.at(static_cast<uint16_t>(i)));
    } else {
      EXPECT_EQ(all.at(static_cast<uint16_t>(i)), 280 * (i / 2));
    }
  }
}

TEST_F(TransportCcTest, ReportsLossRunsLongerThanOnePacket) {
  arrive(0, 0);
  arrive(1200, 10'000);  // 1199 lost in between
  const auto packets = drain();
  const auto all = statuses(packets);
  ASSERT_EQ(all.size(), 1201u);
  EXPECT_EQ(all.at(0), 0);
  EXPECT_FALSE(all.at(600));
  EXPECT_EQ(all.at(1200), 40);
}

}  // namespace
}  // namespace liveroom::media::rtcp

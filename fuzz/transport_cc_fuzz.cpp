// Fuzz target: transport-wide congestion control (RTCP RTPFB FMT 15), media/rtcp/transport_cc.
// Two kinds of input:
//  - a transport-cc feedback packet (as browsers and GStreamer send): decoded with the
//    independent decoder of twcc_reference.hpp, its arrivals replayed into a
//    TransportCcRecorder, and the recorder's feedback decoded again: parse -> build -> parse
//    must report the same packets as received, at the same times relative to the first one
//    (250 us ticks, exactly), and nothing it did not receive;
//  - anything else: a script of packet arrivals (sequence steps, time steps) for the recorder.
// Either way every feedback the recorder writes must be a valid RTCP packet of at most 1 KiB
// that TransportCcHeader::parse() reads and the reference decoder decodes completely (chunks
// for exactly packet_status_count statuses, a delta per received one, nothing else but padding);
// feedback packets continue each other (base sequence + count = the next base; later only when
// packets were pushed out of the window), feedback counts
// increase by one, and every status says "received" only for a packet that arrived, with its
// arrival time rounded to 250 us.
#include <algorithm>
#include <chrono>
#include <map>
#include <vector>

#include "fuzz_check.hpp"
#include "media/rtcp/feedback.hpp"
#include "media/rtcp/rtcp_packet.hpp"
#include "media/rtcp/transport_cc.hpp"
#include "twcc_reference.hpp"

namespace {

using liveroom::media::rtcp::RtcpCompoundReader;
using liveroom::media::rtcp::TransportCcHeader;
using liveroom::media::rtcp::TransportCcRecorder;
namespace twcc = liveroom::fuzz::twcc;
using Clock = TransportCcRecorder::Clock;

constexpr int64_t kTickUs = 250;

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }
int64_t ticksOf(int64_t us) { return floorDiv(us + kTickUs / 2, kTickUs); }  // rounded to the nearest tick

// Drains the recorder's feedback and checks every packet; returns received sequence ->
// absolute arrival in ticks (reference time + deltas), as the feedback tells it.
std::map<uint16_t, int64_t> drain(TransportCcRecorder& recorder, bool strict, std::optional<uint16_t>& next_base,
                                  std::optional<uint8_t>& next_count) {
  std::map<uint16_t, int64_t> reported;
  for (int round = 0; recorder.hasPending(); ++round) {
    FUZZ_CHECK(round < 70000, "the recorder's feedback comes to an end");
    std::vector<uint8_t> out;
    const size_t size = recorder.appendFeedback(out, 0x11111111, 0x22222222);
    FUZZ_CHECK(size > 0 && size == out.size(), "pending feedback is written");
    FUZZ_CHECK(size <= 1024 && size % 4 == 0, "feedback at most 1 KiB, whole words");
    RtcpCompoundReader reader(out.data(), out.size());
    auto view = reader.next();
    FUZZ_CHECK(view && view->size == size && !reader.next() && !reader.malformed(), "one valid RTCP packet");
    auto header = TransportCcHeader::parse(*view);
    FUZZ_CHECK(header.has_value(), "TransportCcHeader parses the recorder's feedback");
    auto f = twcc::decode(view->body(), view->bodySize());
    FUZZ_CHECK(f.has_value(), "the reference decoder decodes the recorder's feedback");
    FUZZ_CHECK(f->used == view->bodySize(), "nothing but chunks, deltas and padding");
    FUZZ_CHECK(header->base_sequence == f->base_sequence && header->packet_status_count == f->status_count &&
                   header->reference_time == f->reference_time && header->feedback_count == f->feedback_count,
               "header parser and reference decoder agree");
    FUZZ_CHECK(f->status_count > 0, "a feedback reports something");
    if (next_base && strict) FUZZ_CHECK(f->base_sequence == *next_base, "feedback packets continue each other");
    // Packets pushed out of the window are skipped, never reported again: a base only moves on.
    // (A script moves at most 127 per arrival and feedback comes every 97 arrivals, far below 2^15.)
    if (next_base) FUZZ_CHECK(static_cast<uint16_t>(f->base_sequence - *next_base) < 0x8000, "a base never goes back");
    if (next_count) FUZZ_CHECK(f->feedback_count == *next_count, "feedback counts increase by one");
    next_base = static_cast<uint16_t>(f->base_sequence + f->status_count);
    next_count = static_cast<uint8_t>(f->feedback_count + 1);
    int64_t now = int64_t{f->reference_time} * 256;
    size_t d = 0;
    for (size_t i = 0; i < f->symbols.size(); ++i) {
      if (f->symbols[i] == twcc::kNotReceived) continue;
      now += f->deltas[d++];
      const auto seq = static_cast<uint16_t>(f->base_sequence + i);
      FUZZ_CHECK(reported.find(seq) == reported.end(), "a sequence number is reported received once");
      reported[seq] = now;
    }
  }
  return reported;
}

// Replays arrivals (sequence, microseconds) and compares the feedback with them. Strict: the
// arrivals are in sequence order within one window, so each must be reported exactly once, at
// its own time; otherwise (reordering, duplicates, wraps, jumps) a sequence reported received
// must have arrived, at one of the times it arrived.
void replay(const std::vector<std::pair<uint16_t, int64_t>>& arrivals, bool strict) {
  if (arrivals.empty()) return;
  TransportCcRecorder recorder;
  const Clock::time_point epoch{std::chrono::hours(1000)};
  const int64_t first_us = arrivals.front().second;  // the recorder's times count from its first packet
  std::map<uint16_t, std::vector<int64_t>> arrived;  // sequence -> arrival ticks since the first packet
  std::map<uint16_t, int64_t> reported;
  std::optional<uint16_t> next_base;
  std::optional<uint8_t> next_count;
  auto collect = [&] {
    for (const auto& [seq, ticks] : drain(recorder, strict, next_base, next_count)) {
      auto it = arrived.find(seq);
      FUZZ_CHECK(it != arrived.end(), "only packets that arrived are reported received");
      FUZZ_CHECK(std::find(it->second.begin(), it->second.end(), ticks) != it->second.end(),
                 "a reported arrival time is a real one, in 250 us ticks");
      if (strict) FUZZ_CHECK(reported.emplace(seq, ticks).second, "reported once");
    }
  };
  size_t i = 0;
  for (const auto& [seq, us] : arrivals) {
    recorder.onPacket(seq, epoch + std::chrono::microseconds(us));
    arrived[seq].push_back(ticksOf(us - first_us));
    if (++i % 97 == 0) collect();  // feedback now and then, as the server's timer would
  }
  collect();
  if (strict) {
    for (const auto& [seq, times] : arrived) {
      auto it = reported.find(seq);
      FUZZ_CHECK(it != reported.end() && it->second == times.front(),
                 "every packet of an in-order stream is reported, at its arrival time");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RtcpCompoundReader reader(data, size);
  if (auto view = reader.next(); view && TransportCcHeader::parse(*view)) {
    // A feedback packet: replay what it says arrived, in sequence order.
    auto f = twcc::decode(view->body(), view->bodySize());
    if (!f) return 0;
    std::vector<std::pair<uint16_t, int64_t>> arrivals;
    int64_t now = 0;
    size_t d = 0;
    for (size_t i = 0; i < f->symbols.size() && i < TransportCcRecorder::kWindow; ++i) {
      if (f->symbols[i] == twcc::kNotReceived) continue;
      now += f->deltas[d++];
      arrivals.emplace_back(static_cast<uint16_t>(f->base_sequence + i), now * kTickUs);
    }
    // In order and within one window, every arrival must come back exactly.
    replay(arrivals, /*strict=*/true);
    return 0;
  }
  // A script: per arrival, a signed sequence step and a time step (may go backwards).
  liveroom::fuzz::ByteReader in(data, size);
  std::vector<std::pair<uint16_t, int64_t>> arrivals;
  uint16_t seq = in.u16();
  int64_t us = 0;
  while (!in.empty() && arrivals.size() < 20000) {
    const auto step = static_cast<int8_t>(in.u8());
    const auto dt = static_cast<int16_t>(in.u16());
    seq = static_cast<uint16_t>(seq + step);
    us += int64_t{dt} * ((step & 1) ? 37 : 1);
    arrivals.emplace_back(seq, us);
  }
  replay(arrivals, /*strict=*/false);
  return 0;
}

// MediaServer end to end over loopback UDP: WHIP publishers and WHEP viewers made of the media
// primitives (LoopbackPeer: STUN checks, client DtlsTransport, SrtpSession) offer, connect and
// exchange RTP/RTCP with a server running on its own media thread. Covers forwarding with
// per-viewer rewriting, a viewer waiting for its publisher, publisher reconnects, the RTCP policy
// (PLI relay and rate limit, NACK from the retransmission buffer, transport-cc feedback, RR, REMB,
// SR), the API's errors and robustness against junk datagrams. Waits are bounded by generous
// deadlines that only stop a hang; nothing asserts on elapsed time.
#include <utility>  // before Asio (Boost 1.74 + C++20)

#include "media/server/media_server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <boost/asio/ip/udp.hpp>

#include "media/router/publisher_session.hpp"
#include "media/rtcp/feedback.hpp"
#include "media/rtcp/report.hpp"
#include "media/rtcp/rtcp_packet.hpp"
#include "media/rtp/rtp_packet.hpp"
#include "media/rtp/rtx.hpp"
#include "media/sdp/negotiation.hpp"
#include "media/sdp/session_description.hpp"
#include "media/sdp/trickle_fragment.hpp"
#include "unit/media/webrtc/loopback_peer.hpp"

namespace liveroom::media {
namespace {

namespace net = boost::asio;
using udp = net::ip::udp;
using test::Bytes;
using test::LoopbackPeer;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

constexpr std::chrono::seconds kCallTimeout{10};
constexpr uint8_t kPublisherTwccId = 3;
constexpr uint8_t kPublisherMidId = 4;
constexpr uint8_t kPublisherRidId = 10;
constexpr uint8_t kViewerAbsSendTimeId = 3;  // the publisher's transport-cc id, on purpose
constexpr uint8_t kViewerTwccId = 7;

// ---------------------------------------------------------------------------------------------
// Offers and answers

struct VideoCodec {
  int payload_type = 96;
  std::string name = "VP8";
  std::string fmtp;
  std::optional<int> rtx_payload_type;
};

struct OfferSpec {
  sdp::Direction direction = sdp::Direction::kSendOnly;
  std::optional<int> audio_payload_type = 111;  // Opus; nullopt: no audio section
  std::vector<VideoCodec> video = {{96, "VP8", "", 97}};
  std::vector<std::pair<int, std::string_view>> extmaps = {{kPublisherTwccId, sdp::kExtTransportWideCc},
                                                           {kPublisherMidId, sdp::kExtSdesMid}};
  bool fingerprint = true;
  std::vector<std::string> extra_fingerprints;  // more a=fingerprint lines after the real one
  std::vector<std::string> simulcast_rids;      // a=rid send lines + a=simulcast:send, in this order
};

// A browser-like WHIP offer: sendonly Opus + VP8 (RTX), transport-cc, nack/pli/fir/goog-remb.
OfferSpec whipSpec() { return {}; }

// A WHEP offer whose payload types and extension ids differ from the publisher's: VP8 at 120,
// H.264 at 125, Opus at 109; abs-send-time takes the id the publisher uses for transport-cc.
OfferSpec whepSpec() {
  OfferSpec spec;
  spec.direction = sdp::Direction::kRecvOnly;
  spec.audio_payload_type = 109;
  spec.video = {{120, "VP8", "", std::nullopt},
                {125, "H264", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", std::nullopt}};
  spec.extmaps = {{kViewerAbsSendTimeId, sdp::kExtAbsSendTime},
                  {kPublisherMidId, sdp::kExtSdesMid},
                  {kViewerTwccId, sdp::kExtTransportWideCc}};
  return spec;
}

std::string buildOffer(const LoopbackPeer& peer, const OfferSpec& spec) {
  std::string s;
  const auto line = [&s](const std::string& text) { s += text + "\r\n"; };
  std::string bundle = "a=group:BUNDLE";
  if (spec.audio_payload_type) bundle += " 0";
  if (!spec.video.empty()) bundle += " 1";
  line("v=0");
  line("o=- 4611731400430051336 2 IN IP4 127.0.0.1");
  line("s=-");
  line("t=0 0");
  line(bundle);
  line("a=extmap-allow-mixed");
  line("a=msid-semantic: WMS stream");
  const auto common = [&](const std::string& mid) {
    line("c=IN IP4 0.0.0.0");
    line("a=rtcp:9 IN IP4 0.0.0.0");
    line("a=ice-ufrag:" + peer.iceUfrag());
    line("a=ice-pwd:" + peer.icePwd());
    line("a=ice-options:trickle");
    if (spec.fingerprint) line("a=fingerprint:sha-256 " + peer.fingerprint());
    for (const std::string& f : spec.extra_fingerprints) line("a=fingerprint:" + f);
    line("a=setup:actpass");
    line("a=mid:" + mid);
    for (const auto& [id, uri] : spec.extmaps) line("a=extmap:" + std::to_string(id) + " " + std::string(uri));
    line("a=" + std::string(sdp::toString(spec.direction)));
    line("a=rtcp-mux");
    line("a=rtcp-rsize");
  };
  if (spec.audio_payload_type) {
    const std::string pt = std::to_string(*spec.audio_payload_type);
    line("m=audio 9 UDP/TLS/RTP/SAVPF " + pt + " 0");
    common("0");
    if (spec.direction == sdp::Direction::kSendOnly) line("a=msid:stream audio");
    line("a=rtpmap:" + pt + " opus/48000/2");
    line("a=rtcp-fb:" + pt + " transport-cc");
    line("a=fmtp:" + pt + " minptime=10;useinbandfec=1");
    line("a=rtpmap:0 PCMU/8000");
  }
  if (!spec.video.empty()) {
    std::string formats;
    for (const VideoCodec& c : spec.video) {
      formats += " " + std::to_string(c.payload_type);
      if (c.rtx_payload_type) formats += " " + std::to_string(*c.rtx_payload_type);
    }
    line("m=video 9 UDP/TLS/RTP/SAVPF" + formats);
    common("1");
    if (spec.direction == sdp::Direction::kSendOnly) line("a=msid:stream video");
    for (const VideoCodec& c : spec.video) {
      const std::string pt = std::to_string(c.payload_type);
      line("a=rtpmap:" + pt + " " + c.name + "/90000");
      for (const char* fb : {"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}) {
        line("a=rtcp-fb:" + pt + " " + fb);
      }
      if (!c.fmtp.empty()) line("a=fmtp:" + pt + " " + c.fmtp);
      if (c.rtx_payload_type) {
        line("a=rtpmap:" + std::to_string(*c.rtx_payload_type) + " rtx/90000");
        line("a=fmtp:" + std::to_string(*c.rtx_payload_type) + " apt=" + pt);
      }
    }
    if (!spec.simulcast_rids.empty()) {
      line("a=extmap:" + std::to_string(kPublisherRidId) + " " + std::string(sdp::kExtRtpStreamId));
      std::string list;
      for (const std::string& rid : spec.simulcast_rids) {
        line("a=rid:" + rid + " send");
        list += (list.empty() ? "" : ";") + rid;
      }
      line("a=simulcast:send " + list);
    }
  }
  return s;
}

// What a client needs from the server's answer.
struct AnswerInfo {
  struct Track {
    std::string mid;
    int payload_type = 0;  // the first format: the codec the server picked
    uint32_t ssrc = 0;     // WHEP: the server's SSRC for this track
    sdp::Direction direction = sdp::Direction::kInactive;
    uint16_t port = 0;
    std::optional<uint32_t> rtx_ssrc;  // WHEP: the FID group's second SSRC, if any
  };
  SessionAnswer answer;
  std::optional<Track> audio;
  std::optional<Track> video;
  LoopbackPeer::Remote remote;
};

// Throws (gtest reports it) when the answer lacks what every answer must have.
AnswerInfo parseAnswer(const SessionAnswer& answer) {
  AnswerInfo info;
  info.answer = answer;
  const sdp::SessionDescription sdp = sdp::parse(answer.sdp);
  for (const sdp::MediaSection& m : sdp.media) {
    if (m.port == 0) continue;
    AnswerInfo::Track t;
    t.mid = m.mid;
    t.payload_type = m.payload_types.empty() ? -1 : m.payload_types.front();
    t.ssrc = m.ssrcs.empty() ? 0 : m.ssrcs.front().ssrc;
    for (const auto& group : m.ssrc_groups) {
      if (group.semantics == "FID" && group.ssrcs.size() == 2) t.rtx_ssrc = group.ssrcs[1];
    }
    t.direction = m.direction;
    t.port = m.port;
    (m.kind == sdp::MediaKind::kAudio ? info.audio : info.video) = t;
    if (info.remote.ice_ufrag.empty()) {
      if (m.candidates.empty() || m.fingerprints.empty()) throw std::runtime_error("answer section without candidate");
      info.remote.endpoint =
          udp::endpoint(net::ip::make_address(m.candidates.front().address), m.candidates.front().port);
      info.remote.ice_ufrag = m.ice_ufrag;
      info.remote.ice_pwd = m.ice_pwd;
      info.remote.fingerprint = m.fingerprints.front().value;
    }
  }
  if (info.remote.ice_ufrag.empty()) throw std::runtime_error("answer without an accepted section");
  return info;
}

// ---------------------------------------------------------------------------------------------
// RTP and RTCP

// The RTP a publisher sends: VP8 and Opus with the transport-wide sequence number and mid
// extensions (one-byte form), payloads that name the packet so the viewer's copy can be checked.
class MediaSender {
 public:
  MediaSender(uint8_t video_pt, uint8_t audio_pt, uint32_t seed) : video_pt_(video_pt), audio_pt_(audio_pt) {
    std::mt19937 random(seed);
    video_ssrc = random() | 1;
    audio_ssrc = random() | 2;
    video_seq_ = static_cast<uint16_t>(random());
    audio_seq_ = static_cast<uint16_t>(random());
    video_ts_ = random();
    audio_ts_ = random();
    twcc_seq_ = static_cast<uint16_t>(random());
  }

  Bytes video() {
    Bytes p = build(video_pt_, video_seq_++, video_ts_, video_ssrc, '1', 0x10);
    video_ts_ += 3000;
    sent_video.push_back(p);
    return p;
  }
  // A one-packet video frame that is a key frame or not (the VP8 payload header's P bit, which
  // video() leaves to chance).
  Bytes video(bool key) {
    Bytes p = video();
    const size_t header = 24;  // 12 fixed + 12 of extensions; then the VP8 descriptor's one byte
    p[header + 1] = static_cast<uint8_t>(key ? (p[header + 1] & ~1u) : (p[header + 1] | 1u));
    sent_video.back() = p;
    return p;
  }
  // One video frame in `n` packets: one timestamp, the marker on the last only.
  std::vector<Bytes> videoFrame(int n) {
    std::vector<Bytes> frame;
    for (int i = 0; i < n; ++i) {
      Bytes p = build(video_pt_, video_seq_++, video_ts_, video_ssrc, '1', 0x10);
      if (i + 1 < n) p[1] &= 0x7F;
      sent_video.push_back(p);
      frame.push_back(p);
    }
    video_ts_ += 3000;
    return frame;
  }
  Bytes audio() {
    Bytes p = build(audio_pt_, audio_seq_++, audio_ts_, audio_ssrc, '0', 0xFC);
    audio_ts_ += 960;
    sent_audio.push_back(p);
    return p;
  }
  void setNextVideoSequence(uint16_t seq) { video_seq_ = seq; }
  uint16_t nextTwcc() const { return twcc_seq_; }

  uint32_t video_ssrc = 0;
  uint32_t audio_ssrc = 0;
  std::vector<Bytes> sent_video;
  std::vector<Bytes> sent_audio;

 private:
  Bytes build(uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, char mid, uint8_t first_payload) {
    const uint16_t twcc = twcc_seq_++;
    Bytes p = {0x90,
               static_cast<uint8_t>(0x80 | pt),  // marker: every packet is a whole frame here
               static_cast<uint8_t>(seq >> 8),
               static_cast<uint8_t>(seq),
               static_cast<uint8_t>(ts >> 24),
               static_cast<uint8_t>(ts >> 16),
               static_cast<uint8_t>(ts >> 8),
               static_cast<uint8_t>(ts),
               static_cast<uint8_t>(ssrc >> 24),
               static_cast<uint8_t>(ssrc >> 16),
               static_cast<uint8_t>(ssrc >> 8),
               static_cast<uint8_t>(ssrc),
               0xBE,
               0xDE,
               0x00,
               0x02,  // two words of one-byte extensions
               static_cast<uint8_t>(kPublisherTwccId << 4 | 1),
               static_cast<uint8_t>(twcc >> 8),
               static_cast<uint8_t>(twcc),
               static_cast<uint8_t>(kPublisherMidId << 4),  // one byte: the mid
               static_cast<uint8_t>(mid)};
    while (p.size() % 4 != 0) p.push_back(0);
    p.push_back(first_payload);
    for (int i = 0; i < 60; ++i) p.push_back(static_cast<uint8_t>(seq * 31 + ts * 7 + i));
    return p;
  }

  uint8_t video_pt_;
  uint8_t audio_pt_;
  uint16_t video_seq_ = 0;
  uint16_t audio_seq_ = 0;
  uint32_t video_ts_ = 0;
  uint32_t audio_ts_ = 0;
  uint16_t twcc_seq_ = 0;
};

// A parsed copy of an RTP packet (the view needs a mutable buffer of its own).
struct ParsedRtp {
  Bytes bytes;
  rtp::RtpPacket packet;
  std::span<const uint8_t> payload() const { return {packet.payload().data(), packet.payload().size()}; }
};

ParsedRtp parseRtp(const Bytes& bytes) {
  Bytes copy = bytes;
  auto packet = rtp::RtpPacket::parse(copy.data(), copy.size());
  if (!packet) throw std::runtime_error("not an RTP packet");
  // A moved vector keeps its heap buffer, so the view stays valid inside the struct.
  return ParsedRtp{std::move(copy), *packet};
}

uint32_t ssrcOf(const Bytes& rtp) {
  return rtp.size() < 12 ? 0 : (uint32_t{rtp[8]} << 24 | uint32_t{rtp[9]} << 16 | uint32_t{rtp[10]} << 8 | rtp[11]);
}
uint16_t seqOf(const Bytes& rtp) { return static_cast<uint16_t>(rtp[2] << 8 | rtp[3]); }

// Waits until `peer` received `count` RTP packets with `ssrc` and takes those out (others stay).
std::vector<Bytes> receiveRtp(LoopbackPeer& peer, uint32_t ssrc, size_t count) {
  const auto matching = [&] {
    return static_cast<size_t>(
        std::count_if(peer.rtp.begin(), peer.rtp.end(), [&](const Bytes& p) { return ssrcOf(p) == ssrc; }));
  };
  peer.waitUntil([&] { return matching() >= count; });
  std::vector<Bytes> out;
  for (auto it = peer.rtp.begin(); it != peer.rtp.end() && out.size() < count;) {
    if (ssrcOf(*it) == ssrc) {
      out.push_back(std::move(*it));
      it = peer.rtp.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

// Every RTCP packet a peer got, compounds split, in arrival order.
class RtcpLog {
 public:
  explicit RtcpLog(LoopbackPeer& peer) : peer_(peer) {}

  void collect() {
    for (const Bytes& datagram : peer_.rtcp) {
      rtcp::RtcpCompoundReader reader(datagram.data(), datagram.size());
      while (auto p = reader.next()) packets_.emplace_back(p->data, p->data + p->size);
    }
    peer_.rtcp.clear();
  }
  // Handles what has arrived until `done` holds for the log (or the peer's timeout).
  bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = LoopbackPeer::kTimeout) {
    return peer_.waitUntil(
        [&] {
          collect();
          return done();
        },
        timeout);
  }
  void clear() {
    peer_.poll();
    collect();
    packets_.clear();
  }

  template <typename Visit>
  void forEach(uint8_t packet_type, Visit&& visit) const {
    for (const Bytes& bytes : packets_) {
      rtcp::RtcpCompoundReader reader(bytes.data(), bytes.size());
      auto p = reader.next();
      if (p && p->packet_type == packet_type) visit(*p);
    }
  }
  std::vector<rtcp::Pli> plis() const {
    std::vector<rtcp::Pli> out;
    forEach(rtcp::type::kPayloadFeedback, [&](const rtcp::RtcpPacketView& p) {
      if (p.count != rtcp::fmt::kPli) return;
      if (auto pli = rtcp::Pli::parse(p)) out.push_back(*pli);
    });
    return out;
  }
  std::vector<rtcp::TransportCcHeader> transportCc() const {
    std::vector<rtcp::TransportCcHeader> out;
    forEach(rtcp::type::kTransportFeedback, [&](const rtcp::RtcpPacketView& p) {
      if (p.count != rtcp::fmt::kTransportCc) return;
      if (auto h = rtcp::TransportCcHeader::parse(p)) out.push_back(*h);
    });
    return out;
  }
  // Sequence numbers NACKed for `media_ssrc`, in order, repeats kept.
  std::vector<uint16_t> nacked(uint32_t media_ssrc) const {
    std::vector<uint16_t> out;
    forEach(rtcp::type::kTransportFeedback, [&](const rtcp::RtcpPacketView& p) {
      if (p.count != rtcp::fmt::kNack) return;
      auto nack = rtcp::Nack::parse(p);
      if (!nack || nack->media_ssrc != media_ssrc) return;
      nack->forEachLost([&](uint16_t seq) { out.push_back(seq); });
    });
    return out;
  }
  std::vector<rtcp::ReceiverReport> receiverReports() const {
    std::vector<rtcp::ReceiverReport> out;
    forEach(rtcp::type::kReceiverReport, [&](const rtcp::RtcpPacketView& p) {
      if (auto rr = rtcp::ReceiverReport::parse(p)) out.push_back(*rr);
    });
    return out;
  }
  std::vector<rtcp::SenderReport> senderReports() const {
    std::vector<rtcp::SenderReport> out;
    forEach(rtcp::type::kSenderReport, [&](const rtcp::RtcpPacketView& p) {
      if (auto sr = rtcp::SenderReport::parse(p)) out.push_back(*sr);
    });
    return out;
  }
  // REMB values (bitrate, first SSRC, SSRC count).
  struct RembInfo {
    uint64_t bitrate = 0;
    std::vector<uint32_t> ssrcs;
  };
  std::vector<RembInfo> rembs() const {
    std::vector<RembInfo> out;
    forEach(rtcp::type::kPayloadFeedback, [&](const rtcp::RtcpPacketView& p) {
      if (p.count != rtcp::fmt::kAfb) return;
      auto remb = rtcp::Remb::parse(p);
      if (!remb) return;
      RembInfo info{remb->bitrate_bps, {}};
      for (size_t i = 0; i < remb->ssrc_count; ++i) info.ssrcs.push_back(remb->ssrc(i));
      out.push_back(info);
    });
    return out;
  }

 private:
  LoopbackPeer& peer_;
  std::vector<Bytes> packets_;
};

Bytes pli(uint32_t sender, uint32_t media) {
  std::vector<uint8_t> out;
  rtcp::appendPli(out, sender, media);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The server side

class RecordingListener final : public MediaServer::Listener {
 public:
  void onPublisherLive(const std::string& input_uid, bool live) override {
    push((live ? "live " : "offline ") + input_uid);
  }
  void onViewerCount(const std::string& input_uid, size_t viewers) override {
    push("viewers " + input_uid + " " + std::to_string(viewers));
  }

  std::vector<std::string> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  // Waits until `event` has been recorded `times` times in all.
  bool waitFor(const std::string& event, size_t times = 1) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kCallTimeout, [&] {
      return static_cast<size_t>(std::count(events_.begin(), events_.end(), event)) >= times;
    });
  }

 private:
  void push(std::string event) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
    }
    changed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
};

template <typename T>
T awaitResult(std::future<T>& future) {
  if (future.wait_for(kCallTimeout) != std::future_status::ready)
    throw std::runtime_error("no answer from MediaServer");
  return future.get();
}

using AnswerResult = std::variant<SessionAnswer, Error>;
using PatchOutcome = std::variant<PatchResult, Error>;

// A client with its answer, connected or not.
struct Client {
  std::unique_ptr<LoopbackPeer> peer;
  AnswerInfo info;
  const std::string& sessionId() const { return info.answer.session_id; }
};

// Every case runs with one media worker and with two: with two, sessions alternate between the
// workers (the least-loaded one takes the next), so a publisher and its viewers are mostly on
// different workers and the hand-off between them carries the media.
class MediaServerTest : public ::testing::TestWithParam<size_t> {
 protected:
  // Viewers alternate between the workers (no slack for placing them beside their room's stream),
  // so that with two workers most cases cross the hand-off.
  MediaServerTest() {
    MediaServerOptions options;
    options.viewer_placement_slack = 0;
    startServer(options);
  }

  void startServer(MediaServerOptions options) {
    server_.reset();
    options.bind_address = "127.0.0.1";
    options.port = 0;
    options.workers = GetParam();
    server_ = std::make_unique<MediaServer>(std::move(options), &listener_);
  }

  AnswerResult publish(const std::string& uid, const std::string& offer) {
    auto promise = std::make_shared<std::promise<AnswerResult>>();
    auto future = promise->get_future();
    server_->publish(
        uid, offer, [promise](AnswerResult r) { promise->set_value(std::move(r)); }, client_key_);
    return awaitResult(future);
  }
  AnswerResult play(const std::string& uid, const std::string& offer) {
    auto promise = std::make_shared<std::promise<AnswerResult>>();
    auto future = promise->get_future();
    server_->play(
        uid, offer, [promise](AnswerResult r) { promise->set_value(std::move(r)); }, client_key_);
    return awaitResult(future);
  }
  PatchOutcome patch(const std::string& session, std::optional<std::string> if_match, const std::string& fragment) {
    auto promise = std::make_shared<std::promise<PatchOutcome>>();
    auto future = promise->get_future();
    server_->patch(session, std::move(if_match), fragment,
                   [promise](PatchOutcome r) { promise->set_value(std::move(r)); });
    return awaitResult(future);
  }
  bool remove(const std::string& session) {
    auto promise = std::make_shared<std::promise<bool>>();
    auto future = promise->get_future();
    server_->remove(session, [promise](bool found) { promise->set_value(found); });
    return awaitResult(future);
  }

  static std::unique_ptr<LoopbackPeer> newPeer(const std::string& name) {
    return std::make_unique<LoopbackPeer>(name, name + "-password-0123456789abcdef");
  }

  // Offers (publish or play) and, if `connect`, runs ICE + DTLS. Fatal failures on any error.
  void offer(bool publisher, const std::string& uid, Client& out, const OfferSpec& spec, bool connect = true) {
    static int counter = 0;
    out.peer = newPeer(std::string(publisher ? "pub" : "view") + std::to_string(++counter));
    const std::string text = buildOffer(*out.peer, spec);
    AnswerResult result = publisher ? publish(uid, text) : play(uid, text);
    if (const Error* e = std::get_if<Error>(&result)) {
      FAIL() << e->code() << ": " << e->what();
    }
    ASSERT_NO_THROW(out.info = parseAnswer(std::get<SessionAnswer>(result)));
    out.peer->setRemote(out.info.remote);
    if (connect) {
      ASSERT_TRUE(out.peer->connect()) << out.peer->failure();
    }
  }
  void connectPublisher(const std::string& uid, Client& out, const OfferSpec& spec = whipSpec()) {
    ASSERT_NO_FATAL_FAILURE(offer(true, uid, out, spec));
    ASSERT_TRUE(listener_.waitFor("live " + uid, ++live_events_[uid]));
  }
  void connectViewer(const std::string& uid, Client& out, const OfferSpec& spec = whepSpec()) {
    ASSERT_NO_FATAL_FAILURE(offer(false, uid, out, spec));
  }

  // Sends `video` VP8 and `audio` Opus packets, interleaved.
  static void sendMedia(LoopbackPeer& peer, MediaSender& sender, int video, int audio) {
    for (int i = 0; i < std::max(video, audio); ++i) {
      if (i < video) {
        ASSERT_TRUE(peer.sendRtp(sender.video()));
      }
      if (i < audio) {
        ASSERT_TRUE(peer.sendRtp(sender.audio()));
      }
    }
  }

  // Checks what a viewer got for `sent` (the publisher's packets, in order): the viewer's payload
  // type and SSRC, contiguous sequence numbers from `first_seq` (when given), timestamps that
  // advance like the publisher's, the same payload and marker, extensions remapped.
  static void expectForwarded(const std::vector<Bytes>& received, std::span<const Bytes> sent, int viewer_pt,
                              uint32_t viewer_ssrc, std::optional<uint16_t> first_seq = std::nullopt) {
    ASSERT_EQ(received.size(), sent.size());
    const ParsedRtp first_in = parseRtp(sent.front());
    const ParsedRtp first_out = parseRtp(received.front());
    if (first_seq) {
      EXPECT_EQ(first_out.packet.sequenceNumber(), *first_seq);
    }
    for (size_t i = 0; i < received.size(); ++i) {
      SCOPED_TRACE("packet " + std::to_string(i));
      const ParsedRtp in = parseRtp(sent[i]);
      const ParsedRtp out = parseRtp(received[i]);
      EXPECT_EQ(out.packet.payloadType(), viewer_pt);
      EXPECT_EQ(out.packet.ssrc(), viewer_ssrc);
      EXPECT_EQ(out.packet.sequenceNumber(), static_cast<uint16_t>(first_out.packet.sequenceNumber() + i));
      EXPECT_EQ(out.packet.timestamp() - first_out.packet.timestamp(),
                in.packet.timestamp() - first_in.packet.timestamp());
      EXPECT_EQ(out.packet.marker(), in.packet.marker());
      EXPECT_TRUE(std::ranges::equal(out.payload(), in.payload()));
      // The publisher's transport-wide sequence number under the viewer's id; the publisher's
      // ids (3 is the viewer's abs-send-time) and its mid are gone.
      const auto twcc_in = in.packet.findExtension(kPublisherTwccId);
      const auto twcc_out = out.packet.findExtension(kViewerTwccId);
      ASSERT_TRUE(twcc_in && twcc_out);
      EXPECT_TRUE(std::ranges::equal(*twcc_in, *twcc_out));
      EXPECT_FALSE(out.packet.findExtension(kViewerAbsSendTimeId));
      EXPECT_FALSE(out.packet.findExtension(kPublisherMidId));
    }
  }

  MediaServer::Stats stats() { return server_->stats(); }

  template <typename Lost>
  void loseVideo(Lost& out, size_t count) {
    ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", out.pub));
    ASSERT_NO_FATAL_FAILURE(connectViewer("in1", out.view));
    ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
    out.video_ssrc = out.view.info.video->ssrc;
    out.view.peer->drop_rtp = [&out](const Bytes& srtp) {
      if (ssrcOf(srtp) != out.video_ssrc) return false;
      out.seqs.push_back(seqOf(srtp));
      out.packet_bytes = srtp.size();
      return true;
    };
    MediaSender sender(96, 111, 8);
    ASSERT_NO_FATAL_FAILURE(sendMedia(*out.pub.peer, sender, static_cast<int>(count), 0));
    ASSERT_TRUE(out.view.peer->waitUntil([&] { return out.seqs.size() == count; }));
    out.view.peer->drop_rtp = nullptr;
  }

  // The server on a clock the test steps (MediaServerOptions::clock), frozen in between: a
  // rate-limit window passes when the test says so, however slow the machine.
  void useSteppedClock() {
    MediaServerOptions options;
    options.viewer_placement_slack = 0;
    options.clock = [this] { return Session::Clock::time_point(std::chrono::nanoseconds(stepped_ns_.load())); };
    startServer(options);
  }
  void step(std::chrono::nanoseconds by) { stepped_ns_ += by.count(); }

  RecordingListener listener_;
  std::atomic<int64_t> stepped_ns_{std::chrono::nanoseconds(Session::Clock::now().time_since_epoch()).count()};
  std::unique_ptr<MediaServer> server_;
  std::map<std::string, size_t> live_events_;
  std::string client_key_;  // who the next offers come from
};

INSTANTIATE_TEST_SUITE_P(Workers, MediaServerTest, ::testing::Values(size_t{1}, size_t{2}),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return std::to_string(info.param) + (info.param == 1 ? "Worker" : "Workers");
                         });

// ---------------------------------------------------------------------------------------------
// Forwarding

TEST_P(MediaServerTest, PublishAndPlayForwardRewrittenMedia) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  ASSERT_TRUE(pub.info.video && pub.info.audio);
  EXPECT_EQ(pub.info.video->payload_type, 96);
  EXPECT_EQ(pub.info.video->direction, sdp::Direction::kRecvOnly);
  EXPECT_EQ(pub.info.audio->payload_type, 111);
  EXPECT_EQ(pub.info.answer.session_id.size(), 32u);
  EXPECT_FALSE(pub.info.answer.etag.empty());
  EXPECT_EQ(pub.info.remote.endpoint.port(), server_->port());

  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  EXPECT_THAT(listener_.events(), ElementsAre("live in1", "viewers in1 1"));
  ASSERT_TRUE(view.info.video && view.info.audio);
  EXPECT_EQ(view.info.video->payload_type, 120);
  EXPECT_EQ(view.info.video->direction, sdp::Direction::kSendOnly);
  EXPECT_EQ(view.info.audio->payload_type, 109);
  EXPECT_NE(view.info.video->ssrc, 0u);
  EXPECT_NE(view.info.audio->ssrc, 0u);
  EXPECT_NE(view.info.video->ssrc, view.info.audio->ssrc);
  EXPECT_NE(view.sessionId(), pub.sessionId());

  MediaSender sender(96, 111, 1);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 20, 10));
  const auto video = receiveRtp(*view.peer, view.info.video->ssrc, 20);
  const auto audio = receiveRtp(*view.peer, view.info.audio->ssrc, 10);
  ASSERT_NO_FATAL_FAILURE(expectForwarded(video, sender.sent_video, 120, view.info.video->ssrc));
  ASSERT_NO_FATAL_FAILURE(expectForwarded(audio, sender.sent_audio, 109, view.info.audio->ssrc));
  EXPECT_EQ(view.peer->undecryptable, 0u);

  const MediaServer::Stats s = stats();
  EXPECT_EQ(s.sessions, 2u);
  EXPECT_EQ(s.inputs, 1u);
}

TEST_P(MediaServerTest, ViewersOfOneInputEachGetTheirOwnRewriting) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client a;
  Client b;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", a));
  OfferSpec other = whepSpec();
  other.audio_payload_type = 100;
  other.video = {{98, "VP8", "", std::nullopt}};
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", b, other));
  ASSERT_TRUE(listener_.waitFor("viewers in1 2"));
  EXPECT_EQ(b.info.video->payload_type, 98);
  EXPECT_NE(a.info.video->ssrc, b.info.video->ssrc);

  MediaSender sender(96, 111, 2);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 10, 10));
  ASSERT_NO_FATAL_FAILURE(
      expectForwarded(receiveRtp(*a.peer, a.info.video->ssrc, 10), sender.sent_video, 120, a.info.video->ssrc));
  ASSERT_NO_FATAL_FAILURE(
      expectForwarded(receiveRtp(*b.peer, b.info.video->ssrc, 10), sender.sent_video, 98, b.info.video->ssrc));
  ASSERT_NO_FATAL_FAILURE(
      expectForwarded(receiveRtp(*b.peer, b.info.audio->ssrc, 10), sender.sent_audio, 100, b.info.audio->ssrc));
}

TEST_P(MediaServerTest, ARoomsViewersSpreadOverTheWorkersAndEachPacketIsHandedOnceAWorker) {
  if (GetParam() < 2) GTEST_SKIP() << "needs two workers";
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  std::vector<Client> viewers(4);
  for (Client& v : viewers) ASSERT_NO_FATAL_FAILURE(connectViewer("in1", v));
  ASSERT_TRUE(listener_.waitFor("viewers in1 4"));  // the room's count, every worker together

  MediaSender sender(96, 111, 3);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 20, 10));
  for (Client& v : viewers) {
    ASSERT_NO_FATAL_FAILURE(
        expectForwarded(receiveRtp(*v.peer, v.info.video->ssrc, 20), sender.sent_video, 120, v.info.video->ssrc));
    ASSERT_NO_FATAL_FAILURE(
        expectForwarded(receiveRtp(*v.peer, v.info.audio->ssrc, 10), sender.sent_audio, 109, v.info.audio->ssrc));
  }
  const MediaServer::Stats s = stats();
  ASSERT_EQ(s.workers.size(), 2u);
  EXPECT_EQ(s.sessions, 5u);
  EXPECT_EQ(s.inputs, 1u);
  // The publisher went to worker 0, the viewers alternate: 2 there, 2 on worker 1. Every packet
  // crossed once (not once per viewer over there).
  EXPECT_EQ(s.workers[0].publishers, 1u);
  EXPECT_EQ(s.workers[0].viewers, 2u);
  EXPECT_EQ(s.workers[1].viewers, 2u);
  EXPECT_EQ(s.workers[0].handoff_sent, 30u);
  EXPECT_EQ(s.workers[1].handoff_received, 30u);
  EXPECT_EQ(s.workers[0].handoff_dropped, 0u);
  EXPECT_NE(viewers[0].info.remote.endpoint.port(), viewers[1].info.remote.endpoint.port());  // a port per worker

  // The viewers over there leave: the publisher's worker stops handing packets over.
  for (Client* v : {&viewers[0], &viewers[2]}) ASSERT_TRUE(remove(v->sessionId()));
  ASSERT_TRUE(listener_.waitFor("viewers in1 2"));
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 5, 0));
  ASSERT_NO_FATAL_FAILURE(expectForwarded(receiveRtp(*viewers[1].peer, viewers[1].info.video->ssrc, 5),
                                          std::span<const Bytes>(sender.sent_video).subspan(20), 120,
                                          viewers[1].info.video->ssrc));
  EXPECT_EQ(stats().workers[0].handoff_sent, 30u);
}

// Issue 12: a video frame is held until its last packet (the marker), then sent viewer by viewer,
// each viewer's packets of the frame in one UDP GSO message; audio is not held; a frame whose last
// packet never comes still goes out (the worker's tick).
TEST_P(MediaServerTest, AVideoFrameGoesToEachViewerAfterItsLastPacketInOneGsoMessage) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  std::vector<Client> viewers(2);
  for (Client& v : viewers) ASSERT_NO_FATAL_FAILURE(connectViewer("in1", v));
  ASSERT_TRUE(listener_.waitFor("viewers in1 2"));
  const uint64_t gso_before = stats().transport.udp_gso_messages;

  MediaSender sender(96, 111, 4);
  const std::vector<Bytes> frame = sender.videoFrame(4);
  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(pub.peer->sendRtp(frame[i]));
  ASSERT_TRUE(pub.peer->sendRtp(sender.audio()));  // sent after the frame's first three
  ASSERT_TRUE(pub.peer->sendRtp(frame[3]));
  for (Client& v : viewers) {
    v.peer->waitUntil([&] { return v.peer->rtp.size() >= 5; });
    ASSERT_EQ(v.peer->rtp.size(), 5u);
    EXPECT_EQ(ssrcOf(v.peer->rtp.front()), v.info.audio->ssrc) << "the audio came first: the video frame was held";
    ASSERT_NO_FATAL_FAILURE(
        expectForwarded(receiveRtp(*v.peer, v.info.video->ssrc, 4), sender.sent_video, 120, v.info.video->ssrc));
    ASSERT_NO_FATAL_FAILURE(
        expectForwarded(receiveRtp(*v.peer, v.info.audio->ssrc, 1), sender.sent_audio, 109, v.info.audio->ssrc));
  }
  EXPECT_GE(stats().transport.udp_gso_messages - gso_before, 2u) << "a message per viewer for the frame";

  // The next frame loses its last packet: what came is sent anyway, without waiting for more.
  const std::vector<Bytes> cut = sender.videoFrame(3);
  ASSERT_TRUE(pub.peer->sendRtp(cut[0]));
  ASSERT_TRUE(pub.peer->sendRtp(cut[1]));
  for (Client& v : viewers) {
    const auto got = receiveRtp(*v.peer, v.info.video->ssrc, 2);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(seqOf(got[1]), static_cast<uint16_t>(seqOf(got[0]) + 1));
    EXPECT_EQ(ssrcOf(got[0]), v.info.video->ssrc);
  }
}

// Issue 12: a viewer that connects less than half a second after a key frame gets that key frame
// and what followed at once, with its own sequence numbers from the key frame on, and then the
// live packets after them.
TEST_P(MediaServerTest, AViewerThatJoinsJustAfterAKeyFrameGetsItAtOnce) {
  MediaServerOptions options;
  options.recent_key_frame_age = std::chrono::seconds(30);  // "just after" however slow the build (ASan)
  startServer(options);
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client first;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", first));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  MediaSender sender(96, 111, 5);
  ASSERT_TRUE(pub.peer->sendRtp(sender.video(false)));  // before the key frame: not replayed
  ASSERT_TRUE(pub.peer->sendRtp(sender.video(true)));
  ASSERT_TRUE(pub.peer->sendRtp(sender.video(false)));
  ASSERT_TRUE(pub.peer->sendRtp(sender.video(false)));
  ASSERT_EQ(receiveRtp(*first.peer, first.info.video->ssrc, 4).size(), 4u);

  Client late;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", late));
  const auto replayed = receiveRtp(*late.peer, late.info.video->ssrc, 3);
  ASSERT_NO_FATAL_FAILURE(
      expectForwarded(replayed, std::span<const Bytes>(sender.sent_video).subspan(1), 120, late.info.video->ssrc));
  ASSERT_TRUE(pub.peer->sendRtp(sender.video(false)));
  const auto live = receiveRtp(*late.peer, late.info.video->ssrc, 1);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(seqOf(live[0]), static_cast<uint16_t>(seqOf(replayed.back()) + 1)) << "the live stream follows on";
  EXPECT_TRUE(late.peer->rtp.empty() || ssrcOf(late.peer->rtp.front()) != late.info.video->ssrc);
}

// Issue 12: a viewer is placed beside its room's stream (where the latest key frame can be replayed
// to it) while that worker is at most `viewer_placement_slack` sessions busier than the least
// loaded; past that, viewers spread.
TEST_P(MediaServerTest, ViewersGoBesideTheirRoomsStreamWithinTheSlack) {
  if (GetParam() < 2) GTEST_SKIP() << "needs two workers";
  MediaServerOptions options;  // the default slack: 2
  startServer(options);
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));  // worker 0
  std::vector<Client> viewers(4);
  for (Client& v : viewers) ASSERT_NO_FATAL_FAILURE(connectViewer("in1", v));
  ASSERT_TRUE(listener_.waitFor("viewers in1 4"));
  const auto port = [](const Client& c) { return c.info.remote.endpoint.port(); };
  // Worker 0 (the publisher's) takes viewers until it is 3 sessions to worker 1's 0; then worker 1,
  // which carries the room from then on, takes the next as the less loaded of the two.
  EXPECT_EQ(port(viewers[0]), port(pub));
  EXPECT_EQ(port(viewers[1]), port(pub));
  EXPECT_NE(port(viewers[2]), port(pub));
  EXPECT_EQ(port(viewers[3]), port(viewers[2]));
  const MediaServer::Stats s = stats();
  EXPECT_EQ(s.workers[0].viewers, 2u);
  EXPECT_EQ(s.workers[1].viewers, 2u);
}

TEST_P(MediaServerTest, ViewerWaitingBeforePublishGetsMediaOnceThePublisherConnects) {
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  ASSERT_TRUE(view.info.video && view.info.audio);
  EXPECT_EQ(view.info.video->payload_type, 120);  // every codec it offered, its first first
  EXPECT_EQ(stats().sessions, 1u);

  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  EXPECT_THAT(listener_.events(), ElementsAre("viewers in1 1", "live in1"));

  MediaSender sender(96, 111, 3);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 10, 5));
  ASSERT_NO_FATAL_FAILURE(expectForwarded(receiveRtp(*view.peer, view.info.video->ssrc, 10), sender.sent_video, 120,
                                          view.info.video->ssrc));
  ASSERT_NO_FATAL_FAILURE(
      expectForwarded(receiveRtp(*view.peer, view.info.audio->ssrc, 5), sender.sent_audio, 109, view.info.audio->ssrc));
}

TEST_P(MediaServerTest, WaitingViewerGetsAnH264PublisherOnItsH264PayloadType) {
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  OfferSpec h264 = whipSpec();
  h264.video = {{102, "H264", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", 103}};
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub, h264));
  EXPECT_EQ(pub.info.video->payload_type, 102);

  MediaSender sender(102, 111, 4);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 5, 0));
  ASSERT_NO_FATAL_FAILURE(
      expectForwarded(receiveRtp(*view.peer, view.info.video->ssrc, 5), sender.sent_video, 125, view.info.video->ssrc));
}

TEST_P(MediaServerTest, AudioOnlyViewerGetsOnlyAudio) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  OfferSpec audio_only = whepSpec();
  audio_only.video.clear();
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view, audio_only));
  ASSERT_TRUE(view.info.audio);
  EXPECT_FALSE(view.info.video);
  MediaSender sender(96, 111, 14);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 5, 5));
  ASSERT_NO_FATAL_FAILURE(
      expectForwarded(receiveRtp(*view.peer, view.info.audio->ssrc, 5), sender.sent_audio, 109, view.info.audio->ssrc));
  const auto barrier = view.peer->check(view.info.remote.ice_pwd, false);
  ASSERT_TRUE(barrier);
  view.peer->poll();
  EXPECT_TRUE(view.peer->rtp.empty()) << view.peer->rtp.size() << " unexpected packets";
}

TEST_P(MediaServerTest, PublisherReconnectKeepsViewerSsrcAndSequenceContinuity) {
  Client first;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", first));
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  MediaSender before(96, 111, 5);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*first.peer, before, 6, 4));
  const auto video_before = receiveRtp(*view.peer, view.info.video->ssrc, 6);
  const auto audio_before = receiveRtp(*view.peer, view.info.audio->ssrc, 4);
  ASSERT_EQ(video_before.size(), 6u);
  ASSERT_EQ(audio_before.size(), 4u);

  // DELETE, then a new publisher with other payload types, SSRCs and random bases; its video
  // sequence numbers wrap around.
  ASSERT_TRUE(remove(first.sessionId()));
  ASSERT_TRUE(listener_.waitFor("offline in1"));
  EXPECT_TRUE(first.peer->waitUntil([&] { return first.peer->dtlsClosed(); }));
  OfferSpec again = whipSpec();
  again.audio_payload_type = 110;
  again.video = {{100, "VP8", "", 101}};
  Client second;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", second, again));
  MediaSender after(100, 110, 6);
  after.setNextVideoSequence(65533);
  ASSERT_NE(after.video_ssrc, before.video_ssrc);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*second.peer, after, 8, 4));

  const auto video_after = receiveRtp(*view.peer, view.info.video->ssrc, 8);
  const auto audio_after = receiveRtp(*view.peer, view.info.audio->ssrc, 4);
  const uint16_t next_video = static_cast<uint16_t>(seqOf(video_before.back()) + 1);
  const uint16_t next_audio = static_cast<uint16_t>(seqOf(audio_before.back()) + 1);
  ASSERT_NO_FATAL_FAILURE(expectForwarded(video_after, after.sent_video, 120, view.info.video->ssrc, next_video));
  ASSERT_NO_FATAL_FAILURE(expectForwarded(audio_after, after.sent_audio, 109, view.info.audio->ssrc, next_audio));
  // Timestamps move forward across the switch (RTP serial arithmetic).
  const uint32_t ts_step =
      parseRtp(video_after.front()).packet.timestamp() - parseRtp(video_before.back()).packet.timestamp();
  EXPECT_GT(ts_step, 0u);
  EXPECT_LT(ts_step, 0x80000000u);
  EXPECT_THAT(listener_.events(), ElementsAre("live in1", "viewers in1 1", "offline in1", "live in1"));
}

// ---------------------------------------------------------------------------------------------
// RTCP policy

TEST_P(MediaServerTest, ViewerKeyFrameRequestsReachThePublisherRateLimited) {
  useSteppedClock();
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  MediaSender sender(96, 111, 7);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pub.peer->sendRtp(sender.video(false)));
  RtcpLog log(*pub.peer);

  // A viewer joining a live publisher with no recent key frame to replay: a PLI right away.
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(log.waitUntil([&] { return !log.plis().empty(); }));
  ASSERT_EQ(log.plis().size(), 1u);
  EXPECT_EQ(log.plis().front().media_ssrc, sender.video_ssrc);
  EXPECT_NE(log.plis().front().sender_ssrc, 0u);

  // Past the rate limit, a viewer's PLI goes straight through; more inside the window are
  // coalesced into one more PLI, sent when the window ends.
  step(PublisherSession::kKeyFrameInterval + 100ms);
  log.clear();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(view.peer->sendRtcp(pli(0x5EE, view.info.video->ssrc)));
  // The server has handled all three once it answered a later check from the same viewer; what
  // it sent the publisher meanwhile has arrived by the time the first PLI is there.
  const auto barrier = view.peer->check(view.info.remote.ice_pwd, false);
  ASSERT_TRUE(barrier && barrier->message_class == stun::StunClass::SuccessResponse);
  ASSERT_TRUE(log.waitUntil([&] { return !log.plis().empty(); }));
  pub.peer->poll();
  log.collect();
  ASSERT_EQ(log.plis().size(), 1u);
  EXPECT_EQ(log.plis().front().media_ssrc, sender.video_ssrc);
  // The clock stands still: the window does not end, whatever the wall clock does.
  log.waitUntil([] { return false; }, 300ms);
  EXPECT_EQ(log.plis().size(), 1u);
  step(PublisherSession::kKeyFrameInterval);
  ASSERT_TRUE(log.waitUntil([&] { return log.plis().size() >= 2; }));
  log.waitUntil([] { return false; }, 300ms);  // and nothing more
  EXPECT_EQ(log.plis().size(), 2u);

  // A FIR counts as a key-frame request too.
  step(PublisherSession::kKeyFrameInterval + 100ms);
  log.clear();
  std::vector<uint8_t> fir;
  rtcp::appendFir(fir, 0x5EE, view.info.video->ssrc, 1);
  ASSERT_TRUE(view.peer->sendRtcp(fir));
  ASSERT_TRUE(log.waitUntil([&] { return !log.plis().empty(); }));
  EXPECT_EQ(log.plis().front().media_ssrc, sender.video_ssrc);
}

TEST_P(MediaServerTest, AViewerThatOfferedRtxGetsRetransmissionsOnItsRtxStream) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  OfferSpec spec = whepSpec();
  spec.video = {{120, "VP8", "", 121}};
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view, spec));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  ASSERT_TRUE(view.info.video->rtx_ssrc) << view.info.answer.sdp;
  const uint32_t video_ssrc = view.info.video->ssrc;
  const uint32_t rtx_ssrc = *view.info.video->rtx_ssrc;
  EXPECT_NE(rtx_ssrc, video_ssrc);

  MediaSender sender(96, 111, 23);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 5, 0));
  const auto received = receiveRtp(*view.peer, video_ssrc, 5);
  ASSERT_EQ(received.size(), 5u);
  const uint16_t wanted = seqOf(received[2]);
  std::vector<uint8_t> nack;
  rtcp::appendNack(nack, 0x5EE, video_ssrc, std::vector<uint16_t>{wanted});
  ASSERT_TRUE(view.peer->sendRtcp(nack));
  const auto resent = receiveRtp(*view.peer, rtx_ssrc, 1);
  ASSERT_EQ(resent.size(), 1u);
  Bytes copy = resent[0];
  auto rtx = rtp::RtpPacket::parse(copy.data(), copy.size());
  ASSERT_TRUE(rtx);
  EXPECT_EQ(rtx->payloadType(), 121);
  auto restored = rtp::restoreFromRtx(*rtx, 120, video_ssrc);
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->sequenceNumber(), wanted);
  EXPECT_EQ(Bytes(restored->data(), restored->data() + restored->size()), received[2]);
  // A second RTX packet takes the next RTX sequence number.
  nack.clear();
  rtcp::appendNack(nack, 0x5EE, video_ssrc, std::vector<uint16_t>{seqOf(received[3])});
  ASSERT_TRUE(view.peer->sendRtcp(nack));
  const auto second = receiveRtp(*view.peer, rtx_ssrc, 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(seqOf(second[0]), static_cast<uint16_t>(seqOf(resent[0]) + 1));
}

TEST_P(MediaServerTest, ViewerNackIsAnsweredFromTheRetransmissionBuffer) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));

  // The network loses the viewer's 4th and 6th video packets.
  const uint32_t video_ssrc = view.info.video->ssrc;
  std::vector<uint16_t> lost;
  int seen = 0;
  view.peer->drop_rtp = [&](const Bytes& srtp) {
    if (ssrcOf(srtp) != video_ssrc) return false;
    ++seen;
    if (seen != 4 && seen != 6) return false;
    lost.push_back(seqOf(srtp));
    return true;
  };
  MediaSender sender(96, 111, 8);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 10, 0));
  const auto received = receiveRtp(*view.peer, video_ssrc, 8);
  ASSERT_EQ(received.size(), 8u);
  ASSERT_EQ(lost.size(), 2u);
  EXPECT_EQ(lost[0], static_cast<uint16_t>(seqOf(received[2]) + 1));
  EXPECT_EQ(lost[1], static_cast<uint16_t>(seqOf(received[3]) + 1));
  view.peer->drop_rtp = nullptr;

  // One NACK item (PID + BLP) for both, plus one for a packet that was never sent.
  std::vector<uint8_t> nack;
  rtcp::appendNack(nack, 0x5EE, video_ssrc, std::vector<uint16_t>{lost[0], lost[1]});
  rtcp::appendNack(nack, 0x5EE, video_ssrc, std::vector<uint16_t>{static_cast<uint16_t>(lost[1] + 1000)});
  ASSERT_TRUE(view.peer->sendRtcp(nack));
  const auto resent = receiveRtp(*view.peer, video_ssrc, 2);
  ASSERT_EQ(resent.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE("retransmission " + std::to_string(i));
    const ParsedRtp out = parseRtp(resent[i]);
    const ParsedRtp in = parseRtp(sender.sent_video[i == 0 ? 3 : 5]);
    EXPECT_EQ(out.packet.sequenceNumber(), lost[i]);
    EXPECT_EQ(out.packet.payloadType(), 120);
    EXPECT_EQ(out.packet.ssrc(), video_ssrc);
    EXPECT_TRUE(std::ranges::equal(out.payload(), in.payload()));
  }
  // Nothing for the unknown sequence number: the next packet after a barrier is new media.
  const auto barrier = view.peer->check(view.info.remote.ice_pwd, false);
  ASSERT_TRUE(barrier);
  view.peer->poll();
  EXPECT_TRUE(std::none_of(view.peer->rtp.begin(), view.peer->rtp.end(),
                           [&](const Bytes& p) { return ssrcOf(p) == video_ssrc; }));
  EXPECT_EQ(view.peer->undecryptable, 0u);
}

TEST_P(MediaServerTest, PublisherGetsTransportCcReportsAndRembViewerGetsSenderReports) {
  MediaServerOptions options;
  options.viewer_placement_slack = 0;
  options.remb_bps = 2'500'000;
  startServer(options);
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));

  MediaSender sender(96, 111, 9);
  const uint16_t first_twcc = sender.nextTwcc();
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 20, 10));
  const uint16_t last_twcc = static_cast<uint16_t>(sender.nextTwcc() - 1);
  const auto video = receiveRtp(*view.peer, view.info.video->ssrc, 20);
  const auto audio = receiveRtp(*view.peer, view.info.audio->ssrc, 10);
  ASSERT_EQ(video.size(), 20u);
  ASSERT_EQ(audio.size(), 10u);

  // Publisher: transport-cc feedback covering every transport-wide sequence number it sent,
  // a receiver report on both streams and a REMB.
  RtcpLog log(*pub.peer);
  const auto covered = [&] {
    std::vector<bool> seen(static_cast<uint16_t>(last_twcc - first_twcc) + 1u);
    for (const auto& h : log.transportCc()) {
      for (uint16_t i = 0; i < h.packet_status_count; ++i) {
        const uint16_t offset = static_cast<uint16_t>(h.base_sequence + i - first_twcc);
        if (offset < seen.size()) seen[offset] = true;
      }
    }
    return std::all_of(seen.begin(), seen.end(), [](bool b) { return b; });
  };
  const auto reported = [&](uint32_t ssrc, uint16_t highest) {
    for (const auto& rr : log.receiverReports()) {
      for (const auto& block : rr.reportBlocks()) {
        if (block.ssrc == ssrc && static_cast<uint16_t>(block.extended_highest_sequence) == highest) return true;
      }
    }
    return false;
  };
  const uint16_t last_video = seqOf(sender.sent_video.back());
  const uint16_t last_audio = seqOf(sender.sent_audio.back());
  ASSERT_TRUE(log.waitUntil([&] {
    return covered() && reported(sender.video_ssrc, last_video) && reported(sender.audio_ssrc, last_audio) &&
           !log.rembs().empty();
  })) << "transport-cc: "
      << log.transportCc().size() << ", RR: " << log.receiverReports().size() << ", REMB: " << log.rembs().size();
  const auto twcc = log.transportCc();
  EXPECT_EQ(twcc.front().base_sequence, first_twcc);
  EXPECT_EQ(twcc.front().media_ssrc, sender.video_ssrc);
  for (const auto& rr : log.receiverReports()) {
    EXPECT_EQ(rr.ssrc, twcc.front().sender_ssrc);
    for (const auto& block : rr.reportBlocks()) {
      EXPECT_EQ(block.cumulative_lost, 0);
      EXPECT_EQ(block.fraction_lost, 0);
    }
  }
  const auto remb = log.rembs().front();
  EXPECT_EQ(remb.bitrate, 2'500'000u);
  EXPECT_THAT(remb.ssrcs, Contains(sender.video_ssrc));

  // Viewer: sender reports on its own SSRCs counting what it was sent.
  RtcpLog viewer_log(*view.peer);
  const auto counted = [&](uint32_t ssrc, uint32_t packets) {
    for (const auto& sr : viewer_log.senderReports()) {
      if (sr.ssrc == ssrc && sr.packet_count == packets) return true;
    }
    return false;
  };
  ASSERT_TRUE(viewer_log.waitUntil([&] {
    return counted(view.info.video->ssrc, 20) && counted(view.info.audio->ssrc, 10);
  })) << "SRs: "
      << viewer_log.senderReports().size();
  for (const auto& sr : viewer_log.senderReports()) {
    if (sr.ssrc == view.info.video->ssrc && sr.packet_count == 20) {
      uint32_t octets = 0;
      for (const Bytes& p : sender.sent_video) octets += static_cast<uint32_t>(parseRtp(p).payload().size());
      EXPECT_EQ(sr.octet_count, octets);
      EXPECT_NE(sr.ntp_timestamp, 0u);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Errors and the session API

TEST_P(MediaServerTest, SecondPublisherOnALiveInputIsRefused) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  MediaSender sender(96, 111, 10);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 2, 2));
  auto other = newPeer("intruder");
  const AnswerResult result = publish("in1", buildOffer(*other, whipSpec()));
  ASSERT_TRUE(std::holds_alternative<Error>(result));
  EXPECT_EQ(std::get<Error>(result).code(), codes::kPublisherExists);
  EXPECT_EQ(stats().sessions, 1u);
  // Another input is independent.
  EXPECT_TRUE(std::holds_alternative<SessionAnswer>(publish("in2", buildOffer(*other, whipSpec()))));
}

TEST_P(MediaServerTest, SilentPublisherIsReplacedAndItsViewersFollow) {
  MediaServerOptions options;
  options.viewer_placement_slack = 0;
  options.publisher_takeover_after = std::chrono::seconds(0);  // every publisher counts as silent
  startServer(options);
  Client first;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", first));
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  MediaSender before(96, 111, 12);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*first.peer, before, 3, 0));
  const auto video_before = receiveRtp(*view.peer, view.info.video->ssrc, 3);
  ASSERT_EQ(video_before.size(), 3u);

  Client second;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", second));
  EXPECT_THAT(listener_.events(), ElementsAre("live in1", "viewers in1 1", "offline in1", "live in1"));
  EXPECT_TRUE(first.peer->waitUntil([&] { return first.peer->dtlsClosed(); }));
  EXPECT_EQ(stats().sessions, 2u);
  MediaSender after(96, 111, 13);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*second.peer, after, 3, 0));
  ASSERT_NO_FATAL_FAILURE(expectForwarded(receiveRtp(*view.peer, view.info.video->ssrc, 3), after.sent_video, 120,
                                          view.info.video->ssrc,
                                          static_cast<uint16_t>(seqOf(video_before.back()) + 1)));
}

// Without viewers, replacing the silent publisher leaves the input with no publisher at all:
// doPublish's `input` reference outlives the InputRouter that retire() drops (see the report).
TEST_P(MediaServerTest, SilentPublisherOfAnInputWithoutViewersIsReplaced) {
  MediaServerOptions options;
  options.viewer_placement_slack = 0;
  options.publisher_takeover_after = std::chrono::seconds(0);
  startServer(options);
  Client first;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", first));
  Client second;
  ASSERT_NO_FATAL_FAILURE(offer(true, "in1", second, whipSpec(), false));
  const MediaServer::Stats s = stats();
  EXPECT_EQ(s.sessions, 1u);
  ASSERT_EQ(s.inputs, 1u) << "the input lost track of its new publisher";
  ASSERT_TRUE(second.peer->connect()) << second.peer->failure();
  ASSERT_TRUE(listener_.waitFor("live in1", 2));
  EXPECT_THAT(listener_.events(), ElementsAre("live in1", "offline in1", "live in1"));
  EXPECT_TRUE(first.peer->waitUntil([&] { return first.peer->dtlsClosed(); }));
}

TEST_P(MediaServerTest, ViewerThatCannotReceiveThePublishersCodecIsRefused) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  OfferSpec h264_only = whepSpec();
  h264_only.video = {{125, "H264", "packetization-mode=1;profile-level-id=42e01f", std::nullopt}};
  auto peer = newPeer("h264viewer");
  const AnswerResult result = play("in1", buildOffer(*peer, h264_only));
  ASSERT_TRUE(std::holds_alternative<Error>(result));
  EXPECT_EQ(std::get<Error>(result).code(), codes::kUnsupportedCodec);
  EXPECT_THAT(std::get<Error>(result).what(), HasSubstr("VP8"));
  EXPECT_EQ(stats().sessions, 1u);
}

TEST_P(MediaServerTest, UnusableOffersAreInvalidSdp) {
  auto peer = newPeer("bad");
  const std::string no_media = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  const std::string data_only = no_media +
                                "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
                                "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 " +
                                peer->fingerprint() + "\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n";
  OfferSpec no_fingerprint = whipSpec();
  no_fingerprint.fingerprint = false;
  for (const std::string& offer : {std::string("garbage"), std::string("\x01\x02\xff", 3), no_media, data_only,
                                   buildOffer(*peer, no_fingerprint)}) {
    SCOPED_TRACE(offer.substr(0, 40));
    for (bool publisher : {true, false}) {
      const AnswerResult result = publisher ? publish("in1", offer) : play("in1", offer);
      ASSERT_TRUE(std::holds_alternative<Error>(result));
      EXPECT_EQ(std::get<Error>(result).code(), codes::kInvalidSdp) << std::get<Error>(result).what();
    }
  }
  // Media sections, but nothing the server can carry.
  OfferSpec unsupported = whipSpec();
  unsupported.audio_payload_type.reset();
  unsupported.video = {{34, "H263", "", std::nullopt}};
  const AnswerResult result = publish("in1", buildOffer(*peer, unsupported));
  ASSERT_TRUE(std::holds_alternative<Error>(result));
  EXPECT_EQ(std::get<Error>(result).code(), codes::kUnsupportedCodec);
  const MediaServer::Stats s = stats();
  EXPECT_EQ(s.sessions, 0u);
  EXPECT_EQ(s.inputs, 0u);
}

TEST_P(MediaServerTest, PatchAcceptsCandidatesAndRefusesStaleETags) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(offer(true, "in1", pub, whipSpec(), false));
  const std::string& id = pub.sessionId();
  const std::string& etag = pub.info.answer.etag;
  const std::string candidate =
      "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 UDP 2015363327 192.0.2.2 40229 typ host\r\n";
  const std::string same_credentials =
      "a=ice-ufrag:" + pub.peer->iceUfrag() + "\r\na=ice-pwd:" + pub.peer->icePwd() + "\r\n" + candidate;

  const auto expectEtag = [&](const PatchOutcome& r) {
    ASSERT_TRUE(std::holds_alternative<media::PatchResult>(r)) << std::get<Error>(r).code();
    EXPECT_EQ(std::get<media::PatchResult>(r).etag, etag);
    EXPECT_EQ(std::get<media::PatchResult>(r).fragment, "");  // a trickle: 204, no body
  };
  const auto expectError = [](const PatchOutcome& r, const char* code) {
    ASSERT_TRUE(std::holds_alternative<Error>(r));
    EXPECT_EQ(std::get<Error>(r).code(), code);
  };
  ASSERT_NO_FATAL_FAILURE(expectEtag(patch(id, etag, candidate)));
  ASSERT_NO_FATAL_FAILURE(expectEtag(patch(id, std::nullopt, same_credentials)));
  ASSERT_NO_FATAL_FAILURE(expectEtag(patch(id, "*", candidate + "a=end-of-candidates\r\n")));
  ASSERT_NO_FATAL_FAILURE(expectError(patch(id, "\"0123456789abcdef\"", candidate), codes::kPreconditionFailed));
  ASSERT_NO_FATAL_FAILURE(expectError(patch(id, etag, "not an sdpfrag"), codes::kInvalidSdp));
  // A restart names both new credentials; one alone, or oversized ones, change nothing.
  ASSERT_NO_FATAL_FAILURE(expectError(patch(id, etag, "a=ice-ufrag:newU\r\n" + candidate), codes::kInvalidSdp));
  ASSERT_NO_FATAL_FAILURE(expectError(
      patch(id, etag, "a=ice-ufrag:" + std::string(300, 'u') + "\r\na=ice-pwd:p\r\n" + candidate), codes::kInvalidSdp));
  ASSERT_NO_FATAL_FAILURE(
      expectError(patch("0123456789abcdef0123456789abcdef", etag, candidate), codes::kSessionNotFound));
  // The session still connects afterwards, on its original credentials.
  ASSERT_TRUE(pub.peer->connect()) << pub.peer->failure();
  EXPECT_TRUE(listener_.waitFor("live in1"));
}

TEST_P(MediaServerTest, IceRestartGivesNewCredentialsAndMediaCarriesOn) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  const std::string old_ufrag = view.peer->remote().ice_ufrag;
  const std::string old_pwd = view.peer->remote().ice_pwd;
  const std::string etag = view.info.answer.etag;

  const std::string restart =
      "a=ice-ufrag:newU\r\na=ice-pwd:a-new-password-0123456789\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:" +
      view.info.video->mid + "\r\na=candidate:1 1 UDP 2015363327 127.0.0.1 40229 typ host\r\n";
  const PatchOutcome r = patch(view.sessionId(), etag, restart);
  ASSERT_TRUE(std::holds_alternative<media::PatchResult>(r)) << std::get<Error>(r).what();
  const auto& result = std::get<media::PatchResult>(r);
  EXPECT_NE(result.etag, etag);
  const sdp::TrickleFragment ours = sdp::parseTrickleFragment(result.fragment);
  EXPECT_NE(ours.ice_ufrag, old_ufrag);
  EXPECT_NE(ours.ice_pwd, old_pwd);
  EXPECT_GE(ours.ice_pwd.size(), 22u);
  ASSERT_EQ(ours.sections.size(), 1u);
  EXPECT_FALSE(ours.sections[0].mid.empty());
  EXPECT_FALSE(ours.sections[0].candidates.empty());
  EXPECT_TRUE(ours.end_of_candidates);
  EXPECT_NE(result.fragment.find("a=ice-lite"), std::string::npos);

  // The old ETag is stale now; the new one (and "*") match.
  const std::string trickle = "m=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n";
  ASSERT_TRUE(std::holds_alternative<Error>(patch(view.sessionId(), etag, trickle)));
  EXPECT_EQ(std::get<Error>(patch(view.sessionId(), etag, trickle)).code(), codes::kPreconditionFailed);
  ASSERT_TRUE(std::holds_alternative<media::PatchResult>(patch(view.sessionId(), result.etag, trickle)));

  // Checks with the new credentials pass; the server's old password no longer signs anything.
  view.peer->setIceCredentials("newU", "a-new-password-0123456789");
  LoopbackPeer::Remote remote = view.peer->remote();
  remote.ice_ufrag = ours.ice_ufrag;
  remote.ice_pwd = ours.ice_pwd;
  view.peer->setRemote(remote);
  auto ok = view.peer->check(ours.ice_pwd);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->message_class, stun::StunClass::SuccessResponse);
  EXPECT_TRUE(ok->integrity_ok);
  auto refused = view.peer->check(old_pwd);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->error_code, std::optional<uint16_t>(401));

  // DTLS and SRTP carry on: media reaches the viewer without a new handshake.
  MediaSender sender(96, 111, 9);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 10, 5));
  ASSERT_NO_FATAL_FAILURE(expectForwarded(receiveRtp(*view.peer, view.info.video->ssrc, 10), sender.sent_video, 120,
                                          view.info.video->ssrc));
  EXPECT_EQ(stats().sessions, 2u);
}

// Loss between broadcaster and server (issue 11): the server NACKs the gap, the publisher
// answers on its RTX stream, and the viewer gets the packet restored (its own sequence number,
// the original payload).
TEST_P(MediaServerTest, LostPublisherPacketsAreNackedAndRepairedFromRtx) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  RtcpLog log(*pub.peer);

  MediaSender sender(96, 111, 21);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 5, 0));
  const Bytes lost = sender.video();  // never sent
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 5, 0));
  const uint16_t lost_seq = static_cast<uint16_t>((lost[2] << 8) | lost[3]);
  const auto got = receiveRtp(*view.peer, view.info.video->ssrc, 10);
  ASSERT_EQ(got.size(), 10u);

  ASSERT_TRUE(log.waitUntil([&] { return !log.nacked(sender.video_ssrc).empty(); })) << "no NACK for the gap";
  EXPECT_EQ(log.nacked(sender.video_ssrc).front(), lost_seq);
  for (uint16_t seq : log.nacked(sender.video_ssrc)) EXPECT_EQ(seq, lost_seq);  // only the gap

  // The repair on the RTX stream (PT 97, apt=96), as a browser sends it.
  Bytes rtx = lost;
  rtx.resize(lost.size() + 2);
  auto media = rtp::RtpPacket::parse(rtx.data(), lost.size());
  ASSERT_TRUE(media);
  auto wrapped = rtp::wrapInRtx(*media, rtx.size(), 97, sender.video_ssrc ^ 0x5555, 4321);
  ASSERT_TRUE(wrapped);
  ASSERT_TRUE(pub.peer->sendRtp(rtx));
  // A second copy of the same repair is not forwarded twice.
  ASSERT_TRUE(pub.peer->sendRtp(rtx));
  const auto repaired = receiveRtp(*view.peer, view.info.video->ssrc, 1);
  ASSERT_EQ(repaired.size(), 1u);
  const uint16_t first_viewer_seq = static_cast<uint16_t>((got[0][2] << 8) | got[0][3]);
  EXPECT_EQ(static_cast<uint16_t>((repaired[0][2] << 8) | repaired[0][3]), static_cast<uint16_t>(first_viewer_seq + 5));
  EXPECT_EQ(repaired[0][1] & 0x7F, 120);       // the viewer's VP8 payload type
  EXPECT_EQ(repaired[0].back(), lost.back());  // the original payload
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 1, 0));
  receiveRtp(*view.peer, view.info.video->ssrc, 1);
  EXPECT_TRUE(view.peer->rtp.empty()) << "the duplicate repair reached the viewer";
  const MediaServer::Stats s = stats();
  EXPECT_GE(s.publisher_nacked, 1u);
  EXPECT_EQ(s.publisher_recovered, 1u);
  // The cumulative counters of /metrics say the same.
  EXPECT_GE(s.counters.nacks_sent, 1u);
  EXPECT_EQ(s.counters.recovered, 1u);
  EXPECT_EQ(s.counters.lost, 0u);
  EXPECT_EQ(s.counters.transport.rtp_packets_in, 12u);  // 10, the repair, 1 more (the replayed copy fails SRTP)
  EXPECT_GE(s.counters.transport.rtp_packets_out, 12u);
  EXPECT_GT(s.counters.transport.rtp_bytes_in, s.counters.transport.rtp_packets_in * 12);
  EXPECT_GE(s.counters.transport.rtcp_packets_out, 1u);  // the NACK
}

// Chromium also sends recent packets again on its RTX stream unasked (bandwidth probes made of
// old packets). When the original was lost, such a copy can arrive before the packet after it,
// so before the gap is known: it is the only copy there will be, and it must reach the viewer
// (found in tests/e2e/uplink_loss.test.mjs: dropping it cost the viewer a 3 s freeze each time).
TEST_P(MediaServerTest, AResentPacketAheadOfTheStreamIsForwardedNotTakenForARepeat) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  RtcpLog log(*pub.peer);

  MediaSender sender(96, 111, 23);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 3, 0));
  ASSERT_EQ(receiveRtp(*view.peer, view.info.video->ssrc, 3).size(), 3u);
  const Bytes lost = sender.video();  // its original never arrives; its RTX copy comes first
  Bytes rtx = lost;
  rtx.resize(lost.size() + 2);
  auto media = rtp::RtpPacket::parse(rtx.data(), lost.size());
  ASSERT_TRUE(media);
  ASSERT_TRUE(rtp::wrapInRtx(*media, rtx.size(), 97, sender.video_ssrc ^ 0x5555, 77));
  ASSERT_TRUE(pub.peer->sendRtp(rtx));
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 3, 0));
  const auto got = receiveRtp(*view.peer, view.info.video->ssrc, 4);
  ASSERT_EQ(got.size(), 4u) << "the resent packet did not reach the viewer";
  EXPECT_EQ(got[0].back(), lost.back());
  // Nothing is missing, so nothing is asked for; a second copy of it is a repeat and dropped (the
  // next packet the viewer gets is the publisher's next one).
  ASSERT_TRUE(pub.peer->sendRtp(rtx));
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 1, 0));
  const auto next = receiveRtp(*view.peer, view.info.video->ssrc, 1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].back(), sender.sent_video.back().back()) << "the repeat reached the viewer";
  ASSERT_TRUE(log.waitUntil([&] { return !log.receiverReports().empty(); }));
  EXPECT_TRUE(log.nacked(sender.video_ssrc).empty());
}

// Bad input (issue 11): RTX before any media, RTX on SSRCs other than the publisher's RTX stream,
// RTX too short to hold an original sequence number, RTX on a payload type nobody negotiated, and
// a "retransmission" far ahead of the stream are dropped; the publisher's media keeps flowing.
TEST_P(MediaServerTest, RtxForUnknownStreamsIsDropped) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  MediaSender sender(96, 111, 24);
  const uint32_t rtx_ssrc = sender.video_ssrc ^ 0x5555;
  const auto asRtx = [](const Bytes& original, uint32_t ssrc, uint16_t seq) {
    Bytes out = original;
    out.resize(original.size() + 2);
    auto media = rtp::RtpPacket::parse(out.data(), original.size());
    EXPECT_TRUE(media && rtp::wrapInRtx(*media, out.size(), 97, ssrc, seq));
    return out;
  };
  const Bytes first = sender.video();
  // Before any media: an RTX packet repairs nothing (no stream to restore it into).
  ASSERT_TRUE(pub.peer->sendRtp(asRtx(first, 0xBAD0BAD0, 1)));
  ASSERT_TRUE(pub.peer->sendRtp(first));
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 2, 0));
  ASSERT_EQ(receiveRtp(*view.peer, view.info.video->ssrc, 3).size(), 3u);
  // The RTX stream names itself: a repeat of a packet we have (a bandwidth probe), dropped.
  ASSERT_TRUE(pub.peer->sendRtp(asRtx(first, rtx_ssrc, 2)));
  // Junk: unknown SSRCs (random sequence numbers), header-only packets, an unnegotiated PT.
  std::mt19937 rng(11);
  for (int i = 0; i < 50; ++i) {
    Bytes junk = {0x80,
                  97,
                  static_cast<uint8_t>(rng()),
                  static_cast<uint8_t>(rng()),
                  0,
                  0,
                  0,
                  1,
                  static_cast<uint8_t>(rng()),
                  static_cast<uint8_t>(rng()),
                  static_cast<uint8_t>(rng()),
                  static_cast<uint8_t>(rng())};
    if (i % 3 != 0) junk.insert(junk.end(), {static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()), 0x10, 0x01});
    if (i % 5 == 0) junk[1] = 98;
    ASSERT_TRUE(pub.peer->sendRtp(junk));
  }
  // On the RTX stream itself, a sequence number far ahead of the stream: not a resend.
  Bytes far = sender.video();
  far[2] = static_cast<uint8_t>(far[2] + 1);  // 256 ahead
  ASSERT_TRUE(pub.peer->sendRtp(asRtx(far, rtx_ssrc, 3)));
  sender.sent_video.pop_back();
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 5, 0));
  const auto after = receiveRtp(*view.peer, view.info.video->ssrc, 5);
  ASSERT_EQ(after.size(), 5u) << "media stopped after hostile RTX";
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].back(), sender.sent_video[sender.sent_video.size() - 5 + i].back())
        << "the viewer got something other than the publisher's media (a hostile RTX payload)";
  }
  EXPECT_EQ(stats().publisher_recovered, 0u);
}

TEST_P(MediaServerTest, WithoutPublisherNackNoGapIsAskedFor) {
  MediaServerOptions options;
  options.publisher_nack = false;
  startServer(options);
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  RtcpLog log(*pub.peer);
  MediaSender sender(96, 111, 22);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 3, 0));
  sender.video();  // lost
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 3, 0));
  // Wait for a receiver report (sent every second), by which time a NACK would have gone out.
  ASSERT_TRUE(log.waitUntil([&] { return !log.receiverReports().empty(); }));
  EXPECT_TRUE(log.nacked(sender.video_ssrc).empty());
  EXPECT_EQ(stats().publisher_nacked, 0u);
}

// A VP8 packet of one simulcast layer: the rid extension (always, for simplicity), a payload of
// `size` bytes whose last byte names the layer, a key frame or not.
Bytes simulcastPacket(uint32_t ssrc, uint16_t seq, uint32_t ts, const std::string& rid, bool key, size_t size,
                      uint8_t tag) {
  Bytes p = {0x90,
             0x80 | 96,  // marker: each is a whole frame (the server holds a frame until its last packet)
             static_cast<uint8_t>(seq >> 8),
             static_cast<uint8_t>(seq),
             static_cast<uint8_t>(ts >> 24),
             static_cast<uint8_t>(ts >> 16),
             static_cast<uint8_t>(ts >> 8),
             static_cast<uint8_t>(ts),
             static_cast<uint8_t>(ssrc >> 24),
             static_cast<uint8_t>(ssrc >> 16),
             static_cast<uint8_t>(ssrc >> 8),
             static_cast<uint8_t>(ssrc)};
  Bytes ext = {static_cast<uint8_t>((kPublisherRidId << 4) | (rid.size() - 1))};
  ext.insert(ext.end(), rid.begin(), rid.end());
  while (ext.size() % 4) ext.push_back(0);
  p.insert(p.end(), {0xBE, 0xDE, 0, static_cast<uint8_t>(ext.size() / 4)});
  p.insert(p.end(), ext.begin(), ext.end());
  p.push_back(0x10);               // VP8 descriptor: S=1, partition 0
  p.push_back(key ? 0x00 : 0x01);  // VP8 payload header: P bit
  p.resize(p.size() + size, 0x55);
  p.back() = tag;
  return p;
}

// Issue 11: a simulcast publisher (layers offered in an order that is not their quality) is taken
// whole; a viewer starts on the lowest layer by what it carries, gets one SSRC with continuous
// sequence numbers, and moves up one layer at a time, only at a key frame of that layer, after
// asking for one.
TEST_P(MediaServerTest, SimulcastViewerStartsLowAndSwitchesUpOnlyAtAKeyFrame) {
  OfferSpec spec = whipSpec();
  spec.simulcast_rids = {"f", "q", "h"};
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub, spec));
  EXPECT_NE(pub.info.answer.sdp.find("a=simulcast:recv f;q;h"), std::string::npos) << pub.info.answer.sdp;
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  RtcpLog log(*pub.peer);

  struct Layer {
    std::string rid;
    uint32_t ssrc;
    size_t size;
    uint8_t tag;
    uint16_t seq = 100;
    uint32_t ts = 9000;
  };
  std::vector<Layer> layers = {{"f", 0xF0F0F0F0, 1000, 'F'}, {"q", 0x0A0A0A0A, 100, 'Q'}, {"h", 0x0B0B0B0B, 400, 'H'}};
  auto sendRound = [&](bool key) {
    for (Layer& l : layers) {
      ASSERT_TRUE(pub.peer->sendRtp(simulcastPacket(l.ssrc, l.seq++, l.ts, l.rid, key, l.size, l.tag)));
      l.ts += 3000;
    }
  };
  const uint32_t video_ssrc = view.info.video->ssrc;
  // Until the server has measured a second of each layer, keep sending; the viewer gets 'Q' only.
  std::vector<Bytes> got;
  ASSERT_NO_FATAL_FAILURE(sendRound(true));
  for (int round = 0; round < 400; ++round) {
    ASSERT_NO_FATAL_FAILURE(sendRound(round % 10 == 0));
    view.peer->waitUntil([] { return false; }, std::chrono::milliseconds(5));
    for (auto it = view.peer->rtp.begin(); it != view.peer->rtp.end();) {
      if (ssrcOf(*it) == video_ssrc) {
        got.push_back(*it);
        it = view.peer->rtp.erase(it);
      } else {
        ++it;
      }
    }
    if (got.size() >= 40 && log.receiverReports().size() >= 2) break;
    log.collect();
  }
  ASSERT_GE(got.size(), 20u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].back(), 'Q') << "packet " << i << " is not from the lowest layer";
    if (i > 0) EXPECT_EQ(seqOf(got[i]), static_cast<uint16_t>(seqOf(got[i - 1]) + 1));
  }

  // The viewer reports no loss, often: its estimate climbs past the best layer's bitrate.
  std::vector<uint8_t> rr;
  for (int i = 0; i < 40; ++i) {
    rr.clear();
    rtcp::ReportBlock block{};
    block.ssrc = video_ssrc;
    rtcp::appendReceiverReport(rr, 0x5EE, std::span<const rtcp::ReportBlock>(&block, 1));
    ASSERT_TRUE(view.peer->sendRtcp(rr));
    ASSERT_NO_FATAL_FAILURE(sendRound(false));
    view.peer->waitUntil([] { return false; }, std::chrono::milliseconds(20));
  }
  // The server asks the next layer up ('H', one step at a time) for a key frame; until it comes
  // the viewer stays on 'Q'.
  ASSERT_TRUE(log.waitUntil([&] {
    for (const rtcp::Pli& p : log.plis()) {
      if (p.media_ssrc == layers[2].ssrc) return true;
    }
    return false;
  })) << "no PLI for the next layer up";
  view.peer->rtp.clear();
  got.clear();
  ASSERT_NO_FATAL_FAILURE(sendRound(false));
  ASSERT_NO_FATAL_FAILURE(sendRound(true));  // the key frames: the switch happens at H's
  ASSERT_NO_FATAL_FAILURE(sendRound(false));
  const auto after = receiveRtp(*view.peer, video_ssrc, 3);
  ASSERT_EQ(after.size(), 3u);
  // Rounds send F, Q, H: Q's packets until H's key frame (the last of the key round), then H.
  EXPECT_EQ(after[0].back(), 'Q');
  EXPECT_EQ(after[1].back(), 'Q');
  EXPECT_EQ(after[2].back(), 'H');  // H's key frame
  EXPECT_EQ(seqOf(after[1]), static_cast<uint16_t>(seqOf(after[0]) + 1));
  EXPECT_EQ(seqOf(after[2]), static_cast<uint16_t>(seqOf(after[1]) + 1)) << "continuous across the switch";
  EXPECT_EQ(ssrcOf(after[2]), video_ssrc);
  ASSERT_NO_FATAL_FAILURE(sendRound(false));
  const auto next = receiveRtp(*view.peer, video_ssrc, 1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].back(), 'H') << "stays on H";
}

TEST_P(MediaServerTest, RemoveEndsASessionOnce) {
  EXPECT_FALSE(remove("0123456789abcdef0123456789abcdef"));
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  EXPECT_TRUE(remove(view.sessionId()));
  EXPECT_FALSE(remove(view.sessionId()));
  ASSERT_TRUE(listener_.waitFor("viewers in1 0"));
  EXPECT_TRUE(view.peer->waitUntil([&] { return view.peer->dtlsClosed(); }));
  EXPECT_EQ(stats().sessions, 1u);
  EXPECT_TRUE(remove(pub.sessionId()));
  ASSERT_TRUE(listener_.waitFor("offline in1"));
  const MediaServer::Stats s = stats();
  EXPECT_EQ(s.sessions, 0u);
  EXPECT_EQ(s.inputs, 0u);
}

TEST_P(MediaServerTest, ViewerHangingUpIsUncounted) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  view.peer->close();  // DTLS close_notify
  ASSERT_TRUE(listener_.waitFor("viewers in1 0"));
  EXPECT_EQ(stats().sessions, 1u);
  pub.peer->close();
  ASSERT_TRUE(listener_.waitFor("offline in1"));
  EXPECT_EQ(stats().sessions, 0u);
  EXPECT_THAT(listener_.events(), ElementsAre("live in1", "viewers in1 1", "viewers in1 0", "offline in1"));
}

TEST_P(MediaServerTest, UnconnectedPublisherThatGoesAwayNeverReportsOffline) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(offer(true, "in1", pub, whipSpec(), false));
  EXPECT_TRUE(remove(pub.sessionId()));
  EXPECT_EQ(stats().sessions, 0u);  // the media thread is done with the remove
  // It never was live: the listener must not hear that it went offline.
  EXPECT_THAT(listener_.events(), IsEmpty());
}

TEST_P(MediaServerTest, CloseInputEndsThePublisherAndEveryViewer) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client a;
  Client b;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", a));
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", b));
  ASSERT_TRUE(listener_.waitFor("viewers in1 2"));
  Client other;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in2", other));

  server_->closeInput("nope");  // unknown: nothing happens
  server_->closeInput("in1");
  ASSERT_TRUE(listener_.waitFor("viewers in1 0"));
  ASSERT_TRUE(listener_.waitFor("offline in1"));
  for (Client* c : {&pub, &a, &b}) EXPECT_TRUE(c->peer->waitUntil([&] { return c->peer->dtlsClosed(); }));
  MediaServer::Stats s = stats();
  EXPECT_EQ(s.sessions, 1u);  // in2's publisher
  EXPECT_EQ(s.inputs, 1u);
  EXPECT_FALSE(other.peer->dtlsClosed());
  const auto events = listener_.events();
  EXPECT_EQ(std::count(events.begin(), events.end(), "offline in2"), 0);

  server_->closeInput("in2");
  ASSERT_TRUE(listener_.waitFor("offline in2"));
  s = stats();
  EXPECT_EQ(s.sessions, 0u);
  EXPECT_EQ(s.inputs, 0u);
  // The input can go live again.
  Client again;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", again));
}

// ---------------------------------------------------------------------------------------------
// Limits: what one client can make the server hold

// `count` NACK packets naming `seqs`, in one compound (processed at one instant).
Bytes repeatedNack(uint32_t media_ssrc, const std::vector<uint16_t>& seqs, int count) {
  std::vector<uint8_t> out;
  for (int i = 0; i < count; ++i) rtcp::appendNack(out, 0x5EE, media_ssrc, seqs);
  return out;
}

// A publisher and a viewer of "in1"; `count` video packets sent, every one lost on the way to
// the viewer (a resend of a packet it has would fail its SRTP replay check and prove nothing).
struct LostVideo {
  Client pub;
  Client view;
  uint32_t video_ssrc = 0;
  std::vector<uint16_t> seqs;  // as the viewer would have seen them
  size_t packet_bytes = 0;     // SRTP size of one
};

TEST_P(MediaServerTest, ARepeatedNackResendsEachPacketOnce) {
  LostVideo lost;
  ASSERT_NO_FATAL_FAILURE(loseVideo(lost, 40));
  Client& view = lost.view;
  const uint32_t video_ssrc = lost.video_ssrc;
  const std::vector<uint16_t>& all = lost.seqs;

  // The whole buffer, asked 10 times over in one datagram (the probe's amplification): each
  // packet comes back once, not 10 times.
  ASSERT_TRUE(view.peer->sendRtcp(repeatedNack(video_ssrc, all, 10)));
  const auto resent = receiveRtp(*view.peer, video_ssrc, 40);
  ASSERT_EQ(resent.size(), 40u);
  const auto barrier = view.peer->check(view.info.remote.ice_pwd, false);
  ASSERT_TRUE(barrier);
  view.peer->poll();
  EXPECT_EQ(std::count_if(view.peer->rtp.begin(), view.peer->rtp.end(),
                          [&](const Bytes& p) { return ssrcOf(p) == video_ssrc; }),
            0);
  EXPECT_EQ(view.peer->undecryptable, 0u);
  const MediaServer::Stats s = stats();
  EXPECT_EQ(s.retransmissions, 40u);
  EXPECT_EQ(s.retransmissions_refused, 360u);
  EXPECT_EQ(s.counters.nacks_received, 400u);
  EXPECT_EQ(s.counters.retransmissions, 40u);
  EXPECT_EQ(s.counters.retransmissions_refused, 360u);

  // The counters are since the start: a viewer that leaves takes nothing away.
  const MediaCounters before = s.counters;
  ASSERT_TRUE(remove(view.sessionId()));
  const MediaServer::Stats after = stats();
  EXPECT_EQ(after.retransmissions, 0u);  // the open sessions' figure
  EXPECT_EQ(after.counters.nacks_received, 400u);
  EXPECT_EQ(after.counters.retransmissions, 40u);
  EXPECT_EQ(after.counters.retransmissions_refused, 360u);
  EXPECT_GE(after.counters.transport.rtp_packets_out, before.transport.rtp_packets_out);
  EXPECT_GE(after.counters.transport.rtp_bytes_out, before.transport.rtp_bytes_out);
}

TEST_P(MediaServerTest, RetransmissionsStayWithinTheViewersBudget) {
  MediaServerOptions options;
  options.viewer_retransmit_bps = 16'000;  // 2 kB/s, bursts of 1 kB
  startServer(options);
  LostVideo lost;
  ASSERT_NO_FATAL_FAILURE(loseVideo(lost, 40));
  Client& view = lost.view;
  const uint32_t video_ssrc = lost.video_ssrc;
  const std::vector<uint16_t>& all = lost.seqs;
  const size_t packet_bytes = lost.packet_bytes;
  ASSERT_TRUE(view.peer->sendRtcp(repeatedNack(video_ssrc, all, 1)));
  const auto barrier = view.peer->check(view.info.remote.ice_pwd, false);
  ASSERT_TRUE(barrier);
  view.peer->poll();
  const auto resent = std::count_if(view.peer->rtp.begin(), view.peer->rtp.end(),
                                    [&](const Bytes& p) { return ssrcOf(p) == video_ssrc; });
  EXPECT_GE(resent, 1);
  EXPECT_LE(static_cast<size_t>(resent) * (packet_bytes - 10), 1000u + packet_bytes) << packet_bytes;
  EXPECT_GT(stats().retransmissions_refused, 0u);
}

TEST_P(MediaServerTest, SessionLimitsInTotalPerInputAndPerClient) {
  MediaServerOptions options;
  options.max_sessions = 4;
  options.max_sessions_per_input = 2;
  options.max_sessions_per_client = 2;
  startServer(options);
  auto offerFrom = [&](const std::string& client, bool publisher, const std::string& uid) {
    client_key_ = client;
    auto peer = newPeer("lim" + client + uid + (publisher ? "p" : "v"));
    return publisher ? publish(uid, buildOffer(*peer, whipSpec())) : play(uid, buildOffer(*peer, whepSpec()));
  };
  auto code = [](const AnswerResult& r) {
    return std::holds_alternative<Error>(r) ? std::get<Error>(r).code() : std::string("ok");
  };
  EXPECT_EQ(code(offerFrom("a", false, "in1")), "ok");
  EXPECT_EQ(code(offerFrom("a", false, "in2")), "ok");
  const AnswerResult third = offerFrom("a", false, "in3");
  EXPECT_EQ(code(third), codes::kTooManySessions);  // per client
  ASSERT_TRUE(std::holds_alternative<Error>(third));
  EXPECT_EQ(std::get<Error>(third).retryAfterSeconds(), 1);
  EXPECT_EQ(code(offerFrom("b", false, "in1")), "ok");
  EXPECT_EQ(code(offerFrom("c", false, "in1")), codes::kMediaBusy);  // per input: in1 has 2
  EXPECT_EQ(code(offerFrom("c", false, "in4")), "ok");               // 4 in all now
  EXPECT_EQ(code(offerFrom("d", false, "in5")), codes::kMediaBusy);  // total
  EXPECT_EQ(code(offerFrom("", true, "in6")), codes::kMediaBusy);    // an unknown client too
  EXPECT_EQ(stats().sessions, 4u);
  EXPECT_EQ(stats().sessions_refused, 4u);
}

TEST_P(MediaServerTest, SessionsThatNeverConnectAreDropped) {
  MediaServerOptions options;
  options.ice_connect_timeout = std::chrono::milliseconds(600);
  options.max_sessions_per_client = 1;
  startServer(options);
  client_key_ = "x";
  Client idle;
  ASSERT_NO_FATAL_FAILURE(offer(false, "in1", idle, whepSpec(), /*connect=*/false));
  EXPECT_EQ(stats().sessions, 1u);
  // Gone once its timeout passes (polled; how long it takes is not the point), and its place
  // under the client's limit is free again.
  ASSERT_TRUE(idle.peer->waitUntil([&] { return stats().sessions == 0; }));
  Client next;
  ASSERT_NO_FATAL_FAILURE(offer(false, "in1", next, whepSpec()));
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

TEST_P(MediaServerTest, SeveralFingerprintsAreCheckedWithTheStrongestHash) {
  // A weaker (sha-1) line beside the real sha-256: sha-256 is checked and the handshake works.
  OfferSpec with_sha1 = whipSpec();
  with_sha1.extra_fingerprints = {"sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"};
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub, with_sha1));

  // A (wrong) sha-512 line beside the real sha-256: sha-512 is the one checked, so it fails.
  OfferSpec with_sha512 = whepSpec();
  std::string bogus = "sha-512 ";
  for (int i = 0; i < 64; ++i) bogus += std::string(i ? ":" : "") + "AB";
  with_sha512.extra_fingerprints = {bogus};
  auto peer = newPeer("fp512");
  const AnswerResult result = play("in1", buildOffer(*peer, with_sha512));
  ASSERT_TRUE(std::holds_alternative<SessionAnswer>(result));
  peer->setRemote(parseAnswer(std::get<SessionAnswer>(result)).remote);
  EXPECT_FALSE(peer->connect());

  // Only unsupported hashes: refused up front, naming them.
  OfferSpec only_md5 = whipSpec();
  only_md5.fingerprint = false;
  only_md5.extra_fingerprints = {"md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"};
  auto other = newPeer("fpmd5");
  const AnswerResult refused = publish("in2", buildOffer(*other, only_md5));
  ASSERT_TRUE(std::holds_alternative<Error>(refused));
  EXPECT_EQ(std::get<Error>(refused).code(), codes::kInvalidSdp);
  EXPECT_THAT(std::get<Error>(refused).what(), HasSubstr("md5"));
}

TEST_P(MediaServerTest, ShutdownEndsSessionsWithTheirEvents) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client a;
  Client b;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", a));
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", b));
  ASSERT_TRUE(listener_.waitFor("viewers in1 2"));
  server_->shutdown();
  // What the listener hears is what it would if everyone had left: viewers down to 0, then the
  // broadcaster off air.
  const auto events = listener_.events();
  const auto zero = std::find(events.begin(), events.end(), "viewers in1 0");
  const auto offline = std::find(events.begin(), events.end(), "offline in1");
  ASSERT_NE(zero, events.end());
  ASSERT_NE(offline, events.end());
  EXPECT_LT(zero, offline);
  for (Client* c : {&pub, &a, &b}) EXPECT_TRUE(c->peer->waitUntil([&] { return c->peer->dtlsClosed(); }));
  EXPECT_EQ(stats().sessions, 0u);
  // New sessions are refused from now on; shutdown again is harmless.
  auto late = newPeer("late");
  const AnswerResult refused = publish("in2", buildOffer(*late, whipSpec()));
  ASSERT_TRUE(std::holds_alternative<Error>(refused));
  EXPECT_EQ(std::get<Error>(refused).code(), codes::kMediaUnavailable);
  server_->shutdown();
}

// A listener that asks the server for its stats from the media thread (a diagnostics hook would).
class StatsAskingListener final : public MediaServer::Listener {
 public:
  MediaServer* server = nullptr;
  std::atomic<int> answers{0};
  void onPublisherLive(const std::string&, bool) override { ask(); }
  void onViewerCount(const std::string&, size_t) override { ask(); }

 private:
  void ask() {
    if (server != nullptr && server->stats().sessions < 1000) ++answers;
  }
};

TEST(MediaServerStats, AnswerOnTheMediaThreadAndAfterTheEnd) {
  StatsAskingListener listener;
  MediaServerOptions options;
  options.bind_address = "127.0.0.1";
  options.port = 0;
  auto server = std::make_unique<MediaServer>(options, &listener);
  listener.server = server.get();
  auto peer = std::make_unique<LoopbackPeer>("stats", "stats-password-0123456789abcdef");
  auto promise = std::make_shared<std::promise<AnswerResult>>();
  auto future = promise->get_future();
  server->publish("in1", buildOffer(*peer, whipSpec()), [promise](AnswerResult r) { promise->set_value(r); });
  AnswerResult result = awaitResult(future);
  ASSERT_TRUE(std::holds_alternative<SessionAnswer>(result));
  peer->setRemote(parseAnswer(std::get<SessionAnswer>(result)).remote);
  ASSERT_TRUE(peer->connect());  // "live": the listener asks for stats on the media thread
  ASSERT_TRUE(peer->waitUntil([&] { return listener.answers.load() >= 1; }));
  server->shutdown();  // "offline": asked again, still on the media thread
  EXPECT_GE(listener.answers.load(), 2);
  EXPECT_EQ(server->stats().sessions, 0u);
}

// ---------------------------------------------------------------------------------------------
// Robustness

TEST_P(MediaServerTest, JunkDatagramsAreDroppedWhileMediaKeepsFlowing) {
  Client pub;
  ASSERT_NO_FATAL_FAILURE(connectPublisher("in1", pub));
  Client view;
  ASSERT_NO_FATAL_FAILURE(connectViewer("in1", view));
  ASSERT_TRUE(listener_.waitFor("viewers in1 1"));
  MediaSender sender(96, 111, 11);
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 5, 5));
  const auto before = receiveRtp(*view.peer, view.info.video->ssrc, 5);
  ASSERT_EQ(before.size(), 5u);
  ASSERT_EQ(receiveRtp(*view.peer, view.info.audio->ssrc, 5).size(), 5u);
  const uint64_t dropped_before = stats().transport.dropped_packets;

  // From an address nobody validated: random bytes in each RFC 7983 range, truncated headers.
  LoopbackPeer stranger("stranger", "stranger-password-0123456789");
  stranger.setRemote(pub.info.remote);
  std::mt19937 random(12345);
  std::vector<Bytes> junk = {{},         {0x00}, {0x00, 0x01},       {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4},
                             {22, 0xFE}, {0x80}, {0x80, 0x60, 0x00}, {0x81, 0xC8}};
  for (const auto& [low, high] :
       std::vector<std::pair<int, int>>{{0, 3}, {20, 63}, {128, 191}, {64, 127}, {192, 255}}) {
    for (int i = 0; i < 20; ++i) {
      Bytes datagram(1 + random() % 400);
      for (uint8_t& b : datagram) b = static_cast<uint8_t>(random());
      datagram[0] = static_cast<uint8_t>(low + random() % (high - low + 1));
      junk.push_back(std::move(datagram));
    }
  }
  for (const Bytes& datagram : junk) stranger.sendRaw(datagram);

  // STUN checks with the right username but the wrong password, from the stranger and from the
  // publisher's own address: 401, and nothing changes.
  const auto wrong = stranger.check("not-the-password-0123456789");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->message_class, stun::StunClass::ErrorResponse);
  EXPECT_EQ(wrong->error_code, 401);
  const auto wrong_own = pub.peer->check("not-the-password-0123456789");
  ASSERT_TRUE(wrong_own);
  EXPECT_EQ(wrong_own->error_code, 401);

  // Junk from the validated tuples themselves reaches the sessions, which discard it.
  for (LoopbackPeer* peer : {pub.peer.get(), view.peer.get()}) {
    for (int i = 0; i < 20; ++i) {
      Bytes datagram(1 + random() % 300);
      for (uint8_t& b : datagram) b = static_cast<uint8_t>(random());
      datagram[0] = static_cast<uint8_t>(i % 2 == 0 ? 128 + random() % 64 : 20 + random() % 3);
      peer->sendRaw(datagram);
    }
  }

  // Every stranger datagram is counted as dropped.
  const uint64_t expected = dropped_before + junk.size();
  uint64_t dropped = 0;
  ASSERT_TRUE(pub.peer->waitUntil([&] { return (dropped = stats().transport.dropped_packets) >= expected; }))
      << dropped << " < " << expected;

  // Media keeps flowing, contiguously, and nobody was disconnected.
  ASSERT_NO_FATAL_FAILURE(sendMedia(*pub.peer, sender, 5, 0));
  const auto after = receiveRtp(*view.peer, view.info.video->ssrc, 5);
  ASSERT_NO_FATAL_FAILURE(expectForwarded(after, std::span(sender.sent_video).subspan(5), 120, view.info.video->ssrc,
                                          static_cast<uint16_t>(seqOf(before.back()) + 1)));
  EXPECT_EQ(stats().sessions, 2u);
  EXPECT_THAT(listener_.events(), ElementsAre("live in1", "viewers in1 1"));
}

// Stopping the server while datagrams pour in: a receive that already completed must not run
// on a PacketMux that is gone. Twenty rounds make the race all but certain to show.
TEST_P(MediaServerTest, StopsCleanlyWhileDatagramsKeepArriving) {
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    startServer({});
    const udp::endpoint target(net::ip::make_address("127.0.0.1"), server_->port());
    std::atomic<bool> stop{false};
    std::thread flood([&] {
      net::io_context ioc;
      udp::socket socket(ioc, udp::endpoint(net::ip::make_address("127.0.0.1"), 0));
      const Bytes junk(100, 0xFF);
      boost::system::error_code ec;
      while (!stop) socket.send_to(net::buffer(junk), target, 0, ec);
    });
    const auto deadline = std::chrono::steady_clock::now() + kCallTimeout;
    while (stats().transport.dropped_packets == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    server_.reset();
    stop = true;
    flood.join();
  }
}

}  // namespace
}  // namespace liveroom::media

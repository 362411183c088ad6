// WebRtcTransport end to end over real loopback UDP: a minimal "browser" built from the same
// primitives (STUN writer, client-role DtlsTransport, SrtpSession) connects to a PacketMux port,
// and RTP/RTCP cross both ways. Everything runs on one io_context in the test thread, in
// bounded loops; nothing asserts on elapsed time.
#include <utility>  // before Asio (Boost 1.74 + C++20)

#include "media/webrtc/webrtc_transport.hpp"

#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "media/demux.hpp"
#include "media/stun/stun_message.hpp"

namespace liveroom::media {
namespace {

PacketMuxOptions loopbackMux() {
  PacketMuxOptions o;
  o.bind_address = "127.0.0.1";
  o.udp_port = 0;
  return o;
}

namespace net = boost::asio;
using udp = net::ip::udp;
using Bytes = std::vector<uint8_t>;

constexpr char kClientUfrag[] = "cl1ent";
constexpr char kClientPwd[] = "client-password-0123456789";

struct RecordingListener : WebRtcTransport::Listener {
  int connected = 0;
  int closed = 0;
  std::string closeReason;
  std::vector<Bytes> rtp;
  std::vector<Bytes> rtcp;
  void onTransportConnected() override { ++connected; }
  void onTransportClosed(const std::string& reason) override {
    ++closed;
    closeReason = reason;
  }
  void onRtp(rtp::RtpPacket& packet) override { rtp.emplace_back(packet.data(), packet.data() + packet.size()); }
  void onRtcp(const uint8_t* data, size_t size) override { rtcp.emplace_back(data, data + size); }
};

// The browser side: one UDP socket, a client DtlsTransport, SRTP once keyed.
class FakeBrowser : public DtlsTransport::Listener {
 public:
  FakeBrowser(net::io_context& ioc, udp::endpoint server)
      : context(DtlsCertificate::generate()),
        socket_(ioc, udp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
        server_(server) {
    receive();
  }

  void startDtls(const std::string& server_fingerprint) {
    DtlsTransport::Options options;
    options.role = DtlsTransport::Role::Client;  // a=setup:active
    options.remoteFingerprint = server_fingerprint;
    dtls = std::make_unique<DtlsTransport>(context, options, *this);
    dtls->start();
  }

  void send(const Bytes& bytes) { socket_.send_to(net::buffer(bytes), server_); }
  udp::endpoint localEndpoint() const { return socket_.local_endpoint(); }

  void onDtlsSend(const uint8_t* data, size_t size) override { socket_.send_to(net::buffer(data, size), server_); }
  void onDtlsConnected(SrtpProfile profile, const SrtpKeys& local, const SrtpKeys& remote) override {
    srtpOut = std::make_unique<SrtpSession>(SrtpSession::Direction::Outbound, profile, local);
    srtpIn = std::make_unique<SrtpSession>(SrtpSession::Direction::Inbound, profile, remote);
  }
  void onDtlsFailed(const std::string& reason) override { dtlsFailure = reason; }
  void onDtlsClosed() override { dtlsClosed = true; }

  DtlsContext context;
  std::unique_ptr<DtlsTransport> dtls;
  std::unique_ptr<SrtpSession> srtpOut;
  std::unique_ptr<SrtpSession> srtpIn;
  std::string dtlsFailure;
  bool dtlsClosed = false;
  std::deque<Bytes> stun;   // STUN responses received
  std::deque<Bytes> media;  // SRTP/SRTCP received, still protected

 private:
  void receive() {
    socket_.async_receive_from(net::buffer(buffer_), from_, [this](boost::system::error_code ec, size_t size) {
      if (ec) return;
      switch (classifyPacket(buffer_.data(), size)) {
        case PacketKind::Dtls:
          if (dtls) dtls->feed(buffer_.data(), size);
          break;
        case PacketKind::Stun:
          stun.emplace_back(buffer_.data(), buffer_.data() + size);
          break;
        case PacketKind::Rtp:
        case PacketKind::Rtcp:
          media.emplace_back(buffer_.data(), buffer_.data() + size);
          break;
        case PacketKind::Unknown:
          break;
      }
      receive();
    });
  }

  udp::socket socket_;
  udp::endpoint server_;
  std::array<uint8_t, 2048> buffer_{};
  udp::endpoint from_;
};

Bytes bindingRequest(const std::string& username, const std::string& key, uint8_t id) {
  Bytes out;
  stun::StunMessageWriter w(out);
  stun::TransactionId txid{};
  txid.fill(id);
  w.begin(stun::StunClass::Request, stun::kMethodBinding, txid);
  w.addAttribute(stun::attr::kUsername, reinterpret_cast<const uint8_t*>(username.data()), username.size());
  const uint8_t priority[4] = {0x6e, 0x00, 0x1e, 0xff};
  w.addAttribute(stun::attr::kPriority, priority, sizeof priority);
  const uint8_t tiebreaker[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  w.addAttribute(stun::attr::kIceControlling, tiebreaker, sizeof tiebreaker);
  w.addAttribute(stun::attr::kUseCandidate, nullptr, 0);
  w.addMessageIntegrity(key);
  w.addFingerprint();
  return out;
}

// A VP8-ish RTP packet: PT 96, marker, a VP8 payload descriptor (S=1, PID 0) and some payload.
Bytes rtpPacket(uint16_t seq, uint32_t ssrc) {
  Bytes p = {0x80,
             0xE0,
             static_cast<uint8_t>(seq >> 8),
             static_cast<uint8_t>(seq),
             0x00,
             0x01,
             0x5F,
             0x90,
             static_cast<uint8_t>(ssrc >> 24),
             static_cast<uint8_t>(ssrc >> 16),
             static_cast<uint8_t>(ssrc >> 8),
             static_cast<uint8_t>(ssrc),
             0x10};
  for (int i = 0; i < 100; ++i) p.push_back(static_cast<uint8_t>(i * 7));
  return p;
}

// A PLI (RFC 4585 §6.3.1): PSFB, FMT 1, length 2, sender and media SSRC.
Bytes rtcpPli(uint32_t sender, uint32_t media) {
  return {0x81,
          206,
          0x00,
          0x02,
          static_cast<uint8_t>(sender >> 24),
          static_cast<uint8_t>(sender >> 16),
          static_cast<uint8_t>(sender >> 8),
          static_cast<uint8_t>(sender),
          static_cast<uint8_t>(media >> 24),
          static_cast<uint8_t>(media >> 16),
          static_cast<uint8_t>(media >> 8),
          static_cast<uint8_t>(media)};
}

class WebRtcTransportTest : public ::testing::Test {
 protected:
  WebRtcTransportTest()
      : mux_(ioc_, loopbackMux()),
        serverContext_(DtlsCertificate::generate()),
        browser_(ioc_, udp::endpoint(net::ip::make_address("127.0.0.1"), mux_.udpPort())) {
    transport_ = std::make_unique<WebRtcTransport>(
        mux_, serverContext_,
        WebRtcTransport::RemoteParameters{kClientUfrag, kClientPwd, browser_.context.certificate().fingerprint()},
        listener_, [this] { return now_; });
  }

  // Runs handlers until `done` or the step budget runs out; each step waits at most 5 s for
  // something to happen (loopback delivers in microseconds; the budget only stops a hang).
  bool runUntil(const std::function<bool()>& done, int max_steps = 200) {
    for (int i = 0; i < max_steps && !done(); ++i) ioc_.run_one_for(std::chrono::seconds(5));
    return done();
  }
  // Lets already-sent datagrams be handled without waiting for something specific.
  void drain() {
    for (int i = 0; i < 50 && ioc_.poll_one() > 0; ++i) {
    }
    ioc_.run_one_for(std::chrono::milliseconds(200));
    for (int i = 0; i < 50 && ioc_.poll_one() > 0; ++i) {
    }
  }

  std::string username() const { return transport_->localUfrag() + ":" + kClientUfrag; }

  void connectIce() {
    browser_.send(bindingRequest(username(), transport_->localPwd(), 1));
    ASSERT_TRUE(runUntil([&] { return !browser_.stun.empty(); }));
  }

  void connect() {
    ASSERT_NO_FATAL_FAILURE(connectIce());
    browser_.stun.clear();
    browser_.startDtls(transport_->localFingerprint());
    ASSERT_TRUE(runUntil([&] { return listener_.connected > 0 && browser_.srtpIn != nullptr; }))
        << "client failure: " << browser_.dtlsFailure << ", server: " << listener_.closeReason;
    ASSERT_EQ(transport_->state(), WebRtcTransport::State::Connected);
  }

  // Protects with the browser's outbound SRTP and sends from the browser socket.
  void browserSendRtp(Bytes packet) {
    size_t len = packet.size();
    packet.resize(len + SrtpSession::kMaxRtpTrailer);
    ASSERT_TRUE(browser_.srtpOut->protectRtp(packet.data(), len, packet.size()));
    packet.resize(len);
    browser_.send(packet);
  }

  net::io_context ioc_;
  PacketMux mux_;
  DtlsContext serverContext_;
  FakeBrowser browser_;
  RecordingListener listener_;
  WebRtcTransport::Clock::time_point now_ = WebRtcTransport::Clock::now();
  std::unique_ptr<WebRtcTransport> transport_;
};

TEST_F(WebRtcTransportTest, GeneratesLocalCredentials) {
  EXPECT_EQ(transport_->localUfrag().size(), WebRtcTransport::kLocalUfragLength);
  EXPECT_GE(transport_->localPwd().size(), 22u);
  EXPECT_EQ(transport_->localFingerprint(), serverContext_.certificate().fingerprint());
  EXPECT_EQ(transport_->state(), WebRtcTransport::State::New);
  WebRtcTransport other(mux_, serverContext_, {"x", "y", browser_.context.certificate().fingerprint()}, listener_);
  EXPECT_NE(other.localUfrag(), transport_->localUfrag());
  EXPECT_NE(other.localPwd(), transport_->localPwd());
}

TEST_F(WebRtcTransportTest, RejectsMalformedRemoteFingerprint) {
  EXPECT_THROW(WebRtcTransport(mux_, serverContext_, {"x", "y", "not-a-fingerprint"}, listener_),
               std::invalid_argument);
  EXPECT_THROW(WebRtcTransport(mux_, serverContext_, {"x", "y", ""}, listener_), std::invalid_argument);
}

TEST_F(WebRtcTransportTest, AnswersBindingRequestWithMappedAddress) {
  ASSERT_NO_FATAL_FAILURE(connectIce());
  const Bytes& response = browser_.stun.front();
  auto message = stun::StunMessage::parse(response.data(), response.size());
  ASSERT_TRUE(message);
  EXPECT_EQ(message->messageClass(), stun::StunClass::SuccessResponse);
  EXPECT_EQ(message->transactionId()[0], 1);
  EXPECT_TRUE(message->verifyIntegrity(transport_->localPwd()));
  EXPECT_TRUE(message->verifyFingerprint());
  ASSERT_TRUE(message->xorMappedAddress());
  EXPECT_EQ(*message->xorMappedAddress(), toTransportAddress(browser_.localEndpoint()));
  EXPECT_EQ(transport_->state(), WebRtcTransport::State::Connecting);
  ASSERT_TRUE(transport_->selectedTuple());
  EXPECT_EQ(*transport_->selectedTuple(), toTransportAddress(browser_.localEndpoint()));
}

TEST_F(WebRtcTransportTest, RtpAndRtcpFlowBothWaysAfterHandshake) {
  ASSERT_NO_FATAL_FAILURE(connect());
  EXPECT_EQ(listener_.connected, 1);

  // Browser → server RTP: the listener sees the exact original bytes.
  const Bytes rtp = rtpPacket(1000, 0x11223344);
  ASSERT_NO_FATAL_FAILURE(browserSendRtp(rtp));
  ASSERT_TRUE(runUntil([&] { return !listener_.rtp.empty(); }));
  EXPECT_EQ(listener_.rtp.front(), rtp);

  // Server → browser RTP.
  const Bytes back = rtpPacket(7, 0xCAFEBABE);
  std::array<uint8_t, 1500> buffer{};
  std::copy(back.begin(), back.end(), buffer.begin());
  ASSERT_TRUE(transport_->sendRtp(buffer.data(), back.size(), buffer.size()));
  ASSERT_TRUE(runUntil([&] { return !browser_.media.empty(); }));
  Bytes received = browser_.media.front();
  browser_.media.pop_front();
  EXPECT_NE(received, back);  // it was encrypted on the wire
  size_t len = received.size();
  ASSERT_TRUE(browser_.srtpIn->unprotectRtp(received.data(), len));
  received.resize(len);
  EXPECT_EQ(received, back);

  // Browser → server RTCP.
  Bytes pli = rtcpPli(0x11223344, 0xCAFEBABE);
  Bytes wire = pli;
  len = wire.size();
  wire.resize(len + SrtpSession::kMaxRtcpTrailer);
  ASSERT_TRUE(browser_.srtpOut->protectRtcp(wire.data(), len, wire.size()));
  wire.resize(len);
  browser_.send(wire);
  ASSERT_TRUE(runUntil([&] { return !listener_.rtcp.empty(); }));
  EXPECT_EQ(listener_.rtcp.front(), pli);

  // Server → browser RTCP.
  const Bytes serverPli = rtcpPli(0xCAFEBABE, 0x11223344);
  std::copy(serverPli.begin(), serverPli.end(), buffer.begin());
  ASSERT_TRUE(transport_->sendRtcp(buffer.data(), serverPli.size(), buffer.size()));
  ASSERT_TRUE(runUntil([&] { return !browser_.media.empty(); }));
  received = browser_.media.front();
  len = received.size();
  ASSERT_TRUE(browser_.srtpIn->unprotectRtcp(received.data(), len));
  received.resize(len);
  EXPECT_EQ(received, serverPli);
  EXPECT_EQ(listener_.closed, 0);
}

TEST_F(WebRtcTransportTest, SendFailsBeforeConnected) {
  const Bytes rtp = rtpPacket(1, 1);
  std::array<uint8_t, 1500> buffer{};
  std::copy(rtp.begin(), rtp.end(), buffer.begin());
  EXPECT_FALSE(transport_->sendRtp(buffer.data(), rtp.size(), buffer.size()));
  EXPECT_FALSE(transport_->sendRtcp(buffer.data(), 12, buffer.size()));
}

TEST_F(WebRtcTransportTest, WrongPasswordGets401AndNoBinding) {
  browser_.send(bindingRequest(username(), "not-the-server-password", 2));
  ASSERT_TRUE(runUntil([&] { return !browser_.stun.empty(); }));
  const Bytes& response = browser_.stun.front();
  auto message = stun::StunMessage::parse(response.data(), response.size());
  ASSERT_TRUE(message);
  EXPECT_EQ(message->messageClass(), stun::StunClass::ErrorResponse);
  EXPECT_EQ(message->errorCode(), 401);
  EXPECT_EQ(transport_->state(), WebRtcTransport::State::New);
  EXPECT_FALSE(transport_->selectedTuple());

  // The tuple was not bound: a DTLS ClientHello from it never reaches the transport.
  const uint64_t dropped = mux_.stats().dropped_packets;
  browser_.startDtls(transport_->localFingerprint());
  ASSERT_TRUE(runUntil([&] { return mux_.stats().dropped_packets > dropped; }));
  EXPECT_EQ(transport_->state(), WebRtcTransport::State::New);
}

TEST_F(WebRtcTransportTest, RtpFromUnvalidatedAddressIsDropped) {
  ASSERT_NO_FATAL_FAILURE(connect());
  // A valid SRTP packet (right keys) from another address: the mux does not route it...
  udp::socket stranger(ioc_, udp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  Bytes packet = rtpPacket(5, 0x11223344);
  size_t len = packet.size();
  packet.resize(len + SrtpSession::kMaxRtpTrailer);
  ASSERT_TRUE(browser_.srtpOut->protectRtp(packet.data(), len, packet.size()));
  packet.resize(len);
  const uint64_t dropped = mux_.stats().dropped_packets;
  stranger.send_to(net::buffer(packet), udp::endpoint(net::ip::make_address("127.0.0.1"), mux_.udpPort()));
  ASSERT_TRUE(runUntil([&] { return mux_.stats().dropped_packets > dropped; }));
  EXPECT_TRUE(listener_.rtp.empty());
  // ...and the transport itself drops it too if something hands it over anyway.
  transport_->onPacket(PacketKind::Rtp, packet.data(), packet.size(), toTransportAddress(stranger.local_endpoint()));
  EXPECT_TRUE(listener_.rtp.empty());
}

TEST_F(WebRtcTransportTest, GarbageDoesNotBreakTheSession) {
  ASSERT_NO_FATAL_FAILURE(connect());
  browser_.send({0x80, 0x60, 0x00});                                          // truncated RTP
  browser_.send(Bytes(200, 0x80));                                            // RTP that fails SRTP auth
  browser_.send({0x81, 0xC8, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});     // RTCP that fails auth
  browser_.send({23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4});  // junk application_data
  browser_.send({0x00, 0x01, 0x00, 0x04, 0x21, 0x12});                        // truncated STUN
  browser_.send({0xFF, 0xFF, 0xFF});                                          // unknown
  Bytes tampered = rtpPacket(9, 0x11223344);
  size_t len = tampered.size();
  tampered.resize(len + SrtpSession::kMaxRtpTrailer);
  ASSERT_TRUE(browser_.srtpOut->protectRtp(tampered.data(), len, tampered.size()));
  tampered.resize(len);
  tampered[20] ^= 0x01;
  browser_.send(tampered);
  drain();
  EXPECT_TRUE(listener_.rtp.empty());
  EXPECT_TRUE(listener_.rtcp.empty());
  EXPECT_EQ(transport_->state(), WebRtcTransport::State::Connected);
  EXPECT_EQ(listener_.closed, 0) << listener_.closeReason;

  const Bytes rtp = rtpPacket(10, 0x11223344);
  ASSERT_NO_FATAL_FAILURE(browserSendRtp(rtp));
  ASSERT_TRUE(runUntil([&] { return !listener_.rtp.empty(); }));
  EXPECT_EQ(listener_.rtp.front(), rtp);
}

TEST_F(WebRtcTransportTest, ConsentExpiryClosesOnce) {
  ASSERT_NO_FATAL_FAILURE(connect());
  transport_->tick(now_ + std::chrono::seconds(10));
  EXPECT_EQ(listener_.closed, 0);
  transport_->tick(now_ + std::chrono::seconds(31));
  EXPECT_EQ(listener_.closed, 1);
  EXPECT_EQ(transport_->state(), WebRtcTransport::State::Closed);
  transport_->tick(now_ + std::chrono::seconds(62));
  EXPECT_EQ(listener_.closed, 1);
  std::array<uint8_t, 1500> buffer{};
  const Bytes rtp = rtpPacket(1, 1);
  std::copy(rtp.begin(), rtp.end(), buffer.begin());
  EXPECT_FALSE(transport_->sendRtp(buffer.data(), rtp.size(), buffer.size()));
}

TEST_F(WebRtcTransportTest, NeverConnectingPeerTimesOut) {
  transport_->tick(now_ + std::chrono::seconds(9));
  EXPECT_EQ(listener_.closed, 0);
  transport_->tick(now_ + WebRtcTransport::kIceConnectTimeout);
  EXPECT_EQ(listener_.closed, 1);
  EXPECT_EQ(transport_->state(), WebRtcTransport::State::Closed);
  EXPECT_NE(listener_.closeReason.find("ICE"), std::string::npos) << listener_.closeReason;
}

TEST_F(WebRtcTransportTest, APeerThatPassesIceButNeverFinishesDtlsTimesOutToo) {
  // STUN checks keep consent fresh, but without DTLS the session would live as long as they come.
  ASSERT_NO_FATAL_FAILURE(connectIce());
  transport_->setConnectTimeout(std::chrono::seconds(5));
  transport_->tick(now_ + std::chrono::seconds(4));
  EXPECT_EQ(listener_.closed, 0);
  EXPECT_EQ(transport_->state(), WebRtcTransport::State::Connecting);
  transport_->tick(now_ + std::chrono::seconds(5));
  EXPECT_EQ(listener_.closed, 1);
  EXPECT_NE(listener_.closeReason.find("DTLS"), std::string::npos) << listener_.closeReason;
}

TEST_F(WebRtcTransportTest, CloseSendsCloseNotifyAndIsNotReported) {
  ASSERT_NO_FATAL_FAILURE(connect());
  transport_->close();
  EXPECT_EQ(transport_->state(), WebRtcTransport::State::Closed);
  ASSERT_TRUE(runUntil([&] { return browser_.dtlsClosed; }));
  EXPECT_EQ(listener_.closed, 0);
}

TEST_F(WebRtcTransportTest, PeerCloseNotifyIsReported) {
  ASSERT_NO_FATAL_FAILURE(connect());
  browser_.dtls->close();
  ASSERT_TRUE(runUntil([&] { return listener_.closed > 0; }));
  EXPECT_EQ(listener_.closed, 1);
  EXPECT_EQ(transport_->state(), WebRtcTransport::State::Closed);
}

TEST_F(WebRtcTransportTest, DtlsFingerprintMismatchCloses) {
  // The server expects some other certificate than the browser's.
  DtlsCertificate impostor = DtlsCertificate::generate();
  RecordingListener listener;
  WebRtcTransport transport(mux_, serverContext_, {kClientUfrag, kClientPwd, impostor.fingerprint()}, listener,
                            [this] { return now_; });
  browser_.send(bindingRequest(transport.localUfrag() + ":" + kClientUfrag, transport.localPwd(), 3));
  ASSERT_TRUE(runUntil([&] { return !browser_.stun.empty(); }));
  browser_.startDtls(transport.localFingerprint());
  ASSERT_TRUE(runUntil([&] { return listener.closed > 0; }));
  EXPECT_EQ(listener.connected, 0);
  EXPECT_EQ(transport.state(), WebRtcTransport::State::Closed);
}

}  // namespace
}  // namespace liveroom::media

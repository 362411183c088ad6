// The shared UDP port over real loopback sockets: STUN routed by ICE username, other
// packets by validated tuple, strays and garbage dropped.
#include <utility>  // before Asio (Boost 1.74 + C++20)

#include "media/transport/udp_mux.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace liveroom::media {
namespace {

namespace net = boost::asio;
using udp = net::ip::udp;

struct Received {
  PacketKind kind;
  std::vector<uint8_t> bytes;
  UdpEndpoint from;
};

class RecordingSession : public UdpMux::Session {
 public:
  void onDatagram(PacketKind kind, uint8_t* data, size_t size, const UdpEndpoint& from) override {
    got.push_back({kind, std::vector<uint8_t>(data, data + size), from});
  }
  std::vector<Received> got;
};

std::vector<uint8_t> bindingRequest(const std::string& username) {
  std::vector<uint8_t> out;
  stun::StunMessageWriter w(out);
  w.begin(stun::StunClass::Request, stun::kMethodBinding, stun::TransactionId{});
  w.addAttribute(stun::attr::kUsername, reinterpret_cast<const uint8_t*>(username.data()), username.size());
  w.addMessageIntegrity("pwd-pwd-pwd-pwd-pwd-pwd");
  w.addFingerprint();
  return out;
}

class UdpMuxTest : public ::testing::Test {
 protected:
  UdpMuxTest() : mux_(ioc_, "127.0.0.1", 0), peer_(ioc_, udp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    mux_.addSession("ufragA", &a_);
    mux_.addSession("ufragB", &b_);
  }
  // Sends from the peer socket and lets the mux handle it (bounded: one datagram).
  void deliver(const std::vector<uint8_t>& bytes) {
    peer_.send_to(net::buffer(bytes), udp::endpoint(net::ip::make_address("127.0.0.1"), mux_.port()));
    ioc_.run_one_for(std::chrono::seconds(5));
  }
  net::io_context ioc_;
  UdpMux mux_;
  udp::socket peer_;
  RecordingSession a_, b_;
};

TEST_F(UdpMuxTest, StunIsRoutedByIceUsername) {
  deliver(bindingRequest("ufragB:peer"));
  ASSERT_EQ(b_.got.size(), 1u);
  EXPECT_EQ(b_.got[0].kind, PacketKind::Stun);
  EXPECT_EQ(b_.got[0].from, peer_.local_endpoint());
  EXPECT_TRUE(a_.got.empty());
}

TEST_F(UdpMuxTest, MediaNeedsAValidatedTuple) {
  std::vector<uint8_t> rtp = {0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0xAB};
  std::vector<uint8_t> rtcp = {0x81, 201, 0, 1, 0, 0, 0, 9};
  std::vector<uint8_t> dtls = {22, 0xFE, 0xFD, 0, 0};
  deliver(rtp);
  EXPECT_TRUE(a_.got.empty());
  EXPECT_EQ(mux_.droppedDatagrams(), 1u);

  mux_.bindTuple(peer_.local_endpoint(), &a_);
  deliver(rtp);
  deliver(rtcp);
  deliver(dtls);
  ASSERT_EQ(a_.got.size(), 3u);
  EXPECT_EQ(a_.got[0].kind, PacketKind::Rtp);
  EXPECT_EQ(a_.got[0].bytes, rtp);
  EXPECT_EQ(a_.got[1].kind, PacketKind::Rtcp);
  EXPECT_EQ(a_.got[2].kind, PacketKind::Dtls);
}

TEST_F(UdpMuxTest, GarbageAndRemovedSessionsAreDropped) {
  deliver({0x40, 1, 2, 3});  // first byte in no RFC 7983 range
  deliver({});               // empty datagram
  deliver(bindingRequest("nobody:peer"));
  mux_.bindTuple(peer_.local_endpoint(), &a_);
  mux_.removeSession(&a_);
  deliver(bindingRequest("ufragA:peer"));
  deliver({0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9});
  EXPECT_TRUE(a_.got.empty());
  EXPECT_TRUE(b_.got.empty());
  EXPECT_EQ(mux_.droppedDatagrams(), 5u);
}

TEST_F(UdpMuxTest, SendReachesThePeer) {
  std::vector<uint8_t> bytes = {1, 2, 3, 4};
  mux_.send(bytes.data(), bytes.size(), peer_.local_endpoint());
  std::array<uint8_t, 16> in{};
  udp::endpoint from;
  size_t n = peer_.receive_from(net::buffer(in), from);
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(from.port(), mux_.port());
}

TEST(UdpMuxAddress, ConvertsBothWays) {
  UdpEndpoint v4(net::ip::make_address("192.0.2.7"), 5000);
  EXPECT_EQ(toUdpEndpoint(toTransportAddress(v4)), v4);
  UdpEndpoint v6(net::ip::make_address("2001:db8::1"), 6000);
  EXPECT_EQ(toUdpEndpoint(toTransportAddress(v6)), v6);
}

}  // namespace
}  // namespace liveroom::media

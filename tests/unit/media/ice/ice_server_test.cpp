// ICE-lite server: answers valid checks, rejects bad credentials, follows nominations,
// expires consent. Requests are built with the STUN writer as a browser would send them.
#include "media/ice/ice_server.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace liveroom::media {
namespace {

using stun::StunClass;
using stun::StunMessage;
using stun::StunMessageWriter;

struct Sent {
  std::vector<uint8_t> bytes;
  IceServer::Address to;
};

class RecordingListener : public IceServer::Listener {
 public:
  void onIceSend(const uint8_t* data, size_t size, const IceServer::Address& to) override {
    sent.push_back({std::vector<uint8_t>(data, data + size), to});
  }
  void onIceSelectedTuple(const IceServer::Address& tuple) override { selected.push_back(tuple); }
  void onIceDisconnected() override { ++disconnected; }
  std::vector<Sent> sent;
  std::vector<IceServer::Address> selected;
  int disconnected = 0;
};

std::vector<uint8_t> bindingRequest(const std::string& username, const std::string& key, bool use_candidate,
                                    uint8_t id = 1) {
  std::vector<uint8_t> out;
  StunMessageWriter w(out);
  stun::TransactionId txid{};
  txid.fill(id);
  w.begin(StunClass::Request, stun::kMethodBinding, txid);
  w.addAttribute(stun::attr::kUsername, reinterpret_cast<const uint8_t*>(username.data()), username.size());
  const uint8_t priority[4] = {0x6e, 0x7f, 0x1e, 0xff};
  w.addAttribute(stun::attr::kPriority, priority, sizeof priority);
  const uint8_t tiebreaker[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  w.addAttribute(stun::attr::kIceControlling, tiebreaker, sizeof tiebreaker);
  if (use_candidate) w.addAttribute(stun::attr::kUseCandidate, nullptr, 0);
  w.addMessageIntegrity(key);
  w.addFingerprint();
  return out;
}

class IceServerTest : public ::testing::Test {
 protected:
  bool feed(const std::vector<uint8_t>& bytes, const IceServer::Address& from) {
    auto msg = StunMessage::parse(bytes.data(), bytes.size());
    EXPECT_TRUE(msg);
    return msg && ice_.handleStun(*msg, from, now_);
  }
  RecordingListener listener_;
  IceServer ice_{listener_, "srvU", "server-password-0123456789", "peerU"};
  IceServer::Clock::time_point now_ = IceServer::Clock::time_point{} + std::chrono::hours(1);
  IceServer::Address nic_ = IceServer::Address::v4({192, 0, 2, 10}, 50000);
  IceServer::Address loopback_ = IceServer::Address::v4({127, 0, 0, 1}, 50001);
};

TEST_F(IceServerTest, ValidCheckIsAnsweredWithMappedAddressIntegrityAndFingerprint) {
  EXPECT_TRUE(feed(bindingRequest("srvU:peerU", "server-password-0123456789", false), nic_));
  ASSERT_EQ(listener_.sent.size(), 1u);
  EXPECT_EQ(listener_.sent[0].to, nic_);  // answered to the packet's source
  auto& bytes = listener_.sent[0].bytes;
  auto response = StunMessage::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->messageClass(), StunClass::SuccessResponse);
  EXPECT_EQ(response->xorMappedAddress(), nic_);
  EXPECT_TRUE(response->verifyIntegrity("server-password-0123456789"));
  EXPECT_TRUE(response->verifyFingerprint());
  // The first valid tuple carries media even before a nomination.
  EXPECT_EQ(ice_.state(), IceServer::State::Connected);
  EXPECT_EQ(ice_.selectedTuple(), nic_);
  EXPECT_TRUE(ice_.isValidatedTuple(nic_));
  EXPECT_FALSE(ice_.isValidatedTuple(loopback_));
}

TEST_F(IceServerTest, NominationMovesTheSelectedTuple) {
  feed(bindingRequest("srvU:peerU", "server-password-0123456789", false, 1), loopback_);
  feed(bindingRequest("srvU:peerU", "server-password-0123456789", false, 2), nic_);
  EXPECT_EQ(ice_.selectedTuple(), loopback_);  // no nomination yet: the first stays
  feed(bindingRequest("srvU:peerU", "server-password-0123456789", true, 3), nic_);
  EXPECT_EQ(ice_.selectedTuple(), nic_);
  EXPECT_EQ(listener_.selected, (std::vector<IceServer::Address>{loopback_, nic_}));
}

TEST_F(IceServerTest, WrongPasswordOrUsernameGets401AndChangesNothing) {
  EXPECT_FALSE(feed(bindingRequest("srvU:peerU", "wrong-password", true), nic_));
  EXPECT_FALSE(feed(bindingRequest("other:peerU", "server-password-0123456789", true), nic_));
  EXPECT_FALSE(feed(bindingRequest("srvU:intruder", "server-password-0123456789", true), nic_));
  ASSERT_EQ(listener_.sent.size(), 3u);
  for (auto& s : listener_.sent) {
    auto response = StunMessage::parse(s.bytes.data(), s.bytes.size());
    ASSERT_TRUE(response);
    EXPECT_EQ(response->messageClass(), StunClass::ErrorResponse);
    EXPECT_EQ(response->errorCode(), 401);
  }
  EXPECT_EQ(ice_.state(), IceServer::State::New);
  EXPECT_FALSE(ice_.selectedTuple());
  EXPECT_FALSE(ice_.isValidatedTuple(nic_));
}

TEST_F(IceServerTest, MissingIntegrityGets400) {
  std::vector<uint8_t> out;
  StunMessageWriter w(out);
  stun::TransactionId txid{};
  w.begin(StunClass::Request, stun::kMethodBinding, txid);
  const std::string user = "srvU:peerU";
  w.addAttribute(stun::attr::kUsername, reinterpret_cast<const uint8_t*>(user.data()), user.size());
  w.addFingerprint();
  EXPECT_FALSE(feed(out, nic_));
  ASSERT_EQ(listener_.sent.size(), 1u);
  auto response = StunMessage::parse(listener_.sent[0].bytes.data(), listener_.sent[0].bytes.size());
  EXPECT_EQ(response->errorCode(), 400);
}

TEST_F(IceServerTest, ConsentExpiresThirtySecondsAfterTheLastValidCheck) {
  feed(bindingRequest("srvU:peerU", "server-password-0123456789", true), nic_);
  ice_.checkConsent(now_ + std::chrono::seconds(29));
  EXPECT_EQ(listener_.disconnected, 0);
  now_ += std::chrono::seconds(20);
  feed(bindingRequest("srvU:peerU", "server-password-0123456789", true, 2), nic_);  // refreshes consent
  ice_.checkConsent(now_ + std::chrono::seconds(29));
  EXPECT_EQ(listener_.disconnected, 0);
  ice_.checkConsent(now_ + std::chrono::seconds(30));
  EXPECT_EQ(listener_.disconnected, 1);
  EXPECT_EQ(ice_.state(), IceServer::State::Disconnected);
  // A closed session answers nothing more.
  size_t sent = listener_.sent.size();
  EXPECT_FALSE(feed(bindingRequest("srvU:peerU", "server-password-0123456789", true, 3), nic_));
  EXPECT_EQ(listener_.sent.size(), sent);
}

TEST_F(IceServerTest, RestartUsesTheNewCredentials) {
  ice_.restart("newU", "new-password-abcdefghijkl", "peer2");
  EXPECT_FALSE(feed(bindingRequest("srvU:peerU", "server-password-0123456789", true), nic_));
  EXPECT_TRUE(feed(bindingRequest("newU:peer2", "new-password-abcdefghijkl", true, 2), nic_));
}

TEST_F(IceServerTest, NonRequestsAndBadFingerprintsAreDropped) {
  auto request = bindingRequest("srvU:peerU", "server-password-0123456789", true);
  request.back() ^= 0xFF;  // corrupt the FINGERPRINT value
  auto msg = StunMessage::parse(request.data(), request.size());
  if (msg) {
    EXPECT_FALSE(ice_.handleStun(*msg, nic_, now_));
  }
  std::vector<uint8_t> indication;
  StunMessageWriter w(indication);
  w.begin(StunClass::Indication, stun::kMethodBinding, stun::TransactionId{});
  w.addFingerprint();
  auto ind = StunMessage::parse(indication.data(), indication.size());
  ASSERT_TRUE(ind);
  EXPECT_FALSE(ice_.handleStun(*ind, nic_, now_));
  EXPECT_TRUE(listener_.sent.empty());
}

}  // namespace
}  // namespace liveroom::media

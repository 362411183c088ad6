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

namespace liveroom::media {
namespace {

// Issue 12, fast start: the first valid check from a tuple is checked back at once (a triggered
// check as the controlled side), so a peer that nominates on a timer against a lite agent (Pion,
// every 200 ms) nominates now. Once per tuple; none for a check that already nominates.
class IceTriggeredCheckTest : public ::testing::Test {
 protected:
  bool feed(const std::vector<uint8_t>& bytes, const IceServer::Address& from) {
    auto msg = StunMessage::parse(bytes.data(), bytes.size());
    EXPECT_TRUE(msg);
    return msg && ice_.handleStun(*msg, from, now_);
  }
  std::vector<StunMessage> requestsSent() {
    std::vector<StunMessage> out;
    for (const Sent& s : listener_.sent) {
      auto m = StunMessage::parse(s.bytes.data(), s.bytes.size());
      if (m && m->isBindingRequest()) out.push_back(*m);
    }
    return out;
  }
  RecordingListener listener_;
  IceServer ice_{listener_, "srvU", "server-password-0123456789", "peerU", "peer-password-abcdefghijkl"};
  IceServer::Clock::time_point now_ = IceServer::Clock::time_point{} + std::chrono::hours(1);
  IceServer::Address nic_ = IceServer::Address::v4({192, 0, 2, 10}, 50000);
  IceServer::Address other_ = IceServer::Address::v4({192, 0, 2, 11}, 50002);
};

TEST_F(IceTriggeredCheckTest, TheFirstCheckFromATupleIsCheckedBackSignedWithThePeersPassword) {
  ASSERT_TRUE(feed(bindingRequest("srvU:peerU", "server-password-0123456789", false), nic_));
  ASSERT_EQ(listener_.sent.size(), 2u);
  EXPECT_EQ(StunMessage::parse(listener_.sent[0].bytes.data(), listener_.sent[0].bytes.size())->messageClass(),
            StunClass::SuccessResponse)
      << "the answer goes first";
  EXPECT_EQ(listener_.sent[1].to, nic_);
  const auto requests = requestsSent();
  ASSERT_EQ(requests.size(), 1u);
  const StunMessage& check = requests[0];
  EXPECT_EQ(check.username(), "peerU:srvU");
  EXPECT_TRUE(check.verifyIntegrity("peer-password-abcdefghijkl"));
  EXPECT_FALSE(check.verifyIntegrity("server-password-0123456789"));
  EXPECT_TRUE(check.verifyFingerprint());
  EXPECT_TRUE(check.iceControlled().has_value());
  EXPECT_FALSE(check.iceControlling().has_value());
  EXPECT_FALSE(check.useCandidate());
  EXPECT_EQ(check.priority(), (110u << 24) | (65535u << 8) | 255u);
  EXPECT_EQ(ice_.triggeredChecks(), 1u);

  // The same tuple again (retransmits, consent checks): answered, not checked back again.
  ASSERT_TRUE(feed(bindingRequest("srvU:peerU", "server-password-0123456789", false, 2), nic_));
  ASSERT_TRUE(feed(bindingRequest("srvU:peerU", "server-password-0123456789", true, 3), nic_));
  EXPECT_EQ(requestsSent().size(), 1u);
  // A second tuple is checked back once too; the transaction ids differ.
  ASSERT_TRUE(feed(bindingRequest("srvU:peerU", "server-password-0123456789", false, 4), other_));
  const auto both = requestsSent();
  ASSERT_EQ(both.size(), 2u);
  EXPECT_NE(both[0].transactionId(), both[1].transactionId());
  EXPECT_EQ(both[0].iceControlled(), both[1].iceControlled()) << "one tie-breaker per agent";
}

TEST_F(IceTriggeredCheckTest, NoneForANominatingCheckABadCheckOrWithoutThePeersPassword) {
  ASSERT_TRUE(feed(bindingRequest("srvU:peerU", "server-password-0123456789", true), nic_));
  EXPECT_TRUE(requestsSent().empty()) << "USE-CANDIDATE: the peer has chosen already";
  EXPECT_FALSE(feed(bindingRequest("srvU:peerU", "wrong-password", false, 2), other_));
  EXPECT_TRUE(requestsSent().empty()) << "an unauthenticated check is never checked back";

  RecordingListener quiet;
  IceServer no_pwd(quiet, "srvU", "server-password-0123456789", "peerU");
  const auto bytes = bindingRequest("srvU:peerU", "server-password-0123456789", false);
  ASSERT_TRUE(no_pwd.handleStun(*StunMessage::parse(bytes.data(), bytes.size()), nic_, now_));
  EXPECT_EQ(quiet.sent.size(), 1u);
  EXPECT_EQ(no_pwd.triggeredChecks(), 0u);
}

}  // namespace
}  // namespace liveroom::media

// DtlsTransport: full DTLS-SRTP handshakes between two in-memory transports, profile
// negotiation, fingerprint checks, loss and retransmission, garbage input, close_notify.
#include "media/dtls/dtls_transport.hpp"

#include "unit/media/dtls/dtls_loopback.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <random>

namespace liveroom::media {
namespace {

using testing::Datagram;
using testing::DtlsLoopback;
using testing::fastTimerOptions;
using testing::Side;

void expectMatchingKeys(const DtlsLoopback& loop, SrtpProfile profile) {
  EXPECT_EQ(loop.clientEnd.profile, profile);
  EXPECT_EQ(loop.serverEnd.profile, profile);
  EXPECT_EQ(loop.clientEnd.local, loop.serverEnd.remote);
  EXPECT_EQ(loop.clientEnd.remote, loop.serverEnd.local);
  EXPECT_NE(loop.clientEnd.local, loop.clientEnd.remote);
  EXPECT_EQ(loop.clientEnd.local.key.size(), srtpMasterKeyLength(profile));
  EXPECT_EQ(loop.clientEnd.local.salt.size(), srtpMasterSaltLength(profile));
  EXPECT_EQ(loop.clientEnd.remote.key.size(), srtpMasterKeyLength(profile));
  EXPECT_EQ(loop.clientEnd.remote.salt.size(), srtpMasterSaltLength(profile));
}

TEST(DtlsTransportTest, HandshakeWithDefaultProfilesPrefersGcm) {
  DtlsLoopback loop;
  ASSERT_TRUE(loop.handshake());
  EXPECT_EQ(loop.client->state(), DtlsTransport::State::Connected);
  EXPECT_EQ(loop.server->state(), DtlsTransport::State::Connected);
  EXPECT_FALSE(loop.anyFailed());
  expectMatchingKeys(loop, SrtpProfile::AeadAes128Gcm);
}

TEST(DtlsTransportTest, ClientOfferingOnlyAesCmGetsAesCm) {
  DtlsTransport::Options client;
  client.srtpProfiles = {SrtpProfile::AesCm128HmacSha1_80};
  DtlsLoopback loop(client);
  ASSERT_TRUE(loop.handshake());
  expectMatchingKeys(loop, SrtpProfile::AesCm128HmacSha1_80);
}

TEST(DtlsTransportTest, ClientOfferingOnlyGcmGetsGcm) {
  DtlsTransport::Options client;
  client.srtpProfiles = {SrtpProfile::AeadAes128Gcm};
  DtlsLoopback loop(client);
  ASSERT_TRUE(loop.handshake());
  expectMatchingKeys(loop, SrtpProfile::AeadAes128Gcm);
}

TEST(DtlsTransportTest, NoCommonSrtpProfileFails) {
  DtlsTransport::Options client;
  client.srtpProfiles = {SrtpProfile::AesCm128HmacSha1_80};
  DtlsTransport::Options server;
  server.srtpProfiles = {SrtpProfile::AeadAes128Gcm};
  DtlsLoopback loop(client, server);
  EXPECT_FALSE(loop.handshake());
  ASSERT_TRUE(loop.anyFailed());
  EXPECT_FALSE(loop.clientEnd.connected);
  EXPECT_FALSE(loop.serverEnd.connected);
}

TEST(DtlsTransportTest, HandshakeDatagramsFitTheMtu) {
  DtlsLoopback loop;
  ASSERT_TRUE(loop.handshake());
  for (const auto* end : {&loop.clientEnd, &loop.serverEnd}) {
    ASSERT_FALSE(end->sentSizes.empty());
    for (size_t size : end->sentSizes) EXPECT_LE(size, 1200u);
  }
}

TEST(DtlsTransportTest, ServerCheckingAWrongFingerprintFails) {
  const DtlsCertificate stranger = DtlsCertificate::generate();
  DtlsTransport::Options server;
  server.remoteFingerprint = stranger.fingerprint();
  DtlsLoopback loop({}, server);
  EXPECT_FALSE(loop.handshake());
  ASSERT_TRUE(loop.serverEnd.failure.has_value());
  EXPECT_NE(loop.serverEnd.failure->find("fingerprint"), std::string::npos) << *loop.serverEnd.failure;
  EXPECT_FALSE(loop.serverEnd.connected);
  EXPECT_EQ(loop.server->state(), DtlsTransport::State::Failed);
  // The server's bad_certificate alert reaches the client.
  ASSERT_TRUE(loop.clientEnd.failure.has_value());
  EXPECT_NE(loop.clientEnd.failure->find("alert"), std::string::npos) << *loop.clientEnd.failure;
  EXPECT_FALSE(loop.clientEnd.connected);
  // A failed transport has no timer to run and ignores further datagrams.
  EXPECT_FALSE(loop.server->nextTimeout().has_value());
  const std::vector<uint8_t> late(40, 22);
  loop.server->feed(late.data(), late.size());
  EXPECT_TRUE(loop.serverEnd.outbox.empty());
}

TEST(DtlsTransportTest, ClientCheckingAWrongFingerprintFails) {
  const DtlsCertificate stranger = DtlsCertificate::generate();
  DtlsTransport::Options client;
  client.remoteFingerprint = stranger.fingerprint();
  DtlsLoopback loop(client);
  EXPECT_FALSE(loop.handshake());
  ASSERT_TRUE(loop.clientEnd.failure.has_value());
  EXPECT_NE(loop.clientEnd.failure->find("fingerprint"), std::string::npos) << *loop.clientEnd.failure;
  EXPECT_FALSE(loop.clientEnd.connected);
  EXPECT_FALSE(loop.serverEnd.connected);
}

// Issue 12: one context (one SSL_CTX) serves every association of the media server; each still
// checks its own peer's fingerprint, and the context may go before the associations.
TEST(DtlsTransportTest, AssociationsSharingOneContextEachCheckTheirOwnPeer) {
  auto shared = std::make_unique<DtlsContext>(DtlsCertificate::generate());
  DtlsLoopback a({}, {}, shared.get());
  DtlsLoopback b({}, {}, shared.get());
  const DtlsCertificate stranger = DtlsCertificate::generate();
  DtlsTransport::Options expectsStranger;
  expectsStranger.remoteFingerprint = stranger.fingerprint();
  DtlsLoopback c({}, expectsStranger, shared.get());
  shared.reset();  // the associations hold their own reference
  ASSERT_TRUE(a.handshake());
  ASSERT_TRUE(b.handshake());
  EXPECT_FALSE(c.handshake());
  ASSERT_TRUE(c.serverEnd.failure.has_value());
  EXPECT_NE(c.serverEnd.failure->find("fingerprint"), std::string::npos) << *c.serverEnd.failure;
  EXPECT_EQ(a.server->state(), DtlsTransport::State::Connected);
  EXPECT_EQ(b.server->state(), DtlsTransport::State::Connected);
}

TEST(DtlsTransportTest, FingerprintComparisonIgnoresCase) {
  DtlsLoopback loop;
  std::string lower = loop.serverContext.certificate().fingerprint();
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  ASSERT_TRUE(loop.client->setRemoteFingerprint(lower));
  ASSERT_TRUE(loop.handshake());
}

TEST(DtlsTransportTest, MalformedFingerprintsAreRejected) {
  const DtlsContext context(DtlsCertificate::generate());
  const DtlsCertificate& certificate = context.certificate();
  testing::DtlsEndpoint end;
  DtlsTransport transport(context, {}, end);
  EXPECT_FALSE(transport.setRemoteFingerprint(""));
  EXPECT_FALSE(transport.setRemoteFingerprint("AB:CD"));  // no SDP hash is 2 bytes long
  std::string bad = certificate.fingerprint();
  bad[0] = 'G';
  EXPECT_FALSE(transport.setRemoteFingerprint(bad));
  bad = certificate.fingerprint();
  bad[2] = '-';
  EXPECT_FALSE(transport.setRemoteFingerprint(bad));
  EXPECT_TRUE(transport.setRemoteFingerprint(certificate.fingerprint()));

  DtlsTransport::Options options;
  options.remoteFingerprint = "not a fingerprint";
  EXPECT_THROW(DtlsTransport(context, options, end), std::invalid_argument);
  options = {};
  options.srtpProfiles.clear();
  EXPECT_THROW(DtlsTransport(context, options, end), std::invalid_argument);
}

TEST(DtlsTransportTest, MissingRemoteFingerprintFails) {
  DtlsLoopback loop;
  DtlsTransport::Options server = fastTimerOptions();
  server.role = DtlsTransport::Role::Server;
  // A server built without any fingerprint cannot accept a certificate.
  testing::DtlsEndpoint serverEnd;
  DtlsTransport blind(loop.serverContext, server, serverEnd);
  loop.client->start();
  for (int i = 0; i < 10 && !serverEnd.failure; ++i) {
    for (const Datagram& d : loop.clientEnd.outbox) blind.feed(d.data(), d.size());
    loop.clientEnd.outbox.clear();
    for (const Datagram& d : serverEnd.outbox) loop.client->feed(d.data(), d.size());
    serverEnd.outbox.clear();
  }
  ASSERT_TRUE(serverEnd.failure.has_value());
  EXPECT_NE(serverEnd.failure->find("fingerprint"), std::string::npos) << *serverEnd.failure;
}

TEST(DtlsTransportTest, LostClientHelloIsRetransmitted) {
  DtlsLoopback loop(fastTimerOptions(), fastTimerOptions());
  bool dropped = false;
  auto dropFirstClientDatagram = [&](Side from, const Datagram&) {
    if (from == Side::Client && !dropped) {
      dropped = true;
      return false;
    }
    return true;
  };
  loop.client->start();
  ASSERT_TRUE(loop.client->nextTimeout().has_value());
  EXPECT_LE(*loop.client->nextTimeout(), std::chrono::milliseconds(20));
  loop.pump(dropFirstClientDatagram);
  EXPECT_TRUE(dropped);
  EXPECT_FALSE(loop.clientEnd.connected);
  ASSERT_TRUE(loop.handshake(dropFirstClientDatagram));
  expectMatchingKeys(loop, SrtpProfile::AeadAes128Gcm);
}

TEST(DtlsTransportTest, LostServerFlightsAreRetransmitted) {
  DtlsLoopback loop(fastTimerOptions(), fastTimerOptions());
  // Drop the server's first two batches of datagrams (its hello flight, then the retransmission).
  int serverBatchesToDrop = 2;
  size_t lastServerSent = 0;
  auto filter = [&](Side from, const Datagram&) {
    if (from != Side::Server) return true;
    if (loop.serverEnd.sentSizes.size() != lastServerSent) {
      lastServerSent = loop.serverEnd.sentSizes.size();
      --serverBatchesToDrop;
    }
    return serverBatchesToDrop < 0;
  };
  ASSERT_TRUE(loop.handshake(filter));
  expectMatchingKeys(loop, SrtpProfile::AeadAes128Gcm);
}

TEST(DtlsTransportTest, GarbageAndTruncatedDatagramsDoNotDerailTheHandshake) {
  DtlsLoopback loop;
  std::mt19937 random(1234);
  std::vector<Datagram> garbage;
  for (int i = 0; i < 50; ++i) {
    Datagram d(random() % 300);
    for (auto& b : d) b = static_cast<uint8_t>(random());
    if (!d.empty() && i % 2 == 0) d[0] = 22;  // looks like a handshake record to the demuxer
    if (d.size() > 2 && i % 4 == 0) {         // and a DTLS 1.2 version
      d[1] = 0xFE;
      d[2] = 0xFD;
    }
    garbage.push_back(std::move(d));
  }
  size_t next = 0;
  auto noisy = [&](Side from, const Datagram& real) {
    DtlsTransport& to = from == Side::Client ? *loop.server : *loop.client;
    for (int i = 0; i < 3; ++i, ++next) {
      const Datagram& g = garbage[next % garbage.size()];
      to.feed(g.data(), g.size());
    }
    // Every prefix of the real datagram shorter than it.
    for (size_t cut = 0; cut < real.size(); cut += 7) to.feed(real.data(), cut);
    to.feed(nullptr, 0);
    return true;
  };
  ASSERT_TRUE(loop.handshake(noisy));
  EXPECT_FALSE(loop.anyFailed()) << loop.clientEnd.failure.value_or("") << loop.serverEnd.failure.value_or("");
  expectMatchingKeys(loop, SrtpProfile::AeadAes128Gcm);

  // After the handshake, garbage is still harmless.
  for (const Datagram& g : garbage) {
    loop.client->feed(g.data(), g.size());
    loop.server->feed(g.data(), g.size());
  }
  EXPECT_EQ(loop.client->state(), DtlsTransport::State::Connected);
  EXPECT_EQ(loop.server->state(), DtlsTransport::State::Connected);
}

TEST(DtlsTransportTest, InvalidRecordsAfterTheHandshakeAreDiscarded) {
  DtlsLoopback loop;
  ASSERT_TRUE(loop.handshake());
  // Junk records with a DTLS 1.2 header, in the handshake's epoch (0) and the current one
  // (1): application data, handshake, alert; bodies too short and of plausible length.
  for (uint8_t epoch : {uint8_t{0}, uint8_t{1}}) {
    for (uint8_t type : {uint8_t{23}, uint8_t{22}, uint8_t{21}}) {
      for (uint8_t body : {uint8_t{4}, uint8_t{40}}) {
        Datagram junk = {type, 0xFE, 0xFD, 0, epoch, 0, 0, 0, 0, 0, 9, 0, body};
        for (uint8_t i = 0; i < body; ++i) junk.push_back(static_cast<uint8_t>(i * 37 + type));
        loop.server->feed(junk.data(), junk.size());
        loop.client->feed(junk.data(), junk.size());
      }
    }
  }
  EXPECT_EQ(loop.server->state(), DtlsTransport::State::Connected) << loop.serverEnd.failure.value_or("");
  EXPECT_EQ(loop.client->state(), DtlsTransport::State::Connected) << loop.clientEnd.failure.value_or("");
  EXPECT_FALSE(loop.anyFailed());
}

TEST(DtlsTransportTest, ServerStartsOnFirstDatagram) {
  DtlsLoopback loop;
  loop.client->start();  // server->start() never called
  loop.pump();
  EXPECT_TRUE(loop.bothConnected());
}

TEST(DtlsTransportTest, ClientIgnoresDatagramsBeforeStart) {
  DtlsLoopback loop;
  const std::vector<uint8_t> hello(40, 22);
  loop.client->feed(hello.data(), hello.size());
  EXPECT_EQ(loop.client->state(), DtlsTransport::State::New);
  EXPECT_TRUE(loop.clientEnd.outbox.empty());
}

TEST(DtlsTransportTest, CloseNotifyReachesThePeer) {
  DtlsLoopback loop;
  ASSERT_TRUE(loop.handshake());
  loop.client->close();
  EXPECT_EQ(loop.client->state(), DtlsTransport::State::Closed);
  EXPECT_FALSE(loop.clientEnd.outbox.empty());  // the close_notify alert
  loop.pump();
  EXPECT_TRUE(loop.serverEnd.closed);
  EXPECT_EQ(loop.server->state(), DtlsTransport::State::Closed);
  EXPECT_FALSE(loop.serverEnd.failure.has_value());
  EXPECT_FALSE(loop.clientEnd.closed);  // a local close is not reported back
  loop.client->close();                 // idempotent
}

TEST(DtlsTransportTest, NoTimerBeforeStart) {
  DtlsLoopback loop;
  EXPECT_FALSE(loop.client->nextTimeout().has_value());
  EXPECT_FALSE(loop.server->nextTimeout().has_value());
  loop.client->handleTimeout();  // harmless before start
  EXPECT_TRUE(loop.clientEnd.outbox.empty());
}

}  // namespace
}  // namespace liveroom::media

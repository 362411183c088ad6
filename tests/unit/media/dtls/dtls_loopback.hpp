// Test harness: a client and a server DtlsTransport wired to each other in memory. Each side's
// datagrams are queued and delivered by pump(), so tests can drop, corrupt or reorder them.
#pragma once

#include "media/dtls/dtls_certificate.hpp"
#include "media/dtls/dtls_transport.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace liveroom::media::testing {

using Datagram = std::vector<uint8_t>;

struct DtlsEndpoint : DtlsTransport::Listener {
  std::deque<Datagram> outbox;
  std::vector<size_t> sentSizes;
  bool connected = false;
  bool closed = false;
  std::optional<std::string> failure;
  SrtpProfile profile = SrtpProfile::AesCm128HmacSha1_80;
  SrtpKeys local;
  SrtpKeys remote;

  void onDtlsSend(const uint8_t* data, size_t size) override {
    outbox.emplace_back(data, data + size);
    sentSizes.push_back(size);
  }
  void onDtlsConnected(SrtpProfile p, const SrtpKeys& l, const SrtpKeys& r) override {
    connected = true;
    profile = p;
    local = l;
    remote = r;
  }
  void onDtlsFailed(const std::string& reason) override { failure = reason; }
  void onDtlsClosed() override { closed = true; }
};

enum class Side { Client, Server };

class DtlsLoopback {
 public:
  // Called for each datagram before delivery; returning false drops it.
  using Filter = std::function<bool(Side from, const Datagram&)>;

  // Fingerprints are crossed automatically unless the options already carry one. The server side
  // uses `sharedServer` when given (one context for many associations, as the media server does).
  DtlsLoopback(DtlsTransport::Options clientOptions = {}, DtlsTransport::Options serverOptions = {},
               const DtlsContext* sharedServer = nullptr)
      : clientContext(DtlsCertificate::generate()), serverContext(DtlsCertificate::generate()) {
    const DtlsContext& serverSide = sharedServer != nullptr ? *sharedServer : serverContext;
    clientOptions.role = DtlsTransport::Role::Client;
    serverOptions.role = DtlsTransport::Role::Server;
    if (clientOptions.remoteFingerprint.empty())
      clientOptions.remoteFingerprint = serverSide.certificate().fingerprint();
    if (serverOptions.remoteFingerprint.empty())
      serverOptions.remoteFingerprint = clientContext.certificate().fingerprint();
    client = std::make_unique<DtlsTransport>(clientContext, clientOptions, clientEnd);
    server = std::make_unique<DtlsTransport>(serverSide, serverOptions, serverEnd);
  }

  // Delivers queued datagrams both ways until none are left (bounded); returns true if anything moved.
  bool pump(const Filter& filter = {}) {
    bool moved = false;
    for (int round = 0; round < 100 && (!clientEnd.outbox.empty() || !serverEnd.outbox.empty()); ++round) {
      moved = true;
      deliver(clientEnd, *server, Side::Client, filter);
      deliver(serverEnd, *client, Side::Server, filter);
    }
    return moved;
  }

  bool bothConnected() const { return clientEnd.connected && serverEnd.connected; }
  bool anyFailed() const { return clientEnd.failure.has_value() || serverEnd.failure.has_value(); }

  // Start and pump; when traffic stops before the handshake ends, run the retransmission timers
  // (kept short by the options) a bounded number of times.
  bool handshake(const Filter& filter = {}, int maxTimerRounds = 20) {
    client->start();
    server->start();
    pump(filter);
    for (int i = 0; i < maxTimerRounds && !bothConnected() && !anyFailed(); ++i) {
      fireTimers();
      pump(filter);
    }
    return bothConnected();
  }

  void fireTimers() {
    std::optional<std::chrono::milliseconds> wait;
    for (DtlsTransport* t : {client.get(), server.get()}) {
      if (auto next = t->nextTimeout(); next && (!wait || *next < *wait)) wait = next;
    }
    if (!wait) return;
    // Timers are tens of milliseconds in these tests; the cap keeps a mistake from hanging them.
    std::this_thread::sleep_for(std::min(*wait, std::chrono::milliseconds(500)) + std::chrono::milliseconds(1));
    client->handleTimeout();
    server->handleTimeout();
  }

  DtlsContext clientContext;
  DtlsContext serverContext;
  DtlsEndpoint clientEnd;
  DtlsEndpoint serverEnd;
  std::unique_ptr<DtlsTransport> client;
  std::unique_ptr<DtlsTransport> server;

 private:
  static void deliver(DtlsEndpoint& from, DtlsTransport& to, Side side, const Filter& filter) {
    std::deque<Datagram> batch;
    batch.swap(from.outbox);
    for (const Datagram& d : batch) {
      if (!filter || filter(side, d)) to.feed(d.data(), d.size());
    }
  }
};

// Options with a short first retransmission timeout so loss tests run fast.
inline DtlsTransport::Options fastTimerOptions(std::vector<SrtpProfile> profiles = {SrtpProfile::AeadAes128Gcm,
                                                                                    SrtpProfile::AesCm128HmacSha1_80}) {
  DtlsTransport::Options options;
  options.srtpProfiles = std::move(profiles);
  options.initialRetransmitTimeout = std::chrono::milliseconds(20);
  return options;
}

}  // namespace liveroom::media::testing

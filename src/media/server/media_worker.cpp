// One media thread: its ports, sessions and per-input routing (see media_worker.hpp).
#include "media/server/media_worker.hpp"

#include "media/transport/interfaces.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include <boost/asio/ip/address.hpp>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "common/event_loop.hpp"

namespace liveroom::media {

namespace {

constexpr std::chrono::milliseconds kTimerPeriod{50};              // transport-cc feedback
constexpr uint64_t kTicksPerTransportTick = 5;                     // 250 ms: ICE consent, DTLS timers, stats snapshot
constexpr auto kHeldFrameTimeout = std::chrono::milliseconds(20);  // see InputRouter
constexpr uint64_t kTicksPerReport = 20;                           // 1 s: RR + REMB to publishers, SR to viewers

thread_local MediaWorker* current_worker = nullptr;

void addTransport(PacketMux::Stats& total, const PacketMux::Stats& s) {
  total.dropped_packets += s.dropped_packets;
  total.tcp_connections += s.tcp_connections;
  total.tcp_refused += s.tcp_refused;
  total.udp_received += s.udp_received;
  total.udp_receive_calls += s.udp_receive_calls;
  total.udp_kernel_drops += s.udp_kernel_drops;
  total.udp_truncated += s.udp_truncated;
  total.udp_sent += s.udp_sent;
  total.udp_send_calls += s.udp_send_calls;
  total.udp_send_dropped += s.udp_send_dropped;
  total.udp_send_errors += s.udp_send_errors;
  total.udp_gso_messages += s.udp_gso_messages;
  total.udp_ports += s.udp_ports;
  total.udp_gso_ports += s.udp_gso_ports;
  if (s.udp_gso_error != 0) total.udp_gso_error = s.udp_gso_error;
  total.udp_receive_buffer = std::max(total.udp_receive_buffer, s.udp_receive_buffer);
  total.udp_send_buffer = std::max(total.udp_send_buffer, s.udp_send_buffer);
}

}  // namespace

void addWorkerStats(MediaWorker::Stats& total, const MediaWorker::Stats& s) {
  total.sessions += s.sessions;
  total.publishers += s.publishers;
  total.viewers += s.viewers;
  total.inputs += s.inputs;
  total.retransmissions += s.retransmissions;
  total.retransmissions_refused += s.retransmissions_refused;
  total.publisher_nacked += s.publisher_nacked;
  total.publisher_recovered += s.publisher_recovered;
  total.handoff_sent += s.handoff_sent;
  total.handoff_dropped += s.handoff_dropped;
  total.handoff_received += s.handoff_received;
  total.counters += s.counters;
  addTransport(total.transport, s.transport);
}

MediaWorker::MediaWorker(MediaWorkerOptions options, WorkerHost& host, const DtlsContext& dtls)
    : options_(std::move(options)), host_(host), dtls_(dtls), work_(boost::asio::make_work_guard(ioc_)), timer_(ioc_) {
  mux_ = std::make_unique<PacketMux>(ioc_, options_.mux);
  udp_port_ = mux_->udpPort();
  tcp_port_ = mux_->tcpPort();
  ipv6_ = mux_->ipv6();
  if (!options_.advertised_addresses.empty()) {
    addresses_ = options_.advertised_addresses;
  } else if (options_.mux.bind_address == "0.0.0.0") {
    addresses_ = localInterfaceAddresses(ipv6_);
  } else {
    addresses_ = {options_.mux.bind_address};
  }
  snapshot_.transport = mux_->stats();
  scheduleTimer();
  thread_ = std::thread([this] {
    current_worker = this;
    // The last line of defence: sessions catch their own failures.
    runLoopSurvivingErrors(ioc_, "media worker " + std::to_string(options_.index));
  });
}

MediaWorker::~MediaWorker() { stop(); }

MediaWorker* MediaWorker::current() noexcept { return current_worker; }

void MediaWorker::stop() {
  if (!thread_.joinable()) return;
  boost::asio::post(ioc_, [this] {
    // Sessions unregister from the mux when destroyed: before it goes. Closing the socket then
    // ends the pending receive, the last work keeping the io_context running.
    for (auto& [id, session] : sessions_) session->close();
    sessions_.clear();
    input_of_.clear();
    inputs_.clear();
    retired_.clear();
    mux_.reset();
    timer_.cancel();
    work_.reset();
    ioc_.stop();  // a receive that completed before the close must not run on the destroyed mux
  });
  thread_.join();
}

std::vector<sdp::LocalCandidate> MediaWorker::candidates() const {
  // RFC 8445 §5.1.2.1: priority = type preference (126: host) << 24 | local preference << 8 |
  // (256 - component 1). UDP first and higher (65535 down); ICE-TCP (RFC 6544 §4.2: passive)
  // after, from 32767 down, so a peer that can use UDP does.
  std::vector<sdp::LocalCandidate> out;
  uint32_t foundation = 0;
  const auto add = [&](bool tcp, uint16_t port, uint32_t base) {
    uint32_t local_preference = base;
    for (const std::string& address : addresses_) {
      if (address.find(':') != std::string::npos && !ipv6_) continue;  // no IPv6 socket to answer on
      const uint32_t priority = (126u << 24) | (local_preference << 8) | 255u;
      out.push_back({std::to_string(++foundation), priority, address, port, tcp});
      if (local_preference > 0) --local_preference;
    }
  };
  add(false, udp_port_, 65535);
  if (tcp_port_) add(true, *tcp_port_, 32767);
  return out;
}

MediaWorker::LocalInput& MediaWorker::input(const std::shared_ptr<InputHub>& hub) {
  auto& slot = inputs_[hub->id];
  if (!slot) slot = std::make_unique<LocalInput>(*this, hub);
  return *slot;
}

void MediaWorker::dropInputIfEmpty(LocalInput& in) {
  if (in.router.empty()) inputs_.erase(in.hub->id);
}

MediaWorker::LocalInput* MediaWorker::inputOf(const Session& session) {
  auto it = input_of_.find(&session);
  if (it == input_of_.end()) return nullptr;
  auto in = inputs_.find(it->second);
  return in == inputs_.end() ? nullptr : in->second.get();
}

Session& MediaWorker::adopt(std::unique_ptr<Session> session, const std::string& client_key, uint64_t hub_id) {
  session->transport().setConnectTimeout(options_.ice_connect_timeout);
  input_of_[session.get()] = hub_id;
  if (!client_key.empty()) session->setClientKey(client_key);
  Session& ref = *session;
  std::string id = session->id();
  sessions_.emplace(std::move(id), std::move(session));
  return ref;
}

SessionAnswer MediaWorker::answerFor(Session& session, const sdp::SessionDescription& offer,
                                     std::vector<sdp::AnswerSection> sections) const {
  for (const sdp::AnswerSection& s : sections) {
    if (!s.decision.accepted || s.decision.index >= offer.media.size()) continue;
    const sdp::MediaSection& m = offer.media[s.decision.index];
    if (m.mid.empty()) continue;
    session.setBundleHead({m.kind_name, m.proto, m.mid});
    break;
  }
  sdp::AnswerParams params;
  params.ice_ufrag = session.transport().localUfrag();
  params.ice_pwd = session.transport().localPwd();
  params.fingerprint_sha256 = session.transport().localFingerprint();
  params.candidates = candidates();
  params.sections = std::move(sections);
  return SessionAnswer{session.id(), session.etag(), sdp::buildAnswer(offer, params)};
}

std::string MediaWorker::iceRestartFragment(Session& session) const {
  const Session::BundleHead& head = session.bundleHead();
  return sdp::buildIceRestartFragment(session.transport().localUfrag(), session.transport().localPwd(), head.kind_name,
                                      head.proto, head.mid, candidates());
}

SessionAnswer MediaWorker::createPublisher(PublisherSetup setup, const sdp::SessionDescription& offer,
                                           std::vector<sdp::AnswerSection> sections) {
  if (!mux_ || closing_) throw Error(codes::kMediaUnavailable, "the media server is stopping");
  LocalInput& in = input(setup.hub);
  std::unique_ptr<PublisherSession> session;
  try {
    session = std::make_unique<PublisherSession>(setup.id, setup.hub->uid, static_cast<SessionEvents&>(*this), *mux_,
                                                 dtls_, std::move(setup.remote), *setup.source, in.router,
                                                 options_.remb_bps, options_.publisher_nack, options_.clock);
  } catch (...) {
    dropInputIfEmpty(in);
    throw;
  }
  SessionAnswer answer = answerFor(*session, offer, std::move(sections));
  in.router.setPublisher(session.get());
  in.generation = setup.generation;
  adopt(std::move(session), setup.client_key, setup.hub->id);
  return answer;
}

SessionAnswer MediaWorker::createViewer(ViewerSetup setup, const sdp::SessionDescription& offer,
                                        std::vector<sdp::AnswerSection> sections) {
  if (!mux_ || closing_) throw Error(codes::kMediaUnavailable, "the media server is stopping");
  LocalInput& in = input(setup.hub);
  std::unique_ptr<ViewerSession> session;
  try {
    rtp::RetransmissionLimiter::Options retransmit;
    retransmit.budget_bps = options_.viewer_retransmit_bps;
    session = std::make_unique<ViewerSession>(setup.id, setup.hub->uid, static_cast<SessionEvents&>(*this), *mux_,
                                              dtls_, std::move(setup.remote), std::move(setup.tracks), in.router,
                                              retransmit, options_.clock);
  } catch (...) {
    dropInputIfEmpty(in);
    throw;
  }
  SessionAnswer answer = answerFor(*session, offer, std::move(sections));
  const int publisher_worker = setup.hub->publisher_worker.load();
  if (in.router.source() == nullptr && publisher_worker >= 0 && static_cast<size_t>(publisher_worker) != index()) {
    refreshReplica(in, setup.hub->generation.load());
  }
  if (const MediaSource* source = in.router.source()) session->attachSource(*source);
  in.router.addViewer(session.get());
  adopt(std::move(session), setup.client_key, setup.hub->id);
  return answer;
}

Session* MediaWorker::find(const std::string& session_id) {
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

bool MediaWorker::end(const std::string& session_id) {
  Session* session = find(session_id);
  if (session == nullptr) return false;
  session->close();
  retire(*session);
  return true;
}

void MediaWorker::endInput(uint64_t hub_id) {
  auto it = inputs_.find(hub_id);
  if (it == inputs_.end()) return;
  InputRouter& router = it->second->router;
  std::vector<Session*> sessions(router.viewers().begin(), router.viewers().end());
  if (router.publisher() != nullptr) sessions.push_back(router.publisher());
  for (Session* s : sessions) {
    s->close();
    retire(*s);
  }
}

void MediaWorker::endAll(Session::Role role) {
  closing_ = true;  // a session admitted before the shutdown but made after it would outlive it
  scratch_.clear();
  for (auto& [id, session] : sessions_) {
    if (session->role() == role) scratch_.push_back(session.get());
  }
  for (Session* s : scratch_) {
    s->close();
    retire(*s);
  }
  scratch_.clear();
}

void MediaWorker::refreshReplica(LocalInput& in, uint64_t generation) {
  std::shared_ptr<const SourceDescription> description = in.hub->description(generation);
  if (!description) return;  // a publisher that is gone already
  std::weak_ptr<InputHub> hub = in.hub;
  in.router.setReplica(std::make_unique<ReplicaSource>(std::move(description), generation, [this, hub](int layer) {
    if (auto h = hub.lock()) askPublisherForKeyFrame(h, layer);
  }));
  in.router.attachViewers();
}

void MediaWorker::askPublisherForKeyFrame(const std::shared_ptr<InputHub>& hub, int layer) {
  const int p = hub->publisher_worker.load();
  if (p < 0 || static_cast<size_t>(p) == index()) return;
  MediaWorker& target = host_.worker(static_cast<size_t>(p));
  target.post([&target, hub, layer] {
    auto it = target.inputs_.find(hub->id);
    if (it == target.inputs_.end()) return;
    PublisherSession* publisher = it->second->router.publisher();
    if (publisher != nullptr && publisher->connected()) publisher->requestKeyFrame(target.options_.clock(), layer);
  });
}

void MediaWorker::handOff(InputHub& hub, uint64_t generation, sdp::MediaKind kind, size_t layer,
                          const rtp::RtpPacket& packet, bool key_frame_start) {
  if (hub.generation.load(std::memory_order_relaxed) != generation) return;  // replaced: ending here soon
  hub.last_media_ns.store(steadyNanos(options_.clock()), std::memory_order_relaxed);
  uint64_t targets = hub.viewer_workers.load(std::memory_order_acquire) & ~(uint64_t{1} << index());
  if (targets == 0 || packet.size() > rtp::RetransmissionBuffer::kMaxPacketSize) return;
  auto copy = std::make_shared<HandedPacket>();
  copy->input_id = hub.id;
  copy->generation = generation;
  copy->kind = kind;
  copy->layer = static_cast<uint8_t>(layer);
  copy->key_frame_start = key_frame_start;
  copy->size = static_cast<uint16_t>(packet.size());
  std::memcpy(copy->bytes.data(), packet.data(), packet.size());
  HandedPacketPtr shared = std::move(copy);
  if (links_.empty()) links_.resize(64);
  while (targets != 0) {
    const auto w = static_cast<size_t>(std::countr_zero(targets));
    targets &= targets - 1;
    std::unique_ptr<WorkerLink>& link = links_[w];
    if (!link) {
      // The wake names the link: the consumer drains it on its own thread.
      MediaWorker& consumer = host_.worker(w);
      link = std::make_unique<WorkerLink>(
          [&consumer](WorkerLink& l) { consumer.post([&consumer, &l] { consumer.drain(l); }); });
    }
    link->push(shared);
  }
}

void MediaWorker::drain(WorkerLink& link) {
  const auto now = options_.clock();
  handoff_received_ += link.drain([&](const HandedPacket& p) { take(p, now); });
}

void MediaWorker::take(const HandedPacket& p, Clock::time_point now) {
  auto it = inputs_.find(p.input_id);
  if (it == inputs_.end()) return;  // no viewers here any more
  LocalInput& in = *it->second;
  if (in.router.publisher() != nullptr) return;  // a packet of a publisher replaced by one here
  ReplicaSource* replica = in.router.replica();
  if (replica == nullptr || replica->generation() != p.generation) {
    refreshReplica(in, p.generation);
    replica = in.router.replica();
    if (replica == nullptr || replica->generation() != p.generation) return;
  }
  // Read-only: the same bytes are parsed on every worker they were handed to.
  auto packet = rtp::RtpPacket::parse(const_cast<uint8_t*>(p.bytes.data()), p.size);
  if (!packet) return;
  replica->onPacket(p.kind, p.layer, *packet, now);
  in.router.forwardLocal(p.kind, p.layer, *packet, now, p.key_frame_start);
}

void MediaWorker::onSessionConnected(Session& session) {
  LocalInput* in = inputOf(session);
  if (in == nullptr) return;
  InputRouter& router = in->router;
  const auto now = options_.clock();
  if (session.role() == Session::Role::Publisher) {
    if (router.publisher() != &session) return;  // replaced before it connected
    router.attachViewers();
    spdlog::info("media: input {}: publisher connected", router.uid());
    host_.onPublisherLive(*in->hub, session.id(), true);
  } else {
    if (const MediaSource* source = router.source()) {
      auto& viewer = static_cast<ViewerSession&>(session);
      viewer.attachSource(*source);
      // The new viewer's first frame should not wait for the next key frame: the latest one when
      // it is recent, else a new one.
      if (!router.replayRecentKeyFrame(viewer, now)) router.requestKeyFrame(now);
    }
    reportViewers(*in);
  }
}

void MediaWorker::onSessionClosed(Session& session, const std::string& reason) {
  spdlog::info("media: input {}: {} session {} closed: {}", session.inputUid(),
               session.role() == Session::Role::Publisher ? "publisher" : "viewer", session.id().substr(0, 8), reason);
  retire(session);
}

void MediaWorker::logRepairs(const PublisherSession& publisher) const {
  const PublisherTrack* video = publisher.track(sdp::MediaKind::kVideo);
  if (video == nullptr) return;
  for (const PublisherLayer& layer : video->layers) {
    if (!layer.nack || !layer.stats) continue;
    const auto& n = layer.nack->stats();
    spdlog::info(
        "media: input {}: publisher {} video{}{}: {} packets, NACKed {}, recovered {} ({} on RTX), given up {}",
        publisher.inputUid(), publisher.id().substr(0, 8), layer.rid.empty() ? "" : " layer ", layer.rid,
        layer.stats->packetsReceived(), n.requested, n.recovered, layer.rtx_received, n.given_up);
  }
}

void MediaWorker::reportViewers(LocalInput& in) { host_.onViewersHere(*in.hub, index(), in.router.connectedViewers()); }

void MediaWorker::retire(Session& session) {
  auto it = sessions_.find(session.id());
  if (it == sessions_.end()) return;
  std::unique_ptr<Session> owned = std::move(it->second);
  sessions_.erase(it);
  retired_counters_ += owned->counters();
  const std::string id = owned->id();
  LocalInput* in = inputOf(*owned);
  input_of_.erase(owned.get());
  if (in != nullptr) {
    // Keeps the hub alive past the input's removal below.
    const std::shared_ptr<InputHub> hub = in->hub;
    InputRouter& router = in->router;
    const bool was_publisher = router.publisher() == owned.get();
    const bool was_counted_viewer = owned->role() == Session::Role::Viewer && owned->everConnected();
    router.remove(owned.get());
    if (was_publisher) {
      if (owned->everConnected()) host_.onPublisherLive(*hub, id, false);
      logRepairs(static_cast<const PublisherSession&>(*owned));
    } else if (was_counted_viewer) {
      reportViewers(*in);
      const auto& viewer = static_cast<const ViewerSession&>(*owned);
      const auto r = viewer.retransmissionStats();
      if (r.sent + r.repeats + r.over_budget + viewer.nackedNotHeld() > 0) {
        spdlog::info(
            "media: input {}: viewer {} NACKs: resent {}, not held {}, asked again within an RTT {}, "
            "over budget {}",
            hub->uid, id.substr(0, 8), r.sent, viewer.nackedNotHeld(), r.repeats, r.over_budget);
      }
    }
    dropInputIfEmpty(*in);
  }
  host_.onSessionGone(index(), id);
  // Destroyed later: we may be inside one of its transport's callbacks right now.
  retired_.push_back(std::move(owned));
  if (retired_.size() == 1) boost::asio::post(ioc_, [this] { retired_.clear(); });
}

MediaWorker::Stats MediaWorker::collectStats() const {
  Stats s;
  s.sessions = sessions_.size();
  s.inputs = inputs_.size();
  if (mux_) s.transport = mux_->stats();
  for (const auto& link : links_) {
    if (!link) continue;
    s.handoff_sent += link->pushed();
    s.handoff_dropped += link->dropped();
  }
  s.handoff_received = handoff_received_;
  s.counters = retired_counters_;
  for (const auto& [id, session] : sessions_) {
    s.counters += session->counters();
    if (session->role() == Session::Role::Publisher) {
      ++s.publishers;
      const auto& publisher = static_cast<const PublisherSession&>(*session);
      for (sdp::MediaKind kind : {sdp::MediaKind::kVideo, sdp::MediaKind::kAudio}) {
        const PublisherTrack* t = publisher.track(kind);
        if (t == nullptr) continue;
        for (const PublisherLayer& layer : t->layers) {
          if (!layer.nack) continue;
          s.publisher_nacked += layer.nack->stats().requested;
          s.publisher_recovered += layer.nack->stats().recovered;
        }
      }
      continue;
    }
    ++s.viewers;
    const auto r = static_cast<const ViewerSession&>(*session).retransmissionStats();
    s.retransmissions += r.sent;
    s.retransmissions_refused += r.repeats + r.over_budget;
  }
  return s;
}

MediaWorker::Stats MediaWorker::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void MediaWorker::scheduleTimer() {
  timer_.expires_after(kTimerPeriod);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    onTimer();
    scheduleTimer();
  });
}

void MediaWorker::onTimer() {
  ++timer_ticks_;
  const auto now = options_.clock();
  // A snapshot: ticking may close sessions, which moves them out of sessions_ (they are
  // destroyed only later, so the pointers stay valid for this loop).
  scratch_.clear();
  for (auto& [id, session] : sessions_) scratch_.push_back(session.get());
  const bool transport_tick = timer_ticks_ % kTicksPerTransportTick == 0;
  const bool report_tick = timer_ticks_ % kTicksPerReport == 0;
  for (Session* s : scratch_) {
    if (s->failure()) {
      host_.onSessionFailed();
      spdlog::error("media: input {}: session {} ended by an internal error: {}", s->inputUid(), s->id().substr(0, 8),
                    *s->failure());
      retire(*s);
      continue;
    }
    if (s->closed()) continue;
    // One session's failure ends that session alone.
    try {
      s->onTimer(now, report_tick);
      if (transport_tick && !s->closed()) s->tick(now);
    } catch (const std::exception& e) {
      s->fail(std::string("internal error in a timer: ") + e.what());
    }
  }
  scratch_.clear();
  for (auto& [id, in] : inputs_) {
    // A frame whose last packet never came (lost, or the stream stopped) goes out as it is.
    in->router.releaseHeld(now, kHeldFrameTimeout);
    ReplicaSource* replica = in->router.replica();
    if (replica == nullptr) continue;
    replica->flushKeyFrameRequests(now);
    if (report_tick) replica->updateBitrates(now);
  }
  if (transport_tick && mux_) {
    mux_->tick(std::chrono::steady_clock::now());  // sockets' own timers: real time, like their clocks
    Stats fresh = collectStats();
    std::lock_guard lock(snapshot_mutex_);
    snapshot_ = std::move(fresh);
  }
}

}  // namespace liveroom::media

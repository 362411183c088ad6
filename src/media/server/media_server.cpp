// The embedded media server's facade and session registry (see media_server.hpp).
#include "media/server/media_server.hpp"

#include <algorithm>
#include <future>

#include <spdlog/spdlog.h>

#include "media/sdp/negotiation.hpp"
#include "media/sdp/session_description.hpp"
#include "media/sdp/trickle_fragment.hpp"
#include "media/server/offer_negotiation.hpp"

namespace liveroom::media {

namespace {

// Calls `done` with what `make` returns, or the error it throws (unexpected ones logged and
// answered media_unavailable).
template <typename Result, typename Make, typename Done>
void answerWith(const char* what, Make&& make, Done& done) {
  std::variant<Result, Error> result = Error(codes::kMediaUnavailable, "");
  try {
    result = make();
  } catch (const Error& e) {
    result = e;
  } catch (const std::invalid_argument& e) {
    result = Error(codes::kInvalidSdp, e.what());
  } catch (const std::exception& e) {
    spdlog::error("media: {} failed: {}", what, e.what());
    result = Error(codes::kMediaUnavailable, "the media server could not set up the session");
  }
  done(std::move(result));
}

}  // namespace

MediaServer::MediaServer(MediaServerOptions options, Listener* listener)
    : options_(std::move(options)), listener_(listener), dtls_(DtlsCertificate::generate()) {
  if (options_.workers == 0 || options_.workers > 64) {
    throw std::invalid_argument("the media server takes 1 to 64 workers");
  }
  sessions_on_worker_.assign(options_.workers, 0);
  for (size_t i = 0; i < options_.workers; ++i) {
    MediaWorkerOptions w;
    w.index = i;
    w.mux.bind_address = options_.bind_address;
    w.mux.udp_port = options_.port == 0 ? 0 : static_cast<uint16_t>(options_.port + i);
    if (options_.tcp_port) w.mux.tcp_port = *options_.tcp_port == 0 ? 0 : static_cast<uint16_t>(*options_.tcp_port + i);
    w.mux.max_tcp_connections = options_.max_sessions;
    w.mux.max_tcp_per_address =
        options_.max_sessions_per_client == 0 ? 0 : std::max<size_t>(16, options_.max_sessions_per_client);
    w.mux.tcp_validation_timeout = options_.ice_connect_timeout;
    w.mux.socket_buffer_bytes = options_.socket_buffer_bytes;
    w.mux.udp_gso = options_.udp_gso;
    w.recent_key_frame_age = options_.recent_key_frame_age;
    w.advertised_addresses = options_.advertised_addresses;
    w.remb_bps = options_.remb_bps;
    w.publisher_nack = options_.publisher_nack;
    w.viewer_retransmit_bps = options_.viewer_retransmit_bps;
    w.ice_connect_timeout = options_.ice_connect_timeout;
    w.clock = options_.clock;
    workers_.push_back(std::make_unique<MediaWorker>(std::move(w), static_cast<WorkerHost&>(*this), dtls_));
  }
}

MediaServer::~MediaServer() {
  shutdown();
  // Every thread stops before any worker goes: a worker's links are drained by the others.
  for (auto& w : workers_) w->stop();
  stopped_ = true;
  workers_.clear();
}

std::vector<uint16_t> MediaServer::ports() const {
  std::vector<uint16_t> out;
  for (const auto& w : workers_) out.push_back(w->udpPort());
  return out;
}

std::vector<uint16_t> MediaServer::tcpPorts() const {
  std::vector<uint16_t> out;
  for (const auto& w : workers_) {
    if (w->tcpPort()) out.push_back(*w->tcpPort());
  }
  return out;
}

template <typename F>
void MediaServer::onEveryWorker(F f) {
  std::vector<std::promise<void>> done(workers_.size());
  for (size_t i = 0; i < workers_.size(); ++i) {
    MediaWorker& w = *workers_[i];
    w.post([&w, &f, &promise = done[i]] {
      f(w);
      promise.set_value();
    });
  }
  for (auto& d : done) d.get_future().wait();
}

void MediaServer::shutdown() {
  if (stopped_) return;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
  }
  // Viewers first, so every room's count reaches 0 before its publisher goes.
  onEveryWorker([](MediaWorker& w) { w.endAll(Session::Role::Viewer); });
  onEveryWorker([](MediaWorker& w) { w.endAll(Session::Role::Publisher); });
}

std::shared_ptr<InputHub> MediaServer::hubFor(const std::string& input_uid) {
  auto& slot = hubs_[input_uid];
  if (!slot) slot = std::make_shared<InputHub>(input_uid, next_hub_id_++, workers_.size());
  return slot;
}

size_t MediaServer::pickWorker(const InputHub* viewer_of) const {
  const size_t least = static_cast<size_t>(std::min_element(sessions_on_worker_.begin(), sessions_on_worker_.end()) -
                                           sessions_on_worker_.begin());
  if (viewer_of == nullptr) return least;
  // A viewer goes to a worker that already carries its room when that one is at most
  // `viewer_placement_slack` sessions busier than the least loaded: there it can be sent the
  // room's latest key frame at once (InputRouter::replayRecentKeyFrame); elsewhere it waits for a
  // new one. Past the slack, viewers spread as before.
  const uint64_t carrying = viewer_of->viewer_workers.load(std::memory_order_acquire);
  const int publisher = viewer_of->publisher_worker.load(std::memory_order_acquire);
  size_t best = least;
  bool found = false;
  for (size_t w = 0; w < sessions_on_worker_.size(); ++w) {
    const bool carries = (w < 64 && (carrying >> w & 1) != 0) || static_cast<int>(w) == publisher;
    if (!carries || sessions_on_worker_[w] > sessions_on_worker_[least] + options_.viewer_placement_slack) continue;
    if (!found || sessions_on_worker_[w] < sessions_on_worker_[best]) best = w;
    found = true;
  }
  return best;
}

void MediaServer::admit(size_t on_input, const std::string& client_key, bool replaces_one) {
  auto refuse = [this](const char* code, std::string message) {
    sessions_refused_.fetch_add(1);
    throw Error(code, std::move(message), 1);
  };
  const size_t replaced = replaces_one ? 1 : 0;
  if (options_.max_sessions > 0 && sessions_.size() - replaced >= options_.max_sessions) {
    refuse(codes::kMediaBusy,
           "the media server is at its session limit (" + std::to_string(options_.max_sessions) + "); try again later");
  }
  if (options_.max_sessions_per_input > 0 && on_input - replaced >= options_.max_sessions_per_input) {
    refuse(codes::kMediaBusy,
           "this room is at its limit of " + std::to_string(options_.max_sessions_per_input) + " sessions");
  }
  if (options_.max_sessions_per_client > 0 && !client_key.empty()) {
    auto it = sessions_by_client_.find(client_key);
    if (it != sessions_by_client_.end() && it->second >= options_.max_sessions_per_client) {
      refuse(codes::kTooManySessions, "too many WHIP/WHEP sessions from your address (limit " +
                                          std::to_string(options_.max_sessions_per_client) +
                                          "); end some (DELETE their Location) first");
    }
  }
}

void MediaServer::registerSession(const std::string& id, size_t worker, const std::shared_ptr<InputHub>& hub,
                                  Session::Role role, const std::string& client_key) {
  sessions_.emplace(id, SessionEntry{worker, hub, role, client_key});
  ++sessions_on_worker_[worker];
  ++hub->sessions;
  if (!client_key.empty()) ++sessions_by_client_[client_key];
  if (role == Session::Role::Viewer && hub->viewers_on[worker]++ == 0) {
    hub->viewer_workers.fetch_or(uint64_t{1} << worker, std::memory_order_acq_rel);
  }
}

void MediaServer::forget(const std::string& id) {
  std::lock_guard lock(mutex_);
  forgetLocked(id);
}

void MediaServer::forgetLocked(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  SessionEntry entry = std::move(it->second);
  sessions_.erase(it);
  --sessions_on_worker_[entry.worker];
  if (!entry.client_key.empty()) {
    if (auto c = sessions_by_client_.find(entry.client_key); c != sessions_by_client_.end() && --c->second == 0) {
      sessions_by_client_.erase(c);
    }
  }
  InputHub& hub = *entry.hub;
  --hub.sessions;
  if (entry.role == Session::Role::Viewer) {
    if (--hub.viewers_on[entry.worker] == 0) {
      hub.viewer_workers.fetch_and(~(uint64_t{1} << entry.worker), std::memory_order_acq_rel);
    }
  } else if (hub.publisher_id == id) {
    hub.publisher_id.clear();
    hub.publisher_worker.store(-1);
    hub.setDescription(nullptr, 0);
  }
  if (hub.sessions == 0) {
    if (auto h = hubs_.find(hub.uid); h != hubs_.end() && h->second.get() == &hub) hubs_.erase(h);
  }
}

void MediaServer::publish(std::string input_uid, std::string offer, AnswerCallback done, std::string client_key) {
  doPublish(std::move(input_uid), offer, done, std::move(client_key));
}

void MediaServer::play(std::string input_uid, std::string offer, AnswerCallback done, std::string client_key) {
  doPlay(std::move(input_uid), offer, done, std::move(client_key));
}

template <typename Setup, typename Create>
void MediaServer::makeOnWorker(size_t worker, const char* what, Setup setup,
                               std::shared_ptr<const sdp::SessionDescription> offer,
                               std::vector<sdp::AnswerSection> sections, AnswerCallback done, Create create) {
  MediaWorker& w = *workers_[worker];
  w.post([this, &w, what, setup = std::move(setup), offer = std::move(offer), sections = std::move(sections),
          done = std::move(done), create]() mutable {
    const std::string id = setup.id;
    answerWith<SessionAnswer>(
        what,
        [&] {
          try {
            return create(w, std::move(setup), *offer, std::move(sections));
          } catch (...) {
            forget(id);  // the registry let it in; it was never made
            throw;
          }
        },
        done);
  });
}

void MediaServer::doPublish(std::string input_uid, const std::string& offer_text, AnswerCallback& done,
                            std::string client_key) {
  // Parsed and negotiated here, on the caller's thread: the workers only make the session.
  auto offer = std::make_shared<sdp::SessionDescription>();
  NegotiatedPublisher negotiated;
  try {
    *offer = parseOffer(offer_text);
    negotiated = negotiatePublisher(*offer);
  } catch (const Error& e) {
    return done(e);
  }
  auto source = negotiated.source;
  auto sections = std::move(negotiated.sections);
  WebRtcTransport::RemoteParameters remote = std::move(negotiated.remote);

  MediaWorker::PublisherSetup setup;
  size_t worker = 0;
  try {
    std::lock_guard lock(mutex_);
    if (shutting_down_) throw Error(codes::kMediaUnavailable, "the media server is stopping");
    std::shared_ptr<InputHub> hub;
    if (auto found = hubs_.find(input_uid); found != hubs_.end()) hub = found->second;
    bool replaces = false;
    if (hub && !hub->publisher_id.empty()) {
      const auto silent_for = std::chrono::nanoseconds(steadyNanos(options_.clock()) - hub->last_media_ns.load());
      if (silent_for < options_.publisher_takeover_after) {
        throw Error(codes::kPublisherExists, "this room already has a live broadcaster");
      }
      replaces = true;
    }
    admit(hub ? hub->sessions : 0, client_key, replaces);
    if (replaces) {
      spdlog::info("media: input {}: a new publisher replaces a silent one", input_uid);
      // Its worker ends it before it makes anything posted after this (the new publisher may go
      // to the same worker); we forget it now.
      const std::string old_id = hub->publisher_id;
      MediaWorker* old = workers_[sessions_.at(old_id).worker].get();
      old->post([old, old_id] { old->end(old_id); });
      forgetLocked(old_id);
    }
    hub = hubFor(input_uid);  // a new one if the replaced publisher was its last session
    worker = pickWorker();
    setup.id = randomHex(16);
    setup.hub = hub;
    setup.generation = hub->generation.fetch_add(1) + 1;
    setup.source = source;
    setup.remote = std::move(remote);
    setup.client_key = client_key;
    registerSession(setup.id, worker, hub, Session::Role::Publisher, client_key);
    hub->publisher_id = setup.id;
    hub->setDescription(source, setup.generation);
    hub->last_media_ns.store(steadyNanos(options_.clock()));
    hub->publisher_worker.store(static_cast<int>(worker));
  } catch (const Error& e) {
    return done(e);
  }
  makeOnWorker(worker, "publish", std::move(setup), offer, std::move(sections), std::move(done),
               [](MediaWorker& w, MediaWorker::PublisherSetup&& setup, const sdp::SessionDescription& offer,
                  std::vector<sdp::AnswerSection> sections) {
                 const std::string uid = setup.hub->uid;
                 SessionAnswer answer = w.createPublisher(std::move(setup), offer, std::move(sections));
                 spdlog::info("media: input {}: publisher session {} created", uid, answer.session_id.substr(0, 8));
                 return answer;
               });
}

void MediaServer::doPlay(std::string input_uid, const std::string& offer_text, AnswerCallback& done,
                         std::string client_key) {
  auto offer = std::make_shared<sdp::SessionDescription>();
  MediaWorker::ViewerSetup setup;
  std::vector<sdp::AnswerSection> sections;
  size_t worker = 0;
  try {
    {
      // The limits first: an address at its limit learns that before anything else.
      std::lock_guard lock(mutex_);
      if (shutting_down_) throw Error(codes::kMediaUnavailable, "the media server is stopping");
      auto hub = hubs_.find(input_uid);
      admit(hub == hubs_.end() ? 0 : hub->second->sessions, client_key, false);
    }
    *offer = parseOffer(offer_text);
    std::shared_ptr<const SourceDescription> publisher;
    {
      std::lock_guard lock(mutex_);
      if (auto hub = hubs_.find(input_uid); hub != hubs_.end()) publisher = hub->second->description();
    }
    NegotiatedViewer negotiated = negotiateViewer(*offer, publisher.get());
    setup.remote = std::move(negotiated.remote);
    setup.tracks = std::move(negotiated.tracks);
    sections = std::move(negotiated.sections);
    std::lock_guard lock(mutex_);
    if (shutting_down_) throw Error(codes::kMediaUnavailable, "the media server is stopping");
    auto found = hubs_.find(input_uid);
    admit(found == hubs_.end() ? 0 : found->second->sessions, client_key, false);  // again: others came meanwhile
    std::shared_ptr<InputHub> hub = hubFor(input_uid);
    worker = pickWorker(hub.get());
    setup.id = randomHex(16);
    setup.hub = hub;
    setup.client_key = client_key;
    registerSession(setup.id, worker, hub, Session::Role::Viewer, client_key);
  } catch (const Error& e) {
    return done(e);
  }
  makeOnWorker(worker, "play", std::move(setup), offer, std::move(sections), std::move(done),
               [](MediaWorker& w, MediaWorker::ViewerSetup&& setup, const sdp::SessionDescription& offer,
                  std::vector<sdp::AnswerSection> sections) {
                 const std::string uid = setup.hub->uid;
                 SessionAnswer answer = w.createViewer(std::move(setup), offer, std::move(sections));
                 spdlog::debug("media: input {}: viewer session {} created on worker {}", uid,
                               answer.session_id.substr(0, 8), w.index());
                 return answer;
               });
}

void MediaServer::patch(std::string session_id, std::optional<std::string> if_match, std::string fragment_text,
                        PatchCallback done) {
  sdp::TrickleFragment fragment;
  MediaWorker* w = nullptr;
  try {
    {
      std::lock_guard lock(mutex_);
      auto it = sessions_.find(session_id);
      if (it == sessions_.end()) throw Error(codes::kSessionNotFound, "no such session");
      w = workers_[it->second.worker].get();
    }
    try {
      fragment = sdp::parseTrickleFragment(fragment_text);
    } catch (const sdp::SdpError& e) {
      throw Error(codes::kInvalidSdp, e.what());
    }
  } catch (const Error& e) {
    return done(e);
  }
  w->post([w, id = std::move(session_id), if_match = std::move(if_match), fragment = std::move(fragment),
           done = std::move(done)]() mutable {
    answerWith<PatchResult>(
        "patch",
        [&]() -> PatchResult {
          Session* found = w->find(id);
          if (found == nullptr) throw Error(codes::kSessionNotFound, "no such session");
          Session& session = *found;
          if (if_match && *if_match != "*" && *if_match != session.etag()) {
            throw Error(codes::kPreconditionFailed, "If-Match does not match the session's current ETag");
          }
          if (!sdp::isIceRestart(fragment, session.remoteUfrag(), session.remotePwd())) return {session.etag(), {}};
          // RFC 8839 §5.4: a restart changes both; a fragment with only one new value is not one we
          // can act on (the peer would check with a password we do not know).
          if (fragment.ice_ufrag.empty() || fragment.ice_pwd.empty()) {
            throw Error(codes::kInvalidSdp, "an ICE restart needs both a=ice-ufrag and a=ice-pwd");
          }
          if (fragment.ice_ufrag.size() > 256 || fragment.ice_pwd.size() > 256) {
            throw Error(codes::kInvalidSdp, "a=ice-ufrag and a=ice-pwd are at most 256 characters (RFC 8839)");
          }
          if (!session.restartIce(fragment.ice_ufrag, fragment.ice_pwd)) {
            throw Error(codes::kSessionNotFound, "the session has ended");
          }
          spdlog::info("media: session {}: ICE restart", session.id().substr(0, 8));
          return {session.etag(), w->iceRestartFragment(session)};
        },
        done);
  });
}

void MediaServer::remove(std::string session_id, std::function<void(bool)> done) {
  MediaWorker* w = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(session_id);
    if (it != sessions_.end()) w = workers_[it->second.worker].get();
  }
  if (w == nullptr) return done(false);
  w->post([w, id = std::move(session_id), done = std::move(done)] { done(w->end(id)); });
}

void MediaServer::closeInput(std::string input_uid) {
  uint64_t hub_id = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = hubs_.find(input_uid);
    if (it == hubs_.end()) return;
    hub_id = it->second->id;
  }
  for (auto& w : workers_) w->post([w = w.get(), hub_id] { w->endInput(hub_id); });
}

std::vector<std::string> MediaServer::inputUids() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> uids;
  uids.reserve(hubs_.size());
  for (const auto& [uid, hub] : hubs_) uids.push_back(uid);
  return uids;
}

void MediaServer::onSessionGone(size_t, const std::string& session_id) { forget(session_id); }

void MediaServer::onPublisherLive(InputHub& hub, const std::string& session_id, bool live) {
  std::lock_guard order(notify_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (live) {
      if (hub.publisher_id != session_id) return;  // replaced while it connected
      hub.live_publisher_id = session_id;
    } else {
      // Only the publisher the room last heard of: a replaced one going away changes nothing.
      if (hub.live_publisher_id != session_id) return;
      hub.live_publisher_id.clear();
    }
  }
  if (listener_ != nullptr) listener_->onPublisherLive(hub.uid, live);
}

void MediaServer::onViewersHere(InputHub& hub, size_t worker, size_t connected) {
  std::lock_guard order(notify_mutex_);
  size_t total = 0;
  {
    std::lock_guard lock(mutex_);
    hub.connected_on[worker] = connected;
    for (size_t n : hub.connected_on) total += n;
    if (total == hub.viewers_reported) return;
    hub.viewers_reported = total;
  }
  if (listener_ != nullptr) listener_->onViewerCount(hub.uid, total);
}

MediaServer::Stats MediaServer::stats() {
  Stats s;
  MediaWorker* here = MediaWorker::current();
  s.workers.resize(workers_.size());
  if (stopped_ || here != nullptr) {
    for (size_t i = 0; i < workers_.size(); ++i) {
      s.workers[i] = workers_[i].get() == here ? here->collectStats() : workers_[i]->snapshot();
    }
  } else {
    onEveryWorker([&s](MediaWorker& w) { s.workers[w.index()] = w.collectStats(); });
  }
  MediaWorker::Stats total;
  for (const MediaWorker::Stats& w : s.workers) addWorkerStats(total, w);
  {
    std::lock_guard lock(mutex_);
    s.sessions = sessions_.size();
    s.inputs = hubs_.size();
  }
  s.retransmissions = total.retransmissions;
  s.retransmissions_refused = total.retransmissions_refused;
  s.publisher_nacked = total.publisher_nacked;
  s.publisher_recovered = total.publisher_recovered;
  s.sessions_refused = sessions_refused_.load();
  s.sessions_failed = sessions_failed_.load();
  s.transport = total.transport;
  s.counters = total.counters;
  return s;
}

}  // namespace liveroom::media

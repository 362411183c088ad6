// The embedded media server's facade and session registry (see media_server.hpp).
#include "media/server/media_server.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <future>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "common/event_loop.hpp"

#include "media/sdp/negotiation.hpp"
#include "media/sdp/session_description.hpp"
#include "media/sdp/trickle_fragment.hpp"

namespace liveroom::media {

namespace {

constexpr std::chrono::milliseconds kTimerPeriod{50};  // transport-cc feedback
constexpr uint64_t kTicksPerTransportTick = 5;         // 250 ms: ICE consent, DTLS timers
constexpr uint64_t kTicksPerReport = 20;               // 1 s: RR + REMB to publishers, SR to viewers

// How strong a fingerprint hash is, 0 for one we do not accept (sha-1 and older).
int fingerprintStrength(std::string_view algorithm) {
  if (algorithm == "sha-512") return 3;
  if (algorithm == "sha-384") return 2;
  if (algorithm == "sha-256") return 1;
  return 0;
}

// The ICE credentials and DTLS fingerprint of the first accepted section (BUNDLE: one
// transport for all), or invalid_sdp.
WebRtcTransport::RemoteParameters remoteParameters(const sdp::SessionDescription& offer,
                                                   const std::vector<sdp::MediaDecision>& decisions) {
  for (const sdp::MediaDecision& d : decisions) {
    if (!d.accepted) continue;
    const sdp::MediaSection& m = offer.media[d.index];
    if (m.ice_ufrag.empty() || m.ice_pwd.empty()) throw Error(codes::kInvalidSdp, "the offer has no ICE credentials");
    if (m.fingerprints.empty()) throw Error(codes::kInvalidSdp, "the offer has no DTLS fingerprint");
    // RFC 8122 §5: an offer may carry several fingerprints of its certificate; check the
    // strongest hash we support.
    const sdp::Fingerprint* best = nullptr;
    int best_strength = 0;
    for (const sdp::Fingerprint& f : m.fingerprints) {
      const int strength = fingerprintStrength(f.algorithm);
      if (strength > best_strength) {
        best = &f;
        best_strength = strength;
      }
    }
    if (best == nullptr) {
      std::string offered;
      for (const sdp::Fingerprint& f : m.fingerprints) offered += (offered.empty() ? "" : ", ") + f.algorithm;
      throw Error(codes::kInvalidSdp,
                  "unsupported DTLS fingerprint algorithm " + offered + " (sha-256, sha-384 or sha-512 is required)");
    }
    return {m.ice_ufrag, m.ice_pwd, best->value};
  }
  throw Error(codes::kInvalidSdp, "the offer has no usable media section");
}

// No accepted section: say why, naming what was offered.
[[noreturn]] void throwNothingAccepted(const sdp::SessionDescription& offer,
                                       const std::vector<sdp::MediaDecision>& decisions) {
  bool any_av = false;
  std::string reasons;
  for (const sdp::MediaDecision& d : decisions) {
    if (d.kind != sdp::MediaKind::kAudio && d.kind != sdp::MediaKind::kVideo) continue;
    any_av = true;
    if (!reasons.empty()) reasons += "; ";
    reasons += std::string(sdp::toString(d.kind)) + ": " + d.reject_reason;
  }
  if (!any_av || offer.media.empty()) throw Error(codes::kInvalidSdp, "the offer has no audio or video section");
  throw Error(codes::kUnsupportedCodec, reasons);
}

// A WHIP offer must send media and a WHEP offer receive it: a viewer's offer posted to a publish
// URL would otherwise take the broadcaster's place while sending nothing.
void requireDirection(const std::vector<sdp::MediaDecision>& decisions, bool publisher) {
  for (const sdp::MediaDecision& d : decisions) {
    if (!d.accepted) continue;
    const sdp::Direction dir = d.offered_direction;
    if (dir == sdp::Direction::kSendRecv) return;
    if (publisher && dir == sdp::Direction::kSendOnly) return;
    if (!publisher && dir == sdp::Direction::kRecvOnly) return;
  }
  throw Error(codes::kInvalidSdp, publisher ? "a WHIP offer must send audio or video (a=sendonly)"
                                            : "a WHEP offer must receive audio or video (a=recvonly)");
}

sdp::SessionDescription parseOffer(const std::string& text) {
  try {
    return sdp::parse(text);
  } catch (const sdp::SdpError& e) {
    throw Error(codes::kInvalidSdp, e.what());
  }
}

}  // namespace

std::vector<std::string> localInterfaceAddresses(bool ipv6) {
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  std::vector<std::string> loopback;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {"127.0.0.1"};
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) continue;
    boost::asio::ip::address address;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      const boost::asio::ip::address_v4 a(ntohl(sin->sin_addr.s_addr));
      if ((a.to_uint() & 0xFFFF0000u) == 0xA9FE0000u) continue;  // 169.254/16: link-local
      address = a;
    } else if (i->ifa_addr->sa_family == AF_INET6 && ipv6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      boost::asio::ip::address_v6::bytes_type bytes{};
      std::memcpy(bytes.data(), &sin6->sin6_addr, bytes.size());
      const boost::asio::ip::address_v6 a(bytes);
      // Link-local addresses need a zone the peer cannot know; v4-mapped ones duplicate IPv4.
      if (a.is_link_local() || a.is_v4_mapped() || a.is_multicast()) continue;
      address = a;
    } else {
      continue;
    }
    const std::string text = address.to_string();
    auto& bucket = address.is_loopback() ? loopback : address.is_v4() ? v4 : v6;
    if (std::find(bucket.begin(), bucket.end(), text) == bucket.end()) bucket.push_back(text);
  }
  freeifaddrs(list);
  std::vector<std::string> out = std::move(v4);
  out.insert(out.end(), v6.begin(), v6.end());
  // 127.0.0.1 before ::1.
  std::sort(loopback.begin(), loopback.end(), [](const std::string& a, const std::string& b) {
    return (a.find(':') == std::string::npos) > (b.find(':') == std::string::npos);
  });
  out.insert(out.end(), loopback.begin(), loopback.end());
  if (out.empty()) out.push_back("127.0.0.1");
  return out;
}

MediaServer::MediaServer(MediaServerOptions options, Listener* listener)
    : options_(std::move(options)),
      listener_(listener),
      work_(boost::asio::make_work_guard(ioc_)),
      dtls_(DtlsCertificate::generate()),
      timer_(ioc_) {
  PacketMuxOptions mux_options;
  mux_options.bind_address = options_.bind_address;
  mux_options.udp_port = options_.port;
  mux_options.tcp_port = options_.tcp_port;
  mux_options.max_tcp_connections = options_.max_sessions;
  mux_options.max_tcp_per_address =
      options_.max_sessions_per_client == 0 ? 0 : std::max<size_t>(16, options_.max_sessions_per_client);
  mux_options.tcp_validation_timeout = options_.ice_connect_timeout;
  mux_options.socket_buffer_bytes = options_.socket_buffer_bytes;
  mux_ = std::make_unique<PacketMux>(ioc_, mux_options);
  port_ = mux_->udpPort();
  tcp_port_ = mux_->tcpPort();
  ipv6_ = mux_->ipv6();
  if (!options_.advertised_addresses.empty()) {
    addresses_ = options_.advertised_addresses;
  } else if (options_.bind_address == "0.0.0.0") {
    addresses_ = localInterfaceAddresses(ipv6_);
  } else {
    addresses_ = {options_.bind_address};
  }
  scheduleTimer();
  thread_ = std::thread([this] {
    // The last line of defence: sessions catch their own failures.
    runLoopSurvivingErrors(ioc_, "media thread");
    stopped_ = true;
  });
}

MediaServer::~MediaServer() {
  shutdown();
  boost::asio::post(ioc_, [this] {
    // Sessions unregister from the mux when destroyed: before it goes. Closing the socket
    // then ends the pending receive, the last work keeping the io_context running.
    for (auto& [id, session] : sessions_) session->close();
    sessions_.clear();
    routers_.clear();
    retired_.clear();
    mux_.reset();
    timer_.cancel();
    work_.reset();
    ioc_.stop();  // a receive that completed before the close must not run on the destroyed mux
  });
  thread_.join();
}

void MediaServer::shutdown() {
  if (stopped_) return;
  std::promise<void> done;
  auto future = done.get_future();
  boost::asio::post(ioc_, [this, &done] {
    if (!shutting_down_) {
      shutting_down_ = true;
      scratch_.clear();
      for (auto& [id, session] : sessions_) scratch_.push_back(session.get());
      // Viewers first, so the room's count reaches 0 before its publisher goes.
      std::stable_partition(scratch_.begin(), scratch_.end(),
                            [](const Session* s) { return s->role() == Session::Role::Viewer; });
      for (Session* s : scratch_) {
        s->close();
        retire(*s);
      }
      scratch_.clear();
    }
    done.set_value();
  });
  future.wait();
}

std::vector<sdp::LocalCandidate> MediaServer::candidates() const {
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
  add(false, port_, 65535);
  if (tcp_port_) add(true, *tcp_port_, 32767);
  return out;
}

InputRouter& MediaServer::router(const std::string& input_uid) {
  auto& slot = routers_[input_uid];
  if (!slot) slot = std::make_unique<InputRouter>(input_uid);
  return *slot;
}

void MediaServer::dropRouterIfEmpty(const std::string& input_uid) {
  auto it = routers_.find(input_uid);
  if (it != routers_.end() && it->second->empty()) routers_.erase(it);
}

void MediaServer::publish(std::string input_uid, std::string offer, AnswerCallback done, std::string client_key) {
  answerOnMediaThread("publish", &MediaServer::doPublish, std::move(input_uid), std::move(offer), std::move(done),
                      std::move(client_key));
}

void MediaServer::play(std::string input_uid, std::string offer, AnswerCallback done, std::string client_key) {
  answerOnMediaThread("play", &MediaServer::doPlay, std::move(input_uid), std::move(offer), std::move(done),
                      std::move(client_key));
}

void MediaServer::answerOnMediaThread(const char* what, OfferHandler handler, std::string input_uid, std::string offer,
                                      AnswerCallback done, std::string client_key) {
  boost::asio::post(ioc_, [this, what, handler, uid = std::move(input_uid), offer = std::move(offer),
                           done = std::move(done), client = std::move(client_key)] {
    std::variant<SessionAnswer, Error> result = Error(codes::kMediaUnavailable, "");
    try {
      result = (this->*handler)(uid, offer, client);
    } catch (const Error& e) {
      result = e;
    } catch (const std::exception& e) {
      spdlog::error("media: {} failed: {}", what, e.what());
      result = Error(codes::kMediaUnavailable, "the media server could not set up the session");
    }
    done(std::move(result));
  });
}

void MediaServer::admit(const std::string& input_uid, const std::string& client_key, bool replaces_one) {
  auto refuse = [this](const char* code, std::string message) {
    ++sessions_refused_;
    throw Error(code, std::move(message), 1);
  };
  const size_t replaced = replaces_one ? 1 : 0;
  if (options_.max_sessions > 0 && sessions_.size() - replaced >= options_.max_sessions) {
    refuse(codes::kMediaBusy,
           "the media server is at its session limit (" + std::to_string(options_.max_sessions) + "); try again later");
  }
  if (options_.max_sessions_per_input > 0) {
    if (auto found = routers_.find(input_uid); found != routers_.end()) {
      const InputRouter& input = *found->second;
      const size_t on_input = input.viewers().size() + (input.publisher() != nullptr ? 1 : 0) - replaced;
      if (on_input >= options_.max_sessions_per_input) {
        refuse(codes::kMediaBusy,
               "this room is at its limit of " + std::to_string(options_.max_sessions_per_input) + " sessions");
      }
    }
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

Session& MediaServer::adopt(std::unique_ptr<Session> session, const std::string& client_key) {
  session->transport().setConnectTimeout(options_.ice_connect_timeout);
  if (!client_key.empty()) {
    session->setClientKey(client_key);
    ++sessions_by_client_[client_key];
  }
  Session& ref = *session;
  std::string id = session->id();
  sessions_.emplace(std::move(id), std::move(session));
  return ref;
}

SessionAnswer MediaServer::answerFor(Session& session, const sdp::SessionDescription& offer,
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

SessionAnswer MediaServer::doPublish(const std::string& input_uid, const std::string& offer_text,
                                     const std::string& client_key) {
  if (!mux_ || shutting_down_) throw Error(codes::kMediaUnavailable, "the media server is stopping");
  const sdp::SessionDescription offer = parseOffer(offer_text);
  const std::vector<sdp::MediaDecision> decisions = sdp::negotiate(offer);
  if (std::none_of(decisions.begin(), decisions.end(), [](const auto& d) { return d.accepted; })) {
    throwNothingAccepted(offer, decisions);
  }
  requireDirection(decisions, true);
  WebRtcTransport::RemoteParameters remote = remoteParameters(offer, decisions);

  PublisherSession* current = nullptr;
  if (auto found = routers_.find(input_uid); found != routers_.end()) current = found->second->publisher();
  if (current != nullptr && Session::Clock::now() - current->lastMedia() < options_.publisher_takeover_after) {
    throw Error(codes::kPublisherExists, "this room already has a live broadcaster");
  }
  admit(input_uid, client_key, current != nullptr);
  if (current != nullptr) {
    spdlog::info("media: input {}: a new publisher replaces a silent one", input_uid);
    current->close();
    retire(*current);  // may drop the input's router when nobody else is on it
  }
  InputRouter& input = router(input_uid);

  std::string id = randomHex(16);
  std::unique_ptr<PublisherSession> session;
  try {
    session = std::make_unique<PublisherSession>(id, input_uid, static_cast<SessionEvents&>(*this), *mux_, dtls_,
                                                 std::move(remote), decisions, input, options_.remb_bps,
                                                 options_.publisher_nack);
  } catch (const std::invalid_argument& e) {
    dropRouterIfEmpty(input_uid);
    throw Error(codes::kInvalidSdp, e.what());
  }
  SessionAnswer answer = answerFor(*session, offer, sdp::answerSections(decisions, offer, sdp::Role::kWhipPublisher));
  input.setPublisher(session.get());
  adopt(std::move(session), client_key);
  spdlog::info("media: input {}: publisher session {} created", input_uid, id.substr(0, 8));
  return answer;
}

SessionAnswer MediaServer::doPlay(const std::string& input_uid, const std::string& offer_text,
                                  const std::string& client_key) {
  if (!mux_ || shutting_down_) throw Error(codes::kMediaUnavailable, "the media server is stopping");
  admit(input_uid, client_key, false);
  const sdp::SessionDescription offer = parseOffer(offer_text);
  auto found = routers_.find(input_uid);
  PublisherSession* publisher = found == routers_.end() ? nullptr : found->second->publisher();
  std::optional<sdp::PublisherCodec> audio;
  std::optional<sdp::PublisherCodec> video;
  if (publisher != nullptr) {
    if (const PublisherTrack* t = publisher->track(sdp::MediaKind::kAudio)) audio = t->publisherCodec();
    if (const PublisherTrack* t = publisher->track(sdp::MediaKind::kVideo)) video = t->publisherCodec();
  }
  const sdp::ViewerNegotiation negotiation = sdp::negotiateViewer(offer, audio, video);
  if (!negotiation.ok()) throw Error(codes::kUnsupportedCodec, negotiation.error);
  if (std::none_of(negotiation.media.begin(), negotiation.media.end(), [](const auto& d) { return d.accepted; })) {
    throwNothingAccepted(offer, negotiation.media);
  }
  requireDirection(negotiation.media, false);
  WebRtcTransport::RemoteParameters remote = remoteParameters(offer, negotiation.media);

  std::vector<sdp::AnswerSection> sections = sdp::answerSections(negotiation.media, offer, sdp::Role::kWhepViewer);
  std::vector<ViewerTrack> tracks;
  for (sdp::AnswerSection& section : sections) {
    if (!section.decision.accepted) continue;
    ViewerTrack& t = tracks.emplace_back();
    t.kind = section.decision.kind;
    t.offered = offer.media[section.decision.index];
    t.decision = section.decision;
    t.send.ssrc = randomSsrc();
    // Retransmissions go on an RTX stream of their own when the viewer offered RTX (RFC 4588).
    if (section.decision.codec && section.decision.codec->rtx_payload_type) t.send.rtx_ssrc = randomSsrc();
    t.send.cname = "liveroom";
    t.send.stream_id = "liveroom";
    t.send.track_id = t.kind == sdp::MediaKind::kVideo ? "video" : "audio";
    section.send = t.send;
  }

  InputRouter& input = router(input_uid);
  std::string id = randomHex(16);
  std::unique_ptr<ViewerSession> session;
  try {
    rtp::RetransmissionLimiter::Options retransmit;
    retransmit.budget_bps = options_.viewer_retransmit_bps;
    session = std::make_unique<ViewerSession>(id, input_uid, static_cast<SessionEvents&>(*this), *mux_, dtls_,
                                              std::move(remote), std::move(tracks), input, retransmit);
  } catch (const std::invalid_argument& e) {
    dropRouterIfEmpty(input_uid);
    throw Error(codes::kInvalidSdp, e.what());
  }
  SessionAnswer answer = answerFor(*session, offer, std::move(sections));
  if (publisher != nullptr) session->attachPublisher(*publisher);
  input.addViewer(session.get());
  adopt(std::move(session), client_key);
  spdlog::debug("media: input {}: viewer session {} created", input_uid, id.substr(0, 8));
  return answer;
}

void MediaServer::patch(std::string session_id, std::optional<std::string> if_match, std::string fragment,
                        PatchCallback done) {
  boost::asio::post(ioc_, [this, id = std::move(session_id), if_match = std::move(if_match),
                           fragment = std::move(fragment), done = std::move(done)] {
    std::variant<PatchResult, Error> result = Error(codes::kMediaUnavailable, "");
    try {
      result = doPatch(id, if_match, fragment);
    } catch (const Error& e) {
      result = e;
    } catch (const std::exception& e) {
      spdlog::error("media: patch failed: {}", e.what());
      result = Error(codes::kMediaUnavailable, "the media server could not apply the update");
    }
    done(std::move(result));
  });
}

MediaServer::PatchResult MediaServer::doPatch(const std::string& session_id, const std::optional<std::string>& if_match,
                                              const std::string& fragment_text) {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) throw Error(codes::kSessionNotFound, "no such session");
  Session& session = *it->second;
  if (if_match && *if_match != "*" && *if_match != session.etag()) {
    throw Error(codes::kPreconditionFailed, "If-Match does not match the session's current ETag");
  }
  sdp::TrickleFragment fragment;
  try {
    fragment = sdp::parseTrickleFragment(fragment_text);
  } catch (const sdp::SdpError& e) {
    throw Error(codes::kInvalidSdp, e.what());
  }
  if (!sdp::isIceRestart(fragment, session.remoteUfrag(), session.remotePwd())) return {session.etag(), {}};
  // RFC 8839 §5.4: a restart changes both; a fragment with only one new value is not one we can
  // act on (the peer would check with a password we do not know).
  if (fragment.ice_ufrag.empty() || fragment.ice_pwd.empty()) {
    throw Error(codes::kInvalidSdp, "an ICE restart needs both a=ice-ufrag and a=ice-pwd");
  }
  if (fragment.ice_ufrag.size() > 256 || fragment.ice_pwd.size() > 256) {
    throw Error(codes::kInvalidSdp, "a=ice-ufrag and a=ice-pwd are at most 256 characters (RFC 8839)");
  }
  if (!session.restartIce(fragment.ice_ufrag, fragment.ice_pwd)) {
    throw Error(codes::kSessionNotFound, "the session has ended");
  }
  const Session::BundleHead& head = session.bundleHead();
  spdlog::info("media: session {}: ICE restart", session.id().substr(0, 8));
  return {session.etag(), sdp::buildIceRestartFragment(session.transport().localUfrag(), session.transport().localPwd(),
                                                       head.kind_name, head.proto, head.mid, candidates())};
}

void MediaServer::remove(std::string session_id, std::function<void(bool)> done) {
  boost::asio::post(ioc_, [this, id = std::move(session_id), done = std::move(done)] {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) {
      done(false);
      return;
    }
    Session& session = *it->second;
    session.close();
    retire(session);
    done(true);
  });
}

void MediaServer::closeInput(std::string input_uid) {
  boost::asio::post(ioc_, [this, uid = std::move(input_uid)] {
    auto it = routers_.find(uid);
    if (it == routers_.end()) return;
    std::vector<Session*> sessions(it->second->viewers().begin(), it->second->viewers().end());
    if (it->second->publisher() != nullptr) sessions.push_back(it->second->publisher());
    for (Session* s : sessions) {
      s->close();
      retire(*s);
    }
  });
}

MediaServer::Stats MediaServer::collectStats() const {
  Stats s;
  s.sessions = sessions_.size();
  s.inputs = routers_.size();
  if (mux_) {
    s.transport = mux_->stats();
  }
  s.sessions_refused = sessions_refused_;
  s.sessions_failed = sessions_failed_;
  for (const auto& [id, session] : sessions_) {
    if (session->role() == Session::Role::Publisher) {
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
    const auto r = static_cast<const ViewerSession&>(*session).retransmissionStats();
    s.retransmissions += r.sent;
    s.retransmissions_refused += r.repeats + r.over_budget;
  }
  return s;
}

MediaServer::Stats MediaServer::stats() {
  // On the media thread (a listener asking) or once it has finished, nobody else touches the state.
  if (stopped_ || thread_.get_id() == std::this_thread::get_id()) return collectStats();
  std::promise<Stats> promise;
  auto future = promise.get_future();
  boost::asio::post(ioc_, [this, &promise] { promise.set_value(collectStats()); });
  return future.get();
}

void MediaServer::onSessionConnected(Session& session) {
  auto found = routers_.find(session.inputUid());
  if (found == routers_.end()) return;
  InputRouter& input = *found->second;
  const auto now = Session::Clock::now();
  if (session.role() == Session::Role::Publisher) {
    if (input.publisher() != &session) return;
    for (ViewerSession* viewer : input.viewers()) viewer->attachPublisher(*input.publisher());
    spdlog::info("media: input {}: publisher connected", input.uid());
    if (listener_ != nullptr) listener_->onPublisherLive(input.uid(), true);
  } else {
    if (input.publisher() != nullptr) {
      static_cast<ViewerSession&>(session).attachPublisher(*input.publisher());
      input.requestKeyFrame(now);  // the new viewer's first frame should not wait for the next key frame
    }
    notifyViewers(input);
  }
}

void MediaServer::onSessionClosed(Session& session, const std::string& reason) {
  spdlog::info("media: input {}: {} session {} closed: {}", session.inputUid(),
               session.role() == Session::Role::Publisher ? "publisher" : "viewer", session.id().substr(0, 8), reason);
  retire(session);
}

void MediaServer::logRepairs(const PublisherSession& publisher) const {
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

void MediaServer::retire(Session& session) {
  auto it = sessions_.find(session.id());
  if (it == sessions_.end()) return;
  std::unique_ptr<Session> owned = std::move(it->second);
  sessions_.erase(it);
  if (!owned->clientKey().empty()) {
    if (auto c = sessions_by_client_.find(owned->clientKey()); c != sessions_by_client_.end() && --c->second == 0) {
      sessions_by_client_.erase(c);
    }
  }
  const std::string uid = owned->inputUid();
  if (auto found = routers_.find(uid); found != routers_.end()) {
    InputRouter& input = *found->second;
    const bool was_publisher = input.publisher() == owned.get();
    const bool was_counted_viewer = owned->role() == Session::Role::Viewer && owned->everConnected();
    input.remove(owned.get());
    if (was_publisher) {
      if (listener_ != nullptr && owned->everConnected()) listener_->onPublisherLive(uid, false);
      logRepairs(static_cast<const PublisherSession&>(*owned));
    } else if (was_counted_viewer) {
      notifyViewers(input);
      const auto& viewer = static_cast<const ViewerSession&>(*owned);
      const auto r = viewer.retransmissionStats();
      if (r.sent + r.repeats + r.over_budget + viewer.nackedNotHeld() > 0) {
        spdlog::info(
            "media: input {}: viewer {} NACKs: resent {}, not held {}, asked again within an RTT {}, "
            "over budget {}",
            uid, owned->id().substr(0, 8), r.sent, viewer.nackedNotHeld(), r.repeats, r.over_budget);
      }
    }
  }
  dropRouterIfEmpty(uid);
  // Destroyed later: we may be inside one of its transport's callbacks right now.
  retired_.push_back(std::move(owned));
  if (retired_.size() == 1) boost::asio::post(ioc_, [this] { retired_.clear(); });
}

void MediaServer::notifyViewers(const InputRouter& input) {
  if (listener_ != nullptr) listener_->onViewerCount(input.uid(), input.connectedViewers());
}

void MediaServer::scheduleTimer() {
  timer_.expires_after(kTimerPeriod);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    onTimer();
    scheduleTimer();
  });
}

void MediaServer::onTimer() {
  ++timer_ticks_;
  const auto now = Session::Clock::now();
  // A snapshot: ticking may close sessions, which moves them out of sessions_ (they are
  // destroyed only later, so the pointers stay valid for this loop).
  scratch_.clear();
  for (auto& [id, session] : sessions_) scratch_.push_back(session.get());
  const bool transport_tick = timer_ticks_ % kTicksPerTransportTick == 0;
  const bool report_tick = timer_ticks_ % kTicksPerReport == 0;
  for (Session* s : scratch_) {
    if (s->failure()) {
      ++sessions_failed_;
      spdlog::error("media: input {}: session {} ended by an internal error: {}", s->inputUid(), s->id().substr(0, 8),
                    *s->failure());
      retire(*s);
      continue;
    }
    if (s->closed()) continue;
    // One session's failure ends that session alone.
    try {
      if (s->role() == Session::Role::Publisher) {
        auto* publisher = static_cast<PublisherSession*>(s);
        publisher->sendTransportFeedback();
        publisher->sendNacks(now);
        publisher->flushKeyFrameRequest(now);
        if (report_tick) publisher->sendReports(now);
      } else if (report_tick) {
        static_cast<ViewerSession*>(s)->sendReports(now);
      }
      if (transport_tick && !s->closed()) s->tick(now);
    } catch (const std::exception& e) {
      s->fail(std::string("internal error in a timer: ") + e.what());
    }
  }
  if (transport_tick && mux_) mux_->tick(now);
}

}  // namespace liveroom::media

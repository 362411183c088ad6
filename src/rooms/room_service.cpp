// Room lifecycle (see room_service.hpp). Consistency rules: create is provider first,
// then store, undoing the provider input if the store write fails; end is provider
// first, then store, so a provider failure leaves the room active for a retry.
#include "rooms/room_service.hpp"

#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "rooms/secrets.hpp"
#include "rooms/validation.hpp"

namespace liveroom::rooms {

namespace {
constexpr int kIdAttempts = 3;

int64_t systemNowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// A room's live input belongs to the provider that created it: acting on it (ending it,
// handing out its ingest secrets) needs that provider, never whichever one runs now.
void requireRoomProvider(const RoomRecord& room, const StreamProvider* provider, std::string_view action) {
  if (provider && provider->name() == room.provider) return;
  std::string settings = room.provider == "cloudflare" ? "the Cloudflare settings (CLOUDFLARE_ACCOUNT_ID, ...)"
                         : room.provider == "local"    ? "--stream local"
                                                       : "its stream provider";
  throw Error(codes::kStreamProviderUnavailable, "this room runs on " + room.provider + "; start liveroom with " +
                                                     settings + " to " + std::string(action));
}
}  // namespace

RoomService::RoomService(RoomStore& store, StreamProvider* provider, RoomServiceOptions options)
    : store_(store),
      provider_(provider),
      options_(std::move(options)),
      cache_(options_.cache_ttl, options_.cache_capacity, options_.cache_stale) {}

int64_t RoomService::now() const { return options_.now_ms ? options_.now_ms() : systemNowMs(); }

std::shared_ptr<const RoomSnapshot> RoomService::remember(const RoomRecord& room,
                                                          std::optional<RoomCache::Clock::time_point> read_at) {
  auto snapshot = std::make_shared<RoomSnapshot>();
  snapshot->room_id = room.room_id;
  snapshot->ended = room.status == RoomStatus::ended;
  snapshot->input_uid = room.session_id;
  snapshot->provider = room.provider;
  snapshot->live = room.live;
  snapshot->whep_url = room.playback.whep_url.value_or("");
  if (options_.render_public_view) {
    snapshot->public_view = options_.render_public_view(room, viewersOf(room));
  }
  // A write's result is true as of now (it is stored); a read's as of when the read began.
  const auto now = RoomCache::Clock::now();
  cache_.put(snapshot, now, read_at.value_or(now));
  return snapshot;
}

CreatedRoom RoomService::create(std::string_view title_in, std::string_view host_in, RoomMode mode,
                                std::string_view visibility) {
  if (visibility != "public" && visibility != "unlisted") {
    throw Error(codes::kInvalidField, "visibility must be \"public\" or \"unlisted\"");
  }
  std::string title = normalizeTitle(title_in);
  const std::string host = normalizeHost(host_in);
  if (!provider_) {
    throw Error(codes::kStreamProviderUnavailable,
                "no stream provider is configured: set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN "
                "(or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY) to run rooms on Cloudflare Stream");
  }

  LiveInput input = provider_->createInput(title, mode);

  CreatedRoom created;
  created.host_token = newHostToken();
  RoomRecord& room = created.room;
  room.title = std::move(title);
  room.host = host;
  room.mode = mode;
  room.status = RoomStatus::active;
  room.provider = std::string(provider_->name());
  room.session_id = input.uid;
  room.ingest = std::move(input.ingest);
  room.playback = std::move(input.playback);
  room.host_token_hash = sha256Hex(created.host_token);
  room.visibility = std::string(visibility);
  room.created_at_ms = room.updated_at_ms = now();

  for (int attempt = 1;; ++attempt) {
    room.room_id = newRoomId();
    try {
      store_.insert(room);
      break;
    } catch (const Error& e) {
      if (e.code() == codes::kRoomExists && attempt < kIdAttempts) continue;  // id collision: draw again
      spdlog::error("create: store write failed ({}); deleting live input {} again", e.what(), room.session_id);
      try {
        provider_->deleteInput(room.session_id);
      } catch (const Error& undo) {
        spdlog::error("create: could not delete live input {} after the failed store write: {}", room.session_id,
                      undo.what());
      }
      throw Error(codes::kStoreUnavailable, "the room could not be saved; nothing was created, try again");
    }
  }
  spdlog::info("room {} created by {} (mode {}, input {})", room.room_id, room.host, toString(room.mode),
               room.session_id);
  notify(RoomChangeKind::kCreated, remember(room));
  return created;
}

static std::shared_ptr<const RoomSnapshot> requireActive(std::shared_ptr<const RoomSnapshot> room) {
  if (room && room->ended) throw Error(codes::kRoomEnded, "room " + room->room_id + " has ended");
  return room;
}

std::shared_ptr<const RoomSnapshot> RoomService::joinCached(std::string_view room_id, bool* refresh_due) {
  RoomCache::Found found = cache_.lookup(room_id, RoomCache::Clock::now());
  if (refresh_due != nullptr) {
    *refresh_due = found.refresh;
  } else if (found.refresh) {
    cache_.refreshFailed(room_id);  // nobody to refresh it: the next caller may
  }
  return requireActive(std::move(found.room));
}

void RoomService::refresh(std::string_view room_id) noexcept {
  try {
    const auto read_at = RoomCache::Clock::now();
    if (auto found = store_.get(room_id)) {
      remember(*found, read_at);
    } else {
      cache_.erase(room_id);
    }
  } catch (const std::exception& e) {
    cache_.refreshFailed(room_id);
    spdlog::debug("room {}: the cached view could not be refreshed yet: {}", room_id, e.what());
  }
}

std::shared_ptr<const RoomSnapshot> RoomService::findByInputCached(std::string_view input_uid) const {
  if (input_uid.empty()) return nullptr;
  return cache_.getByInput(input_uid, RoomCache::Clock::now());
}

std::shared_ptr<const RoomSnapshot> RoomService::get(std::string_view room_id) {
  const auto read_at = RoomCache::Clock::now();
  if (auto cached = cache_.get(room_id, read_at)) return cached;
  auto found = store_.get(room_id);
  if (!found) throw Error(codes::kRoomNotFound, "no room with id " + std::string(room_id));
  return remember(*found, read_at);
}

std::shared_ptr<const RoomSnapshot> RoomService::join(std::string_view room_id) { return requireActive(get(room_id)); }

RoomRecord RoomService::authorized(std::string_view room_id, std::string_view host_token) {
  // Authoritative read: host operations never act on a cached (possibly stale) room.
  auto found = store_.get(room_id);
  if (!found) throw Error(codes::kRoomNotFound, "no room with id " + std::string(room_id));
  if (!tokenMatchesHash(host_token, found->host_token_hash)) {
    throw Error(codes::kForbidden, "the host token does not match this room");
  }
  return std::move(*found);
}

RoomRecord RoomService::update(std::string_view room_id, std::string_view host_token, std::string_view title_in) {
  std::string title = normalizeTitle(title_in);
  RoomRecord room = authorized(room_id, host_token);
  if (room.status == RoomStatus::ended) throw Error(codes::kRoomEnded, "room " + room.room_id + " has ended");
  auto updated = store_.updateTitle(room_id, title, now());
  if (!updated) throw Error(codes::kRoomNotFound, "no room with id " + std::string(room_id));
  notify(RoomChangeKind::kTitle, remember(*updated));
  return std::move(*updated);
}

RoomRecord RoomService::end(std::string_view room_id, std::string_view host_token) {
  RoomRecord room = authorized(room_id, host_token);
  if (room.status == RoomStatus::ended) return room;
  return finishEnd(room, "host");
}

RoomRecord RoomService::finishEnd(const RoomRecord& room, std::string_view reason) {
  requireRoomProvider(room, provider_, "end it");
  provider_->deleteInput(room.session_id);  // throws on failure: the room stays active
  auto ended = store_.markEnded(room.room_id, now(), reason);
  if (!ended) throw Error(codes::kRoomNotFound, "no room with id " + room.room_id);
  spdlog::info("room {} ended ({})", ended->room_id, ended->ended_reason.value_or(std::string(reason)));
  notify(RoomChangeKind::kEnded, remember(*ended));
  return std::move(*ended);
}

size_t RoomService::endExpired(const RoomTimers& timers) {
  if (!timers.any()) return 0;
  const int64_t at = now();
  size_t ended = 0;
  ListQuery query;
  query.status = RoomStatus::active;
  query.limit = 200;
  for (;;) {
    const std::vector<RoomRecord> page = store_.list(query);
    for (const RoomRecord& room : page) {
      const auto reason = expiredTimer(room, at, timers);
      // A room of a provider this process does not run is ended where that provider runs.
      if (!reason || provider_ == nullptr || room.provider != provider_->name()) continue;
      try {
        finishEnd(room, *reason);
        ++ended;
      } catch (const std::exception& e) {
        spdlog::warn("room {}: its {} timer ran out but it could not be ended yet: {}", room.room_id, *reason,
                     e.what());
      }
    }
    if (page.size() < static_cast<size_t>(query.limit)) break;
    query.after = ListCursor{page.back().created_at_ms, page.back().room_id};
  }
  return ended;
}

RoomRecord RoomService::ingest(std::string_view room_id, std::string_view host_token) {
  RoomRecord room = authorized(room_id, host_token);
  if (room.status == RoomStatus::ended) throw Error(codes::kRoomEnded, "room " + room.room_id + " has ended");
  requireRoomProvider(room, provider_, "get its ingest settings");
  return room;
}

RoomPage RoomService::list(ListQuery query) {
  const int limit = query.limit;
  query.limit = limit + 1;  // one more tells whether another page follows
  RoomPage page;
  page.rooms = store_.list(query);
  if (static_cast<int>(page.rooms.size()) > limit) {
    page.rooms.resize(static_cast<size_t>(limit));
    const RoomRecord& last = page.rooms.back();
    page.next = ListCursor{last.created_at_ms, last.room_id};
  }
  return page;
}

void RoomService::setLive(std::string_view room_id, bool live) {
  if (auto updated = store_.setLive(room_id, live, now())) notify(RoomChangeKind::kLive, remember(*updated));
}

void RoomService::addListener(RoomChangeListener& listener) {
  std::lock_guard lock(listeners_mutex_);
  listeners_.push_back(&listener);
}

void RoomService::removeListener(RoomChangeListener& listener) {
  std::lock_guard lock(listeners_mutex_);
  std::erase(listeners_, &listener);
}

void RoomService::notify(RoomChangeKind kind, std::shared_ptr<const RoomSnapshot> room) {
  std::vector<RoomChangeListener*> listeners;
  {
    std::lock_guard lock(listeners_mutex_);
    listeners = listeners_;
  }
  const RoomChange change{kind, std::move(room)};
  for (RoomChangeListener* l : listeners) {
    try {
      l->onRoomChanged(change);
    } catch (const std::exception& e) {
      spdlog::warn("a room change listener failed: {}", e.what());
    }
  }
}

const char* toString(RoomChangeKind kind) noexcept {
  switch (kind) {
    case RoomChangeKind::kCreated:
      return "created";
    case RoomChangeKind::kTitle:
      return "title";
    case RoomChangeKind::kLive:
      return "live";
    case RoomChangeKind::kViewers:
      return "viewers";
    case RoomChangeKind::kEnded:
      return "ended";
  }
  return "room";
}

std::optional<std::string> RoomService::setLiveByInput(std::string_view session_id, bool live) {
  auto room = store_.getBySessionId(session_id);
  if (!room || room->status == RoomStatus::ended) return std::nullopt;
  if (room->live != live) setLive(room->room_id, live);
  spdlog::info("room {} is {}", room->room_id, live ? "live" : "not live");
  return room->room_id;
}

size_t RoomService::clearStaleLive(std::string_view provider, std::string_view media_base) {
  return store_.clearLive(provider, media_base.empty() ? std::string() : std::string(media_base) + "/", now());
}

std::vector<std::string> RoomService::endedInputs(const std::vector<std::string>& input_uids) {
  std::vector<std::string> ended;
  for (const std::string& uid : input_uids) {
    const std::optional<RoomRecord> room = findByInput(uid);
    if (room && room->status == RoomStatus::ended) ended.push_back(uid);
  }
  return ended;
}

RoomService::SweepResult RoomService::sweepOrphanInputs(std::string_view deployment,
                                                        std::chrono::milliseconds min_age) {
  SweepResult result;
  if (!provider_ || deployment.empty()) return result;
  const std::vector<LiveInput> inputs = provider_->listInputs();
  result.listed = inputs.size();
  const int64_t now_ms = now();
  for (const LiveInput& input : inputs) {
    if (input.deployment != deployment) continue;
    ++result.ours;
    // An input of unknown age might be a create under way: left alone.
    if (!input.created_at_ms || now_ms - *input.created_at_ms < min_age.count()) continue;
    const std::optional<RoomRecord> room = store_.getBySessionId(input.uid);
    if (room && room->status != RoomStatus::ended) continue;
    try {
      provider_->deleteInput(input.uid);
      ++result.deleted;
      spdlog::info("orphan sweep: deleted live input {} (made by this deployment {} min ago; {})", input.uid,
                   (now_ms - *input.created_at_ms) / 60'000,
                   room ? "its room " + room->room_id + " has ended" : std::string("no room owns it"));
    } catch (const Error& e) {
      ++result.failed;
      spdlog::warn("orphan sweep: could not delete live input {}: {}", input.uid, e.what());
    }
  }
  return result;
}

std::optional<RoomRecord> RoomService::findByInput(std::string_view session_id) {
  if (session_id.empty()) return std::nullopt;
  const auto read_at = RoomCache::Clock::now();
  auto room = store_.getBySessionId(session_id);
  if (room) remember(*room, read_at);
  return room;
}

void RoomService::setViewersByInput(std::string_view session_id, size_t viewers) {
  {
    std::lock_guard lock(viewers_mutex_);
    if (viewers == 0) {
      viewers_.erase(std::string(session_id));
    } else {
      viewers_[std::string(session_id)] = viewers;
    }
  }
  const auto read_at = RoomCache::Clock::now();
  auto room = store_.getBySessionId(session_id);
  if (room && room->status == RoomStatus::ended) {
    std::lock_guard lock(viewers_mutex_);  // no room.viewers after room.ended
    viewer_events_recorded_.erase(room->room_id);
    viewer_events_due_.erase(room->room_id);
  }
  if (room && room->status != RoomStatus::ended) {
    {
      std::lock_guard lock(viewers_mutex_);
      if (store_.outbox()) viewer_events_due_[room->room_id] = viewers;
      viewer_counts_due_[room->room_id] = viewers;
    }
    notify(RoomChangeKind::kViewers, remember(*room, read_at));
  }
}

size_t RoomService::flushViewerEvents() {
  WebhookOutbox* outbox = store_.outbox();
  if (!outbox) return 0;
  std::unordered_map<std::string, size_t> due;
  {
    std::lock_guard lock(viewers_mutex_);
    due.swap(viewer_events_due_);
  }
  size_t recorded = 0;
  for (const auto& [room_id, viewers] : due) {
    {
      std::lock_guard lock(viewers_mutex_);
      auto last = viewer_events_recorded_.find(room_id);
      const size_t previous = last == viewer_events_recorded_.end() ? 0 : last->second;
      if (previous == viewers) continue;
    }
    try {
      outbox->recordViewers(room_id, viewers, now());
    } catch (const std::exception& e) {
      // Tried again at the next flush, unless a newer count replaced it.
      spdlog::warn("room {}: the viewer count could not be recorded for webhooks: {}", room_id, e.what());
      std::lock_guard lock(viewers_mutex_);
      viewer_events_due_.try_emplace(room_id, viewers);
      continue;
    }
    ++recorded;
    std::lock_guard lock(viewers_mutex_);
    if (viewers == 0) {
      viewer_events_recorded_.erase(room_id);
    } else {
      viewer_events_recorded_[room_id] = viewers;
    }
  }
  return recorded;
}

size_t RoomService::flushViewerCounts() {
  std::unordered_map<std::string, size_t> due;
  {
    std::lock_guard lock(viewers_mutex_);
    due.swap(viewer_counts_due_);
  }
  size_t stored = 0;
  for (const auto& [room_id, viewers] : due) {
    try {
      store_.setViewers(room_id, viewers);
      ++stored;
    } catch (const std::exception& e) {
      spdlog::warn("room {}: the viewer count could not be stored: {}", room_id, e.what());
      std::lock_guard lock(viewers_mutex_);
      viewer_counts_due_.try_emplace(room_id, viewers);  // unless a newer count replaced it
    }
  }
  return stored;
}

size_t RoomService::viewersOf(const RoomRecord& room) const {
  if (room.status == RoomStatus::ended) return 0;
  const size_t here = viewerCount(room.session_id);
  return here > 0 ? here : room.viewers;
}

size_t RoomService::viewerCount(std::string_view session_id) const {
  std::lock_guard lock(viewers_mutex_);
  auto it = viewers_.find(std::string(session_id));
  return it == viewers_.end() ? 0 : it->second;
}

RoomService::ViewerTotals RoomService::viewerTotals() const {
  std::lock_guard lock(viewers_mutex_);
  ViewerTotals totals;
  totals.rooms = viewers_.size();
  for (const auto& [input, n] : viewers_) totals.viewers += n;
  return totals;
}

bool RoomService::ready() {
  try {
    return store_.ping();
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace liveroom::rooms

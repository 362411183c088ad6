// RoomService: the room lifecycle (create, join, update, end, list, live status) over a
// StreamProvider and a RoomStore it knows only by interface. Calls block (store and
// provider I/O); the api layer runs them on the blocking pool, except joinCached().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/room_mode.hpp"
#include "rooms/room_cache.hpp"
#include "rooms/room_events.hpp"
#include "rooms/room_timers.hpp"
#include "store/room_record.hpp"
#include "store/room_store.hpp"
#include "stream/stream_provider.hpp"

namespace liveroom::rooms {

struct RoomServiceOptions {
  std::chrono::milliseconds cache_ttl{2000};
  size_t cache_capacity = 100000;
  // How long after its TTL a cached room may still answer joins while one of them refreshes
  // it from the store (RoomCache): bounds how stale a join can be when the store is slow.
  std::chrono::milliseconds cache_stale{20000};
  // Renders the public view of a room (the api's JSON); kept in the read cache so joins
  // do not render it again. Must show nothing secret.
  // `viewers`: how many watch the room's input right now (viewer counts of the provider).
  std::function<std::string(const RoomRecord&, size_t viewers)> render_public_view;
  // Epoch milliseconds; replaceable so tests control time.
  std::function<int64_t()> now_ms;
};

struct CreatedRoom {
  RoomRecord room;
  std::string host_token;  // plaintext, shown to the creator once
};

struct RoomPage {
  std::vector<RoomRecord> rooms;
  std::optional<ListCursor> next;  // position after the last room, when more may follow
};

class RoomService final : public RoomEvents {
 public:
  // `provider` may be null: reads work, create answers stream_provider_unavailable.
  RoomService(RoomStore& store, StreamProvider* provider, RoomServiceOptions options = {});

  // `visibility`: "public" (listed) or "unlisted" (by link or id only).
  CreatedRoom create(std::string_view title, std::string_view host, RoomMode mode,
                     std::string_view visibility = "public");

  // The room for a viewer: throws room_not_found / room_ended. Cache first, then store.
  std::shared_ptr<const RoomSnapshot> join(std::string_view room_id);
  // Non-blocking fast path for joins: the cached room (throws room_ended when it has ended),
  // or nullptr when not cached (the caller then uses join() on the pool). The room may have
  // expired less than cache_stale ago: then `*refresh_due` may be set, and the caller is to
  // run refresh() on the pool (without `refresh_due`, the next caller gets the job).
  std::shared_ptr<const RoomSnapshot> joinCached(std::string_view room_id, bool* refresh_due = nullptr);
  // Reads the room from the store into the cache (blocking; errors are logged, and the cached
  // room is served on while the next join tries again).
  void refresh(std::string_view room_id) noexcept;

  // Any room, active or ended (cache first); throws room_not_found.
  std::shared_ptr<const RoomSnapshot> get(std::string_view room_id);

  // Host-only operations: throw room_not_found, forbidden (wrong token), room_ended.
  RoomRecord update(std::string_view room_id, std::string_view host_token, std::string_view title);
  // Idempotent: ending an ended room returns it unchanged without calling the provider.
  // end and ingest need the provider that created the room (RoomRecord::provider); under
  // another one (or none) they throw stream_provider_unavailable.
  RoomRecord end(std::string_view room_id, std::string_view host_token);
  RoomRecord ingest(std::string_view room_id, std::string_view host_token);
  // The room, when `host_token` is its host's (any status, any provider): room_not_found,
  // forbidden.
  RoomRecord checkHost(std::string_view room_id, std::string_view host_token) {
    return authorized(room_id, host_token);
  }

  RoomPage list(ListQuery query);

  // Ends every active room whose timer has run out, exactly as POST /end does (provider input
  // deleted, status ended, sessions closed) with the timer's name as ended_reason. Returns how
  // many it ended; a room it cannot end now (provider down) is tried again next time.
  size_t endExpired(const RoomTimers& timers);

  // Provider event: a broadcaster connected (true) or left (false).
  void setLive(std::string_view room_id, bool live);
  // The same, for an event that names the provider's live input (Cloudflare webhooks).
  // Unknown inputs and ended rooms are left alone; returns the room it applied to.
  std::optional<std::string> setLiveByInput(std::string_view session_id, bool live);

  // At start: rooms of `provider` that a previous process left live are not live any more (a
  // crash sends no "broadcaster left"); with `media_base` (this instance's URL) only the rooms
  // whose playback URL is under it, so other instances' rooms stay live. Returns how many.
  size_t clearStaleLive(std::string_view provider, std::string_view media_base = {});
  // Deletes the provider's live inputs that `deployment` (RoomStore::deploymentId) made but no
  // active room owns (a create whose store write and then rollback both failed), once they are
  // older than `min_age` (a create under way has its input before its room). Inputs another
  // deployment made, or that carry no deployment, are never touched.
  // Of `input_uids` (live inputs with media in this process), those whose room has ended — by
  // another instance on the store, whose end could not reach this process's media. Reads the store.
  std::vector<std::string> endedInputs(const std::vector<std::string>& input_uids);
  struct SweepResult {
    size_t listed = 0;   // inputs the provider has
    size_t ours = 0;     // of those, made by `deployment`
    size_t deleted = 0;  // orphans deleted
    size_t failed = 0;   // orphans whose delete failed (tried again next time)
  };
  SweepResult sweepOrphanInputs(std::string_view deployment, std::chrono::milliseconds min_age);

  // The fresh cached room of a live input (a viewer's WHEP POST), or nullptr: then findByInput.
  std::shared_ptr<const RoomSnapshot> findByInputCached(std::string_view input_uid) const;
  // The room of a provider live input (its session_id), any status, read from the store (and
  // cached for findByInputCached); nullopt when none.
  std::optional<RoomRecord> findByInput(std::string_view session_id);
  // Provider event: how many viewers an input has now. Refreshes the room's cached view.
  void setViewersByInput(std::string_view session_id, size_t viewers);
  // The last count reported for an input (0 when none). Non-blocking.
  size_t viewerCount(std::string_view session_id) const;
  // A room's viewers: this process's provider's count when it reports any, else the count the
  // instance carrying the media stored (several instances on one store).
  size_t viewersOf(const RoomRecord& room) const;
  // Stores the viewer counts that changed since the last call (RoomStore::setViewers), so other
  // instances show them; returns how many. Called every 2 s.
  size_t flushViewerCounts();
  // Viewers of every input together, and how many inputs have any (this process's providers'
  // reports).
  struct ViewerTotals {
    size_t viewers = 0;
    size_t rooms = 0;
  };
  ViewerTotals viewerTotals() const;

  bool ready();

  // Webhooks: the store's outbox (null when it keeps none).
  WebhookOutbox* outbox() { return store_.outbox(); }
  // Records a room.viewers event for each room whose viewer count changed since the last one
  // recorded (counts are reported often; this runs every few seconds, so they are coalesced).
  // Returns how many it recorded.
  size_t flushViewerEvents();

  // RoomEvents: the providers' reports, applied like setLiveByInput / setViewersByInput.
  void onLive(std::string_view input_uid, bool live) override { setLiveByInput(input_uid, live); }
  void onViewers(std::string_view input_uid, size_t viewers) override { setViewersByInput(input_uid, viewers); }
  // Every change this service makes is told to `listener` (which must outlive the service or be
  // removed first).
  void addListener(RoomChangeListener& listener);
  void removeListener(RoomChangeListener& listener);
  bool hasProvider() const { return provider_ != nullptr; }
  // "local", "cloudflare", or "" when none is configured.
  std::string providerName() const { return provider_ ? std::string(provider_->name()) : std::string(); }

 private:
  RoomRecord authorized(std::string_view room_id, std::string_view host_token);
  // Provider input deleted, then the room marked ended with `reason` (idempotent).
  RoomRecord finishEnd(const RoomRecord& room, std::string_view reason);
  // Caches the room; `read_at`: when the store read it came from began (none: a write's result).
  std::shared_ptr<const RoomSnapshot> remember(const RoomRecord& room,
                                               std::optional<RoomCache::Clock::time_point> read_at = std::nullopt);
  void notify(RoomChangeKind kind, std::shared_ptr<const RoomSnapshot> room);
  int64_t now() const;

  RoomStore& store_;
  StreamProvider* provider_;
  RoomServiceOptions options_;
  RoomCache cache_;
  mutable std::mutex viewers_mutex_;
  std::unordered_map<std::string, size_t> viewers_;  // input session_id -> viewers (only non-zero)
  // room.viewers not yet recorded (room id -> count), and the last recorded per room (non-zero).
  std::unordered_map<std::string, size_t> viewer_events_due_;
  std::unordered_map<std::string, size_t> viewer_counts_due_;  // room id -> count not yet stored
  std::unordered_map<std::string, size_t> viewer_events_recorded_;
  std::mutex listeners_mutex_;
  std::vector<RoomChangeListener*> listeners_;
};

}  // namespace liveroom::rooms

// RoomService over the real SQLite store and a recording stand-in for the stream
// provider (Cloudflare cannot run here; its real client is tested against a local HTTP
// server in tests/unit/stream). Covers the consistency rules of create and end.
#include "rooms/room_service.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "common/error.hpp"
#include "rooms/secrets.hpp"
#include "rooms/validation.hpp"
#include "store/sqlite/sqlite_room_store.hpp"
#include "support/recording_provider.hpp"

namespace liveroom::rooms {
namespace {

using test_support::RecordingProvider;

// The real store, with inserts that can be made to fail like an unreachable backend.
class FailableStore : public RoomStore {
 public:
  explicit FailableStore(std::string path) : real_(std::move(path)) {}
  void insert(const RoomRecord& room) override {
    if (fail_inserts) throw Error(codes::kStoreUnavailable, "disk on fire");
    if (duplicate_first_inserts > 0) {
      --duplicate_first_inserts;
      throw Error(codes::kRoomExists, "duplicate");
    }
    real_.insert(room);
  }
  std::optional<RoomRecord> get(std::string_view id) override { return real_.get(id); }
  std::optional<RoomRecord> getBySessionId(std::string_view sid) override { return real_.getBySessionId(sid); }
  std::optional<RoomRecord> updateTitle(std::string_view id, std::string_view title, int64_t now) override {
    return real_.updateTitle(id, title, now);
  }
  std::optional<RoomRecord> markEnded(std::string_view id, int64_t at, std::string_view reason) override {
    return real_.markEnded(id, at, reason);
  }
  std::optional<RoomRecord> setLive(std::string_view id, bool live, int64_t now) override {
    return real_.setLive(id, live, now);
  }
  size_t clearLive(std::string_view provider, std::string_view whep_prefix, int64_t now) override {
    return real_.clearLive(provider, whep_prefix, now);
  }
  std::vector<RoomRecord> list(const ListQuery& q) override { return real_.list(q); }
  bool ping() override { return real_.ping(); }
  void setViewers(std::string_view id, size_t viewers) override { real_.setViewers(id, viewers); }
  std::string_view name() const override { return "failable-sqlite"; }

  bool fail_inserts = false;
  int duplicate_first_inserts = 0;

 private:
  SqliteRoomStore real_;
};

class RoomServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("liveroom-service-" + std::to_string(::getpid()) + "-" + randomBase62(8));
    std::filesystem::create_directories(dir_);
    store_ = std::make_unique<FailableStore>((dir_ / "rooms.db").string());
    RoomServiceOptions options;
    options.cache_ttl = std::chrono::milliseconds(60000);
    options.now_ms = [this] { return now_ms_; };
    options.render_public_view = [](const RoomRecord& r, size_t) { return r.title + (r.live ? "|live" : "|idle"); };
    service_ = std::make_unique<RoomService>(*store_, &provider_, options);
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string codeOf(const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.code();
    }
    return "ok";
  }

  std::filesystem::path dir_;
  RecordingProvider provider_;
  std::unique_ptr<FailableStore> store_;
  std::unique_ptr<RoomService> service_;
  int64_t now_ms_ = 1763600000000;
};

TEST_F(RoomServiceTest, CreateStoresRoomWithHashedToken) {
  auto created = service_->create("  Lớp học online ", "user_123", RoomMode::webrtc);
  EXPECT_TRUE(isWellFormedRoomId(created.room.room_id));
  EXPECT_EQ(created.room.title, "Lớp học online");
  EXPECT_EQ(created.room.status, RoomStatus::active);
  EXPECT_FALSE(created.room.live);
  auto stored = store_->get(created.room.room_id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->session_id, "uid1");
  EXPECT_EQ(stored->host_token_hash, sha256Hex(created.host_token));
  EXPECT_EQ(stored->host_token_hash.find(created.host_token), std::string::npos);
  EXPECT_EQ(stored->created_at_ms, now_ms_);
}

TEST_F(RoomServiceTest, CreateValidatesBeforeCallingTheProvider) {
  EXPECT_EQ(codeOf([&] { service_->create(" ", "u", RoomMode::webrtc); }), codes::kInvalidField);
  EXPECT_EQ(codeOf([&] { service_->create("t", "bad\x01host", RoomMode::webrtc); }), codes::kInvalidField);
  EXPECT_EQ(provider_.created, 0);
}

TEST_F(RoomServiceTest, StoreFailureDeletesTheLiveInputAgain) {
  store_->fail_inserts = true;
  EXPECT_EQ(codeOf([&] { service_->create("t", "u", RoomMode::webrtc); }), codes::kStoreUnavailable);
  ASSERT_EQ(provider_.deleted.size(), 1u);
  EXPECT_EQ(provider_.deleted[0], "uid1");
  EXPECT_TRUE(store_->list({}).empty());
}

TEST_F(RoomServiceTest, TheOrphanSweepDeletesOnlyThisDeploymentsOldInputsThatNoActiveRoomOwns) {
  const std::string me = "lrd_000000000000000000000001";
  auto live = service_->create("kept", "u", RoomMode::webrtc);    // uid1: its room is active
  auto ended = service_->create("ended", "u", RoomMode::webrtc);  // uid2: its room ends below
  store_->markEnded(ended.room.room_id, now_ms_, "host");
  auto input = [&](std::string uid, std::string deployment, std::optional<int64_t> age_min) {
    LiveInput in;
    in.uid = std::move(uid);
    in.deployment = std::move(deployment);
    if (age_min) in.created_at_ms = now_ms_ - *age_min * 60'000;
    return in;
  };
  provider_.listed = {
      input("uid1", me, 60),                                // owned by an active room
      input("uid2", me, 60),                                // its room has ended: an orphan
      input("orphan", me, 60),                              // no room: a failed rollback
      input("young", me, 2),                                // no room yet: maybe a create under way
      input("undated", me, std::nullopt),                   // age unknown: left alone
      input("theirs", "lrd_999999999999999999999999", 60),  // another deployment's
      input("untagged", "", 60),                            // made by hand, or before tags
  };
  RoomService::SweepResult r = service_->sweepOrphanInputs(me, std::chrono::minutes(10));
  EXPECT_EQ(r.listed, 7u);
  EXPECT_EQ(r.ours, 5u);
  EXPECT_EQ(r.deleted, 2u);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_EQ(provider_.deleted, (std::vector<std::string>{"uid2", "orphan"}));
  EXPECT_TRUE(store_->get(live.room.room_id));  // rooms are untouched

  // A failed delete is counted and tried again at the next sweep; no deployment, no sweep.
  provider_.deleted.clear();
  provider_.fail_delete = true;
  r = service_->sweepOrphanInputs(me, std::chrono::minutes(10));
  EXPECT_EQ(r.failed, 2u);
  EXPECT_EQ(r.deleted, 0u);
  provider_.fail_delete = false;
  EXPECT_EQ(service_->sweepOrphanInputs("", std::chrono::minutes(10)).listed, 0u);
  EXPECT_TRUE(provider_.deleted.empty());
}

TEST_F(RoomServiceTest, EndedInputsNamesTheInputsWhoseRoomEndedInTheStore) {
  auto a = service_->create("a", "u", RoomMode::webrtc);  // uid1
  auto b = service_->create("b", "u", RoomMode::webrtc);  // uid2
  EXPECT_TRUE(service_->endedInputs({"uid1", "uid2", "unknown"}).empty());
  // Ended by another process on the store: this service's cache still has it active.
  store_->markEnded(b.room.room_id, now_ms_, "host");
  EXPECT_EQ(service_->endedInputs({"uid1", "uid2", "unknown"}), (std::vector<std::string>{"uid2"}));
  EXPECT_TRUE(store_->get(a.room.room_id)->status == RoomStatus::active);
}

TEST_F(RoomServiceTest, ViewerCountsAreStoredAndShownWhereNoProviderReportsThem) {
  auto a = service_->create("a", "u", RoomMode::webrtc);  // uid1
  service_->setViewersByInput("uid1", 3);
  EXPECT_EQ(service_->flushViewerCounts(), 1u);
  EXPECT_EQ(store_->get(a.room.room_id)->viewers, 3u);
  EXPECT_EQ(service_->flushViewerCounts(), 0u);  // nothing changed since
  // Another instance (no report of its own) shows the stored count; this one its own.
  RoomServiceOptions options;
  options.render_public_view = [](const RoomRecord& r, size_t viewers) {
    return r.title + "|" + std::to_string(viewers);
  };
  RoomService other(*store_, &provider_, options);
  EXPECT_EQ(other.viewersOf(*store_->get(a.room.room_id)), 3u);
  EXPECT_EQ(other.join(a.room.room_id)->public_view, "a|3");
  service_->setViewersByInput("uid1", 5);
  EXPECT_EQ(service_->viewersOf(*store_->get(a.room.room_id)), 5u);  // its own report wins
  store_->markEnded(a.room.room_id, now_ms_, "host");
  EXPECT_EQ(other.viewersOf(*store_->get(a.room.room_id)), 0u);  // an ended room has none
}

TEST_F(RoomServiceTest, IdCollisionDrawsANewId) {
  store_->duplicate_first_inserts = 2;
  auto created = service_->create("t", "u", RoomMode::webrtc);
  EXPECT_TRUE(store_->get(created.room.room_id));
  EXPECT_TRUE(provider_.deleted.empty());
}

TEST_F(RoomServiceTest, ProviderFailureCreatesNothing) {
  provider_.fail_create = true;
  EXPECT_EQ(codeOf([&] { service_->create("t", "u", RoomMode::webrtc); }), codes::kProviderError);
  EXPECT_TRUE(store_->list({}).empty());
}

TEST_F(RoomServiceTest, NoProviderAnswersUnavailableButReadsWork) {
  RoomService bare(*store_, nullptr);
  EXPECT_EQ(codeOf([&] { bare.create("t", "u", RoomMode::webrtc); }), codes::kStreamProviderUnavailable);
  EXPECT_TRUE(bare.list({}).rooms.empty());
  EXPECT_EQ(codeOf([&] { bare.join("live_abcdefghijkl"); }), codes::kRoomNotFound);
}

TEST_F(RoomServiceTest, JoinIsServedFromCacheAfterFirstRead) {
  auto created = service_->create("t", "u", RoomMode::webrtc);
  auto first = service_->joinCached(created.room.room_id);
  ASSERT_TRUE(first);  // create primes the cache
  EXPECT_EQ(first->public_view, "t|idle");
  EXPECT_EQ(codeOf([&] { service_->join("live_unknown000000"); }), codes::kRoomNotFound);
}

TEST_F(RoomServiceTest, AnExpiredRoomAnswersJoinsWhileOneOfThemRefreshesIt) {
  RoomServiceOptions options;
  options.cache_ttl = std::chrono::milliseconds(30);
  options.cache_stale = std::chrono::milliseconds(60000);
  options.render_public_view = [](const RoomRecord& r, size_t) { return r.title; };
  RoomService service(*store_, &provider_, options);
  auto created = service.create("before", "u", RoomMode::webrtc);
  const std::string id = created.room.room_id;
  store_->updateTitle(id, "changed by another process", now_ms_);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));  // past the TTL
  bool due = false;
  EXPECT_EQ(service.joinCached(id, &due)->public_view, "before");
  EXPECT_TRUE(due);
  bool again = true;
  EXPECT_EQ(service.joinCached(id, &again)->public_view, "before");
  EXPECT_FALSE(again) << "one refresh at a time";
  service.refresh(id);
  EXPECT_EQ(service.joinCached(id)->public_view, "changed by another process");
  store_->markEnded(id, now_ms_, "host");
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  EXPECT_TRUE(service.joinCached(id, &due));
  ASSERT_TRUE(due);
  service.refresh(id);
  EXPECT_EQ(codeOf([&] { service.joinCached(id); }), codes::kRoomEnded);
}

TEST_F(RoomServiceTest, UpdateNeedsTheHostTokenAndRefreshesTheCache) {
  auto created = service_->create("old", "u", RoomMode::webrtc);
  EXPECT_EQ(codeOf([&] { service_->update(created.room.room_id, "wrong", "new"); }), codes::kForbidden);
  auto updated = service_->update(created.room.room_id, created.host_token, "new");
  EXPECT_EQ(updated.title, "new");
  EXPECT_EQ(service_->joinCached(created.room.room_id)->public_view, "new|idle");
}

TEST_F(RoomServiceTest, EndDeletesInputMarksEndedAndIsIdempotent) {
  auto created = service_->create("t", "u", RoomMode::webrtc);
  const auto& id = created.room.room_id;
  EXPECT_EQ(codeOf([&] { service_->end(id, "wrong"); }), codes::kForbidden);
  now_ms_ += 5000;
  auto ended = service_->end(id, created.host_token);
  EXPECT_EQ(ended.status, RoomStatus::ended);
  EXPECT_EQ(ended.ended_at_ms, now_ms_);
  EXPECT_EQ(provider_.deleted, std::vector<std::string>{"uid1"});
  now_ms_ += 5000;
  auto again = service_->end(id, created.host_token);
  EXPECT_EQ(again.ended_at_ms, ended.ended_at_ms);
  EXPECT_EQ(provider_.deleted.size(), 1u);  // no second provider call
  EXPECT_EQ(codeOf([&] { service_->joinCached(id); }), codes::kRoomEnded);
  EXPECT_EQ(codeOf([&] { service_->join(id); }), codes::kRoomEnded);
  EXPECT_EQ(codeOf([&] { service_->update(id, created.host_token, "x"); }), codes::kRoomEnded);
  EXPECT_EQ(codeOf([&] { service_->ingest(id, created.host_token); }), codes::kRoomEnded);
}

TEST_F(RoomServiceTest, ProviderFailureOnEndLeavesTheRoomActive) {
  auto created = service_->create("t", "u", RoomMode::webrtc);
  provider_.fail_delete = true;
  EXPECT_EQ(codeOf([&] { service_->end(created.room.room_id, created.host_token); }), codes::kProviderUnavailable);
  EXPECT_EQ(store_->get(created.room.room_id)->status, RoomStatus::active);
  provider_.fail_delete = false;
  EXPECT_EQ(service_->end(created.room.room_id, created.host_token).status, RoomStatus::ended);
}

TEST_F(RoomServiceTest, CreateRecordsTheProviderThatMadeTheRoom) {
  auto created = service_->create("t", "u", RoomMode::webrtc);
  EXPECT_EQ(created.room.provider, "recording");
  EXPECT_EQ(store_->get(created.room.room_id)->provider, "recording");
}

// A room another provider created (e.g. on Cloudflare, before liveroom was restarted on
// the embedded server): its live input is not ours to delete nor its secrets ours to hand out.
TEST_F(RoomServiceTest, EndAndIngestRefuseARoomOfAnotherProvider) {
  auto created = service_->create("t", "u", RoomMode::webrtc);
  const auto& id = created.room.room_id;
  RecordingProvider local;
  local.provider_name = "local";
  RoomService other(*store_, &local);

  auto messageOf = [&](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), codes::kStreamProviderUnavailable) << e.what();
      return std::string(e.what());
    }
    ADD_FAILURE() << "no error";
    return std::string();
  };
  std::string message = messageOf([&] { other.end(id, created.host_token); });
  EXPECT_NE(message.find("this room runs on recording"), std::string::npos) << message;
  EXPECT_NE(message.find("end it"), std::string::npos) << message;
  messageOf([&] { other.ingest(id, created.host_token); });
  EXPECT_TRUE(local.deleted.empty());
  EXPECT_TRUE(provider_.deleted.empty());
  EXPECT_EQ(store_->get(id)->status, RoomStatus::active);
  // Host checks still come first.
  EXPECT_EQ(codeOf([&] { other.end(id, "wrong"); }), codes::kForbidden);

  // Its own provider ends it; ending it again anywhere stays idempotent.
  EXPECT_EQ(service_->end(id, created.host_token).status, RoomStatus::ended);
  EXPECT_EQ(provider_.deleted, std::vector<std::string>{"uid1"});
  EXPECT_EQ(other.end(id, created.host_token).status, RoomStatus::ended);
  EXPECT_TRUE(local.deleted.empty());
  EXPECT_EQ(codeOf([&] { other.ingest(id, created.host_token); }), codes::kRoomEnded);
}

TEST_F(RoomServiceTest, CloudflareRoomUnderLocalProviderNamesTheCloudflareSettings) {
  RoomRecord room;
  room.room_id = "live_cloudflare0001";
  room.title = "t";
  room.host = "u";
  room.mode = RoomMode::webrtc;
  room.status = RoomStatus::active;
  room.provider = "cloudflare";
  room.session_id = "cf-uid";
  room.host_token_hash = sha256Hex("lrh_token");
  room.created_at_ms = room.updated_at_ms = now_ms_;
  store_->insert(room);
  provider_.provider_name = "local";
  try {
    service_->end(room.room_id, "lrh_token");
    FAIL() << "ended a Cloudflare room through the local provider";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kStreamProviderUnavailable);
    EXPECT_NE(std::string(e.what()).find("this room runs on cloudflare; start liveroom with the Cloudflare settings"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(provider_.deleted.empty());
  EXPECT_EQ(store_->get(room.room_id)->status, RoomStatus::active);
}

TEST_F(RoomServiceTest, EndAndIngestWithoutAProviderAnswerUnavailable) {
  auto created = service_->create("t", "u", RoomMode::webrtc);
  const auto& id = created.room.room_id;
  RoomService bare(*store_, nullptr);
  EXPECT_EQ(codeOf([&] { bare.end(id, created.host_token); }), codes::kStreamProviderUnavailable);
  EXPECT_EQ(codeOf([&] { bare.ingest(id, created.host_token); }), codes::kStreamProviderUnavailable);
  EXPECT_EQ(store_->get(id)->status, RoomStatus::active);
  service_->end(id, created.host_token);
  EXPECT_EQ(bare.end(id, created.host_token).status, RoomStatus::ended);  // already ended: idempotent
}

TEST_F(RoomServiceTest, ListPagesWithCursor) {
  for (int i = 0; i < 5; ++i) {
    ++now_ms_;
    service_->create("room " + std::to_string(i), "u", RoomMode::webrtc);
  }
  ListQuery q;
  q.limit = 2;
  auto page1 = service_->list(q);
  ASSERT_EQ(page1.rooms.size(), 2u);
  EXPECT_EQ(page1.rooms[0].title, "room 4");
  ASSERT_TRUE(page1.next);
  q.after = page1.next;
  auto page2 = service_->list(q);
  EXPECT_EQ(page2.rooms[0].title, "room 2");
  q.after = page2.next;
  auto page3 = service_->list(q);
  ASSERT_EQ(page3.rooms.size(), 1u);
  EXPECT_FALSE(page3.next);
}

TEST_F(RoomServiceTest, SetLiveUpdatesStoreAndCache) {
  auto created = service_->create("t", "u", RoomMode::webrtc);
  service_->setLive(created.room.room_id, true);
  EXPECT_TRUE(store_->get(created.room.room_id)->live);
  EXPECT_EQ(service_->joinCached(created.room.room_id)->public_view, "t|live");
}

TEST_F(RoomServiceTest, SetLiveByInputFollowsProviderEvents) {
  auto created = service_->create("t", "u", RoomMode::webrtc);
  EXPECT_EQ(service_->setLiveByInput("uid1", true), created.room.room_id);
  EXPECT_TRUE(store_->get(created.room.room_id)->live);
  EXPECT_EQ(service_->joinCached(created.room.room_id)->public_view, "t|live");
  EXPECT_EQ(service_->setLiveByInput("uid1", false), created.room.room_id);
  EXPECT_FALSE(store_->get(created.room.room_id)->live);
  EXPECT_EQ(service_->setLiveByInput("uid-unknown", true), std::nullopt);
  service_->end(created.room.room_id, created.host_token);
  EXPECT_EQ(service_->setLiveByInput("uid1", true), std::nullopt);  // an ended room stays off air
  EXPECT_FALSE(store_->get(created.room.room_id)->live);
}

TEST_F(RoomServiceTest, VisibilityIsKeptAndChecked) {
  auto unlisted = service_->create("t", "u", RoomMode::webrtc, "unlisted");
  EXPECT_EQ(store_->get(unlisted.room.room_id)->visibility, "unlisted");
  EXPECT_EQ(store_->get(service_->create("t", "u", RoomMode::webrtc).room.room_id)->visibility, "public");
  EXPECT_EQ(codeOf([&] { service_->create("t", "u", RoomMode::webrtc, "secret"); }), codes::kInvalidField);
}

TEST(RoomTimers, EachTimerCountsFromTheRightStoredTime) {
  using namespace std::chrono_literals;
  RoomTimers timers;
  timers.idle = 60s;
  timers.empty = 30s;
  timers.max_duration = 3600s;
  RoomRecord room;
  room.status = RoomStatus::active;
  room.provider = "local";
  room.created_at_ms = 1'000'000;
  const int64_t t0 = room.created_at_ms;
  EXPECT_EQ(expiredTimer(room, t0 + 59'999, timers), std::nullopt);
  EXPECT_EQ(expiredTimer(room, t0 + 60'000, timers), "idle");  // never went live
  room.live = true;
  room.live_changed_at_ms = t0 + 10'000;
  EXPECT_EQ(expiredTimer(room, t0 + 3'599'999, timers), std::nullopt);  // live: no idle/empty
  EXPECT_EQ(expiredTimer(room, t0 + 3'600'000, timers), "max_duration");
  room.live = false;
  room.live_changed_at_ms = t0 + 100'000;  // the broadcaster left
  EXPECT_EQ(expiredTimer(room, t0 + 129'999, timers), std::nullopt);
  EXPECT_EQ(expiredTimer(room, t0 + 130'000, timers), "empty");
  // Off when 0; providers that do not report live status only get the max duration.
  timers.empty = 0s;
  EXPECT_EQ(expiredTimer(room, t0 + 130'000, timers), std::nullopt);
  timers.empty = 30s;
  timers.knows_live = [](std::string_view provider) { return provider == "local"; };
  room.provider = "cloudflare";
  EXPECT_EQ(expiredTimer(room, t0 + 130'000, timers), std::nullopt);
  EXPECT_EQ(expiredTimer(room, t0 + 3'600'000, timers), "max_duration");
  room.status = RoomStatus::ended;
  EXPECT_EQ(expiredTimer(room, t0 + 9'000'000, timers), std::nullopt);
}

TEST_F(RoomServiceTest, ExpiredRoomsEndLikeAnEndWithTheirReason) {
  using namespace std::chrono_literals;
  RoomTimers timers;
  timers.idle = 600s;
  timers.empty = 60s;
  timers.max_duration = 7200s;
  auto idle = service_->create("never live", "u", RoomMode::webrtc);
  auto left = service_->create("broadcaster left", "u", RoomMode::webrtc);
  auto on_air = service_->create("on air", "u", RoomMode::webrtc);
  service_->setLive(left.room.room_id, true);
  service_->setLive(on_air.room.room_id, true);
  now_ms_ += 1'000;
  service_->setLive(left.room.room_id, false);
  EXPECT_EQ(service_->endExpired(timers), 0u);

  now_ms_ += 60'000;  // the empty timer of `left` runs out
  EXPECT_EQ(service_->endExpired(timers), 1u);
  auto ended = store_->get(left.room.room_id);
  EXPECT_EQ(ended->status, RoomStatus::ended);
  EXPECT_EQ(ended->ended_reason, "empty");
  EXPECT_EQ(provider_.deleted, std::vector<std::string>{left.room.session_id});      // like POST /end
  EXPECT_EQ(codeOf([&] { service_->join(left.room.room_id); }), codes::kRoomEnded);  // the cache knows

  now_ms_ += 600'000;  // idle runs out for the room that never went live
  EXPECT_EQ(service_->endExpired(timers), 1u);
  EXPECT_EQ(store_->get(idle.room.room_id)->ended_reason, "idle");
  EXPECT_EQ(store_->get(on_air.room.room_id)->status, RoomStatus::active);

  // A provider failure leaves the room for the next scan.
  now_ms_ += 7'200'000;
  provider_.fail_delete = true;
  EXPECT_EQ(service_->endExpired(timers), 0u);
  EXPECT_EQ(store_->get(on_air.room.room_id)->status, RoomStatus::active);
  provider_.fail_delete = false;
  EXPECT_EQ(service_->endExpired(timers), 1u);
  EXPECT_EQ(store_->get(on_air.room.room_id)->ended_reason, "max_duration");
  // A host's end says "host".
  auto hosted = service_->create("t", "u", RoomMode::webrtc);
  service_->end(hosted.room.room_id, hosted.host_token);
  EXPECT_EQ(store_->get(hosted.room.room_id)->ended_reason, "host");
}

}  // namespace
}  // namespace liveroom::rooms

// The RoomStore contract, checked once against every implementation (SQLite always;
// MongoDB when LIVEROOM_TEST_MONGODB_URI points at a server, e.g. FerretDB through
// scripts/with-ferretdb; the RoomRegistry contract on a local anvil chain when the contract
// toolchain is installed), plus the checks specific to SQLite and MongoDB (the contract
// store's own are in contract_room_store_test.cpp).
#include <mongoc/mongoc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <numeric>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "common/error.hpp"
#include "store/mongo/mongo_room_store.hpp"
#include "store/outbox.hpp"
#include "store/room_store.hpp"
#include "store/sqlite/sqlite_room_store.hpp"
#include "support/registry_chain.hpp"

namespace liveroom {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // an arbitrary epoch-ms origin for test times

std::string uniqueSuffix() {
  static std::atomic<int> counter{0};
  std::random_device random;
  return fmt::format("{}_{}_{:08x}", ::getpid(), counter++, random());
}

// ---- backends under test ----

// Owns one backend's data for one test (a temp file, a database) and opens stores on it;
// opening twice gives two stores over the same data (a restart).
class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  virtual std::unique_ptr<RoomStore> open() = 0;
  // A store that records in its outbox per `policy` from the start.
  virtual std::unique_ptr<RoomStore> openRecording(std::shared_ptr<const OutboxPolicy> policy) {
    auto store = open();
    store->setOutboxPolicy(std::move(policy));
    return store;
  }
};

class SqliteHarness final : public StoreHarness {
 public:
  SqliteHarness() : dir_(std::filesystem::temp_directory_path() / ("liveroom_store_test_" + uniqueSuffix())) {}
  ~SqliteHarness() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::unique_ptr<RoomStore> open() override { return std::make_unique<SqliteRoomStore>(file()); }
  std::string file() const { return (dir_ / "data" / "liveroom.db").string(); }

 private:
  std::filesystem::path dir_;
};

struct MongoClientDeleter {
  void operator()(mongoc_client_t* client) const { mongoc_client_destroy(client); }
};
using MongoClient = std::unique_ptr<mongoc_client_t, MongoClientDeleter>;

// A fresh database per test, named uniquely so parallel runs never collide; dropped after.
class MongoHarness final : public StoreHarness {
 public:
  explicit MongoHarness(const std::string& base_uri)
      : database_("lr_test_" + uniqueSuffix()), uri_(withDatabase(base_uri, database_)) {
    mongoc_init();
  }
  ~MongoHarness() override {
    MongoClient client = connect();
    if (!client) return;
    mongoc_database_t* database = mongoc_client_get_database(client.get(), database_.c_str());
    bson_error_t error;
    if (!mongoc_database_drop(database, &error)) {
      ADD_FAILURE() << "cannot drop test database " << database_ << ": " << error.message;
    }
    mongoc_database_destroy(database);
  }
  std::unique_ptr<RoomStore> open() override { return std::make_unique<MongoRoomStore>(uri_); }

  const std::string& database() const { return database_; }
  MongoClient connect() const { return MongoClient(mongoc_client_new(uri_.c_str())); }

  // Replaces the path of a mongodb:// URI (keeping any ?options) with `/database`.
  static std::string withDatabase(const std::string& uri, const std::string& database) {
    std::size_t authority = uri.find("://");
    authority = authority == std::string::npos ? 0 : authority + 3;
    std::size_t query = uri.find('?', authority);
    std::string options = query == std::string::npos ? "" : uri.substr(query);
    std::size_t path = uri.find('/', authority);
    std::size_t host_end = std::min(path, query);
    return uri.substr(0, host_end) + "/" + database + options;
  }

 private:
  std::string database_;
  std::string uri_;
};

// A fresh RoomRegistry on a local anvil chain per test; the index file in a temp dir.
class ContractHarness final : public StoreHarness {
 public:
  explicit ContractHarness(const std::filesystem::path& anvil_bin)
      : chain_(anvil_bin),
        dir_(std::filesystem::temp_directory_path() / ("liveroom_contract_test_" + uniqueSuffix())) {}
  ~ContractHarness() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  bool start() { return chain_.start(); }
  std::unique_ptr<RoomStore> open() override { return chain_.openStore(dir_ / "index.db"); }
  // The contract store takes its policy as it opens (its scanner runs from then on).
  std::unique_ptr<RoomStore> openRecording(std::shared_ptr<const OutboxPolicy> policy) override {
    return chain_.openStore(dir_ / "index.db", nullptr, 2000, std::move(policy));
  }

 private:
  test_support::RegistryChain chain_;
  std::filesystem::path dir_;
};

enum class Backend { sqlite, mongodb, contract };

std::string backendName(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::sqlite:
      return "Sqlite";
    case Backend::mongodb:
      return "MongoDB";
    case Backend::contract:
      return "Contract";
  }
  return "Unknown";
}

const char* mongoUriFromEnv() {
  const char* uri = std::getenv("LIVEROOM_TEST_MONGODB_URI");
  return uri && *uri ? uri : nullptr;
}

bool mongoRequired() {
  const char* required = std::getenv("LIVEROOM_REQUIRE_MONGODB");
  return required && std::string(required) == "1";
}

constexpr const char* kNoMongoMessage =
    "LIVEROOM_TEST_MONGODB_URI is not set: run under scripts/with-ferretdb to test the MongoDB store";

// ---- room builders ----

RoomRecord makeRoom(const std::string& id, int64_t created_at_ms, const std::string& host = "alice",
                    const std::string& status = "active") {
  RoomRecord room;
  room.room_id = id;
  room.title = "Room " + id;
  room.host = host;
  room.mode = RoomMode::webrtc;
  room.status = parseRoomStatus(status).value();
  room.live = false;
  room.provider = "cloudflare";
  room.session_id = "uid_" + id;
  room.ingest.whip_url = "https://media.example/secret" + id + "/webRTC/publish";
  room.playback.whep_url = "https://media.example/uid_" + id + "/webRTC/play";
  room.host_token_hash = std::string(64, 'a');
  room.created_at_ms = created_at_ms;
  room.updated_at_ms = created_at_ms;
  if (status == "ended") room.ended_at_ms = created_at_ms + 1;
  return room;
}

// Newest first: the order every list must follow.
void sortNewestFirst(std::vector<RoomRecord>& rooms) {
  std::sort(rooms.begin(), rooms.end(), [](const RoomRecord& a, const RoomRecord& b) {
    if (a.created_at_ms != b.created_at_ms) return a.created_at_ms > b.created_at_ms;
    return a.room_id > b.room_id;
  });
}

std::vector<std::string> ids(const std::vector<RoomRecord>& rooms) {
  std::vector<std::string> result;
  for (const RoomRecord& room : rooms) result.push_back(room.room_id);
  return result;
}

ListCursor cursorAfter(const RoomRecord& room) { return ListCursor{room.created_at_ms, room.room_id}; }

// Spelled out instead of designated initializers, which -Wextra flags when fields are left out.
ListQuery query(std::optional<std::string> status, std::optional<std::string> host, int limit = 20,
                std::optional<ListCursor> after = std::nullopt) {
  ListQuery result;
  if (status) result.status = parseRoomStatus(*status).value();
  result.host = std::move(host);
  result.limit = limit;
  result.after = std::move(after);
  return result;
}

// ---- the conformance suite ----

class RoomStoreConformanceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::mongodb) {
      const char* uri = mongoUriFromEnv();
      if (!uri) {
        if (mongoRequired()) FAIL() << kNoMongoMessage << " (LIVEROOM_REQUIRE_MONGODB=1)";
        GTEST_SKIP() << kNoMongoMessage;
      }
      harness_ = std::make_unique<MongoHarness>(uri);
    } else if (GetParam() == Backend::contract) {
      LIVEROOM_REQUIRE_ANVIL(anvil_bin);
      auto harness = std::make_unique<ContractHarness>(*anvil_bin);
      if (!harness->start()) return;
      harness_ = std::move(harness);
    } else {
      harness_ = std::make_unique<SqliteHarness>();
    }
    store_ = harness_->open();
  }
  void TearDown() override {
    store_.reset();
    harness_.reset();
  }

  std::unique_ptr<StoreHarness> harness_;
  std::unique_ptr<RoomStore> store_;
};

TEST_P(RoomStoreConformanceTest, InsertThenGetRoundTripsEveryField) {
  RoomRecord full = makeRoom("live_full", kT0, "bob", "ended");
  full.title = "Lớp học online 🎥";
  full.mode = RoomMode::broadcast;
  full.live = true;
  full.provider = "local";
  full.ingest.rtmps_url = "rtmps://live.example:443/live/";
  full.ingest.rtmps_stream_key = "stream-key";
  full.ingest.srt_url = "srt://live.example:778";
  full.ingest.srt_stream_id = "stream-id";
  full.ingest.srt_passphrase = "srt-pass";
  full.playback.hls_url = "https://cdn.example/v.m3u8";
  full.playback.dash_url = "https://cdn.example/v.mpd";
  full.updated_at_ms = kT0 + 5;
  full.ended_at_ms = kT0 + 7;

  RoomRecord bare = makeRoom("live_bare", kT0 + 1);
  bare.ingest = {};
  bare.playback = {};
  bare.ended_at_ms.reset();

  store_->insert(full);
  store_->insert(bare);
  EXPECT_EQ(store_->get("live_full"), full);
  EXPECT_EQ(store_->get("live_bare"), bare);
}

TEST_P(RoomStoreConformanceTest, ProviderRoundTripsThroughEveryOperation) {
  RoomRecord cloudflare = makeRoom("live_pc", kT0);
  RoomRecord local = makeRoom("live_pl", kT0 + 1);
  local.provider = "local";
  store_->insert(cloudflare);
  store_->insert(local);
  EXPECT_EQ(store_->get("live_pc")->provider, "cloudflare");
  EXPECT_EQ(store_->get("live_pl")->provider, "local");
  EXPECT_EQ(store_->getBySessionId("uid_live_pl")->provider, "local");
  EXPECT_EQ(store_->updateTitle("live_pl", "t", kT0 + 2)->provider, "local");
  EXPECT_EQ(store_->setLive("live_pl", true, kT0 + 3)->provider, "local");
  EXPECT_EQ(store_->markEnded("live_pl", kT0 + 4, "host")->provider, "local");
  std::vector<RoomRecord> listed = store_->list({});
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].provider, "local");
  EXPECT_EQ(listed[1].provider, "cloudflare");
}

TEST_P(RoomStoreConformanceTest, DuplicateIdIsRejectedWithRoomExists) {
  RoomRecord original = makeRoom("live_dup", kT0);
  store_->insert(original);
  RoomRecord other = makeRoom("live_dup", kT0 + 10, "mallory");
  try {
    store_->insert(other);
    FAIL() << "duplicate insert succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kRoomExists) << e.what();
  }
  EXPECT_EQ(store_->get("live_dup"), original);
}

TEST_P(RoomStoreConformanceTest, GetUnknownIsNullopt) { EXPECT_EQ(store_->get("live_nope"), std::nullopt); }

TEST_P(RoomStoreConformanceTest, GetBySessionIdFindsTheRoomOfALiveInput) {
  RoomRecord a = makeRoom("live_a", kT0);
  RoomRecord b = makeRoom("live_b", kT0 + 1);
  store_->insert(a);
  store_->insert(b);
  EXPECT_EQ(store_->getBySessionId("uid_live_b"), b);
  EXPECT_EQ(store_->getBySessionId("uid_live_a"), a);
  EXPECT_EQ(store_->getBySessionId("uid_unknown"), std::nullopt);
}

TEST_P(RoomStoreConformanceTest, UpdateTitleSetsTitleAndUpdatedAt) {
  store_->insert(makeRoom("live_t", kT0));
  std::optional<RoomRecord> updated = store_->updateTitle("live_t", "Lớp học online", kT0 + 100);
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->title, "Lớp học online");
  EXPECT_EQ(updated->updated_at_ms, kT0 + 100);
  EXPECT_EQ(updated->created_at_ms, kT0);
  EXPECT_EQ(store_->get("live_t"), updated);
  EXPECT_EQ(store_->updateTitle("live_nope", "x", kT0), std::nullopt);
}

TEST_P(RoomStoreConformanceTest, MarkEndedKeepsTheFirstEndedAt) {
  RoomRecord room = makeRoom("live_e", kT0);
  room.live = true;
  store_->insert(room);

  std::optional<RoomRecord> ended = store_->markEnded("live_e", kT0 + 50, "host");
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->status, RoomStatus::ended);
  EXPECT_FALSE(ended->live);
  EXPECT_EQ(ended->ended_at_ms, kT0 + 50);
  EXPECT_EQ(store_->get("live_e"), ended);

  std::optional<RoomRecord> again = store_->markEnded("live_e", kT0 + 90, "host");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, RoomStatus::ended);
  EXPECT_EQ(again->ended_at_ms, kT0 + 50);
  EXPECT_EQ(store_->get("live_e")->ended_at_ms, kT0 + 50);

  EXPECT_EQ(store_->markEnded("live_nope", kT0, "host"), std::nullopt);
}

TEST_P(RoomStoreConformanceTest, SetLiveSetsFlagAndUpdatedAt) {
  store_->insert(makeRoom("live_l", kT0));
  std::optional<RoomRecord> on = store_->setLive("live_l", true, kT0 + 3);
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->live);
  EXPECT_EQ(on->updated_at_ms, kT0 + 3);
  EXPECT_TRUE(store_->get("live_l")->live);

  std::optional<RoomRecord> off = store_->setLive("live_l", false, kT0 + 4);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->live);
  EXPECT_EQ(store_->get("live_l"), off);

  EXPECT_EQ(store_->setLive("live_nope", true, kT0), std::nullopt);
}

TEST_P(RoomStoreConformanceTest, ClearLiveTurnsOffOnlyTheProvidersLiveRooms) {
  RoomRecord local_live = makeRoom("live_c1", kT0);
  RoomRecord local_quiet = makeRoom("live_c2", kT0 + 1);
  RoomRecord cloudflare_live = makeRoom("live_c3", kT0 + 2);
  local_live.provider = local_quiet.provider = "local";
  for (const RoomRecord& r : {local_live, local_quiet, cloudflare_live}) store_->insert(r);
  store_->setLive("live_c1", true, kT0 + 5);
  store_->setLive("live_c3", true, kT0 + 5);

  EXPECT_EQ(store_->clearLive("local", "", kT0 + 9), 1u);
  EXPECT_FALSE(store_->get("live_c1")->live);
  EXPECT_EQ(store_->get("live_c1")->updated_at_ms, kT0 + 9);
  EXPECT_EQ(store_->get("live_c2")->updated_at_ms, kT0 + 1);  // was not live: untouched
  EXPECT_TRUE(store_->get("live_c3")->live);                  // another provider's room
  EXPECT_EQ(store_->clearLive("local", "", kT0 + 10), 0u);
}

TEST_P(RoomStoreConformanceTest, CountsRoomsByStatusAndLive) {
  EXPECT_EQ(store_->countRooms(), (RoomCounts{0, 0, 0}));
  for (int i = 0; i < 4; ++i) store_->insert(makeRoom("live_n" + std::to_string(i), kT0 + i));
  store_->setLive("live_n0", true, kT0 + 5);
  store_->setLive("live_n1", true, kT0 + 5);
  store_->markEnded("live_n1", kT0 + 6, "host");  // ended: no longer live
  store_->markEnded("live_n2", kT0 + 6, "host");
  EXPECT_EQ(store_->countRooms(), (RoomCounts{2, 2, 1}));
}

TEST_P(RoomStoreConformanceTest, TheDeploymentIdIsDrawnOnceAndKept) {
  const std::string id = store_->deploymentId();
  EXPECT_EQ(id.size(), 28u) << id;
  EXPECT_TRUE(id.starts_with("lrd_")) << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 4), std::string::npos) << id;
  EXPECT_EQ(store_->deploymentId(), id);
  // Another process on the same store (here: another handle) reads the same id.
  std::unique_ptr<RoomStore> other = harness_->open();
  EXPECT_EQ(other->deploymentId(), id);
  other.reset();
  store_.reset();
  store_ = harness_->open();
  EXPECT_EQ(store_->deploymentId(), id);
}

TEST_P(RoomStoreConformanceTest, ClearLiveWithAPrefixSparesOtherInstancesRooms) {
  RoomRecord mine = makeRoom("live_p1", kT0);
  RoomRecord theirs = makeRoom("live_p2", kT0 + 1);
  RoomRecord mine_too = makeRoom("live_p3", kT0 + 2);
  mine.provider = theirs.provider = mine_too.provider = "local";
  mine.playback.whep_url = "http://10.0.0.1:8080/0123/webRTC/play";
  mine_too.playback.whep_url = "http://10.0.0.1:8080/4567/webRTC/play";
  theirs.playback.whep_url = "http://10.0.0.1:80801/89ab/webRTC/play";  // a longer port: not under the prefix
  for (const RoomRecord& r : {mine, theirs, mine_too}) {
    store_->insert(r);
    store_->setLive(r.room_id, true, kT0 + 5);
  }
  EXPECT_EQ(store_->clearLive("local", "http://10.0.0.1:8080/", kT0 + 9), 2u);
  EXPECT_FALSE(store_->get("live_p1")->live);
  EXPECT_FALSE(store_->get("live_p3")->live);
  EXPECT_TRUE(store_->get("live_p2")->live);
  EXPECT_EQ(store_->clearLive("local", "", kT0 + 10), 1u);
  EXPECT_FALSE(store_->get("live_p2")->live);
}

TEST_P(RoomStoreConformanceTest, AStoredViewerCountIsReadBackByEveryRead) {
  store_->insert(makeRoom("live_w1", kT0));
  EXPECT_EQ(store_->get("live_w1")->viewers, 0u);
  store_->setViewers("live_w1", 7);
  EXPECT_EQ(store_->get("live_w1")->viewers, 7u);
  EXPECT_EQ(store_->get("live_w1")->updated_at_ms, kT0);  // not an update of the room
  EXPECT_EQ(store_->getBySessionId(store_->get("live_w1")->session_id)->viewers, 7u);
  EXPECT_EQ(store_->list(query(std::nullopt, std::nullopt)).at(0).viewers, 7u);
  store_->setViewers("live_w1", 0);
  EXPECT_EQ(store_->get("live_w1")->viewers, 0u);
  EXPECT_NO_THROW(store_->setViewers("live_nope", 3));
  // Another handle on the store (another instance) reads it too.
  store_->setViewers("live_w1", 4);
  EXPECT_EQ(harness_->open()->get("live_w1")->viewers, 4u);
}

TEST_P(RoomStoreConformanceTest, VisibilityLiveChangesAndEndReasonsAreKept) {
  RoomRecord unlisted = makeRoom("live_v1", kT0);
  unlisted.visibility = "unlisted";
  store_->insert(unlisted);
  store_->insert(makeRoom("live_v2", kT0 + 1));
  EXPECT_EQ(store_->get("live_v1")->visibility, "unlisted");
  EXPECT_EQ(store_->get("live_v2")->visibility, "public");
  ListQuery listed;
  listed.visibility = "public";
  EXPECT_EQ(ids(store_->list(listed)), std::vector<std::string>{"live_v2"});
  listed.visibility = "unlisted";
  EXPECT_EQ(ids(store_->list(listed)), std::vector<std::string>{"live_v1"});
  EXPECT_EQ(ids(store_->list({})), (std::vector<std::string>{"live_v2", "live_v1"}));

  // live_changed_at: none until the flag first changes, then the time of each change only.
  EXPECT_EQ(store_->get("live_v2")->live_changed_at_ms, std::nullopt);
  EXPECT_EQ(store_->setLive("live_v2", true, kT0 + 10)->live_changed_at_ms, kT0 + 10);
  EXPECT_EQ(store_->setLive("live_v2", true, kT0 + 11)->live_changed_at_ms, kT0 + 10);  // no change
  EXPECT_EQ(store_->setLive("live_v2", false, kT0 + 12)->live_changed_at_ms, kT0 + 12);

  // The first end's reason stays.
  EXPECT_EQ(store_->markEnded("live_v2", kT0 + 20, "idle")->ended_reason, "idle");
  EXPECT_EQ(store_->markEnded("live_v2", kT0 + 21, "host")->ended_reason, "idle");
  EXPECT_EQ(store_->get("live_v2")->ended_reason, "idle");
  EXPECT_EQ(store_->get("live_v1")->ended_reason, std::nullopt);
}

TEST_P(RoomStoreConformanceTest, ListFiltersByStatusHostAndBothNewestFirst) {
  std::vector<RoomRecord> all = {
      makeRoom("live_a1", kT0 + 1, "alice", "active"), makeRoom("live_a2", kT0 + 2, "alice", "ended"),
      makeRoom("live_a3", kT0 + 3, "alice", "active"), makeRoom("live_b1", kT0 + 4, "bob", "active"),
      makeRoom("live_b2", kT0 + 5, "bob", "ended"),
  };
  for (const RoomRecord& room : all) store_->insert(room);

  auto expectIds = [&](const ListQuery& list_query, std::vector<std::string> expected) {
    EXPECT_EQ(ids(store_->list(list_query)), expected);
  };
  expectIds({}, {"live_b2", "live_b1", "live_a3", "live_a2", "live_a1"});
  expectIds(query("active", {}), {"live_b1", "live_a3", "live_a1"});
  expectIds(query("ended", {}), {"live_b2", "live_a2"});
  expectIds(query({}, "alice"), {"live_a3", "live_a2", "live_a1"});
  expectIds(query("active", "alice"), {"live_a3", "live_a1"});
  expectIds(query("ended", "carol"), {});
  expectIds(query({}, {}, 2), {"live_b2", "live_b1"});
  expectIds(query({}, "bob", 1), {"live_b2"});

  std::vector<RoomRecord> listed = store_->list(query({}, "bob"));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0], all[4]);  // full records, not just ids
}

TEST_P(RoomStoreConformanceTest, HostNamesInAnyScriptRoundTripAndFilter) {
  // What people type as their name: Vietnamese (precomposed and with a space), CJK, emoji, Arabic.
  const std::vector<std::string> hosts = {"Cô Lan", "Thầy Nguyễn Văn Hùng",  "李老师", "Lan \xF0\x9F\x8E\x93",
                                          "مريم",   std::string(64 * 1, 'x')};
  for (size_t i = 0; i < hosts.size(); ++i) {
    store_->insert(makeRoom(fmt::format("live_u{:02}", i), kT0 + static_cast<int64_t>(i), hosts[i]));
  }
  for (size_t i = 0; i < hosts.size(); ++i) {
    SCOPED_TRACE(hosts[i]);
    const std::string id = fmt::format("live_u{:02}", i);
    EXPECT_EQ(store_->get(id)->host, hosts[i]);
    EXPECT_EQ(ids(store_->list(query({}, hosts[i]))), std::vector<std::string>{id});
  }
  EXPECT_EQ(ids(store_->list(query({}, "Co Lan"))), std::vector<std::string>{});  // no accent folding
}

TEST_P(RoomStoreConformanceTest, CursorPagesThroughEveryRoomOnceIncludingTies) {
  std::vector<RoomRecord> all;
  // Groups of three rooms share a created_at, so the room_id tie-break decides order.
  for (int i = 0; i < 23; ++i) {
    all.push_back(makeRoom(fmt::format("live_{:03}", (i * 7) % 23), kT0 + i / 3));
  }
  for (const RoomRecord& room : all) store_->insert(room);
  sortNewestFirst(all);

  for (int page_size : {1, 4, 5, 23, 50}) {
    std::vector<RoomRecord> seen;
    ListQuery page_query = query({}, {}, page_size);
    for (int pages = 0; pages < 100; ++pages) {
      std::vector<RoomRecord> page = store_->list(page_query);
      ASSERT_LE(static_cast<int>(page.size()), page_size);
      if (page.empty()) break;
      seen.insert(seen.end(), page.begin(), page.end());
      page_query.after = cursorAfter(page.back());
    }
    EXPECT_EQ(ids(seen), ids(all)) << "page size " << page_size;
  }

  // Cursor combined with a filter.
  std::vector<RoomRecord> page = store_->list(query({}, "alice", 3, cursorAfter(all[4])));
  EXPECT_EQ(ids(page), (std::vector<std::string>{all[5].room_id, all[6].room_id, all[7].room_id}));
}

TEST_P(RoomStoreConformanceTest, NextPageIsUnaffectedByNewerInserts) {
  std::vector<RoomRecord> all;
  for (int i = 0; i < 10; ++i) all.push_back(makeRoom(fmt::format("live_s{:02}", i), kT0 + i));
  for (const RoomRecord& room : all) store_->insert(room);
  sortNewestFirst(all);

  std::vector<RoomRecord> first = store_->list(query({}, {}, 4));
  ASSERT_EQ(ids(first), ids(std::vector<RoomRecord>(all.begin(), all.begin() + 4)));

  // New rooms arrive between the two page requests, including one tied with the cursor
  // but sorting before it (larger id), which must not show up on the next page either.
  store_->insert(makeRoom("live_new1", kT0 + 100));
  store_->insert(makeRoom("live_s99", first.back().created_at_ms));

  std::vector<RoomRecord> second = store_->list(query({}, {}, 4, cursorAfter(first.back())));
  EXPECT_EQ(ids(second), ids(std::vector<RoomRecord>(all.begin() + 4, all.begin() + 8)));
}

TEST_P(RoomStoreConformanceTest, ConcurrentInsertsFromEightThreadsAllLand) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        try {
          store_->insert(makeRoom(fmt::format("live_c{}_{:02}", t, i), kT0 + i, fmt::format("host{}", t)));
          // Interleave reads with the writes: readers must not trip over writers.
          if (i % 10 == 0) store_->list(query({}, fmt::format("host{}", t), 5));
        } catch (const std::exception& e) {
          ++failures;
          ADD_FAILURE() << "thread " << t << " room " << i << ": " << e.what();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);

  std::vector<RoomRecord> listed = store_->list(query({}, {}, kThreads * kPerThread + 10));
  EXPECT_EQ(listed.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> unique_ids;
  for (const RoomRecord& room : listed) unique_ids.insert(room.room_id);
  EXPECT_EQ(unique_ids.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(store_->list(query({}, fmt::format("host{}", t), 100)).size(), static_cast<std::size_t>(kPerThread));
  }
}

TEST_P(RoomStoreConformanceTest, ReopeningKeepsEveryRoom) {
  RoomRecord active = makeRoom("live_r1", kT0);
  RoomRecord ended = makeRoom("live_r2", kT0 + 1, "bob", "ended");
  store_->insert(active);
  store_->insert(ended);
  store_.reset();

  store_ = harness_->open();
  EXPECT_EQ(store_->get("live_r1"), active);
  EXPECT_EQ(store_->get("live_r2"), ended);
  EXPECT_EQ(store_->list({}).size(), 2u);
}

TEST_P(RoomStoreConformanceTest, PingAnswersAndNameIsSet) {
  EXPECT_TRUE(store_->ping());
  EXPECT_FALSE(store_->name().empty());
}

INSTANTIATE_TEST_SUITE_P(AllStores, RoomStoreConformanceTest,
                         ::testing::Values(Backend::sqlite, Backend::mongodb, Backend::contract), backendName);

// ---- the webhook outbox (store/outbox.hpp), on every store that keeps one ----

// A policy whose bodies say what the test needs to see: type, room, sequence, viewers, title.
std::shared_ptr<OutboxPolicy> testPolicy(std::vector<std::string> endpoints) {
  auto policy = std::make_shared<OutboxPolicy>();
  policy->endpoints = std::move(endpoints);
  policy->render = [](RoomEventType type, const RoomRecord& room, const std::string& event_id, int64_t seq,
                      int64_t at_ms, std::optional<size_t> viewers) {
    return fmt::format("{}|{}|{}|{}|{}|{}|{}", webhookEventName(type), room.room_id, event_id, seq, at_ms,
                       viewers ? std::to_string(*viewers) : "-", room.title);
  };
  return policy;
}

DeliveryQuery forRoom(const std::string& room_id) {
  DeliveryQuery query;
  query.room_id = room_id;
  query.limit = 100;
  return query;
}

// Oldest first, one endpoint: the events as a receiver would get them.
std::vector<std::string> typesInOrder(std::vector<OutboxDelivery> rows, const std::string& endpoint) {
  std::erase_if(rows, [&](const OutboxDelivery& d) { return d.endpoint != endpoint; });
  std::sort(rows.begin(), rows.end(), [](const OutboxDelivery& a, const OutboxDelivery& b) { return a.seq < b.seq; });
  std::vector<std::string> types;
  for (const OutboxDelivery& d : rows) types.push_back(fmt::format("{}:{}", d.seq, d.type));
  return types;
}

// The same backends as the room conformance suite; the contract store keeps its outbox in its
// index file, for the rooms it created.
class OutboxConformanceTest : public RoomStoreConformanceTest {
 protected:
  void SetUp() override {
    RoomStoreConformanceTest::SetUp();
    if (IsSkipped() || HasFatalFailure() || !harness_) return;
    store_ = open();
    outbox_ = store_->outbox();
    ASSERT_NE(outbox_, nullptr);
  }
  std::unique_ptr<RoomStore> open(std::vector<std::string> endpoints = {"https://a.example/hook",
                                                                        "https://b.example/hook?token=t"}) {
    return harness_->openRecording(testPolicy(std::move(endpoints)));
  }

  WebhookOutbox* outbox_ = nullptr;
};

TEST_P(OutboxConformanceTest, EachChangeRecordsItsEventOncePerEndpointNumberedPerRoom) {
  store_->insert(makeRoom("live_a", kT0));
  store_->insert(makeRoom("live_b", kT0 + 1));
  store_->updateTitle("live_a", "Lớp học", kT0 + 10);
  store_->setLive("live_a", true, kT0 + 20);
  store_->setLive("live_a", true, kT0 + 21);  // no change: no event
  store_->setLive("live_a", false, kT0 + 30);
  outbox_->recordViewers("live_b", 7, kT0 + 35);
  store_->markEnded("live_a", kT0 + 40, "host");
  store_->markEnded("live_a", kT0 + 41, "host");  // already ended: no event
  outbox_->recordViewers("live_a", 3, kT0 + 45);  // ended: no event
  outbox_->recordViewers("live_nope", 3, kT0 + 45);

  const std::vector<std::string> expected_a{"1:room.created", "2:room.updated", "3:room.live", "4:room.offline",
                                            "5:room.ended"};
  const auto rows_a = outbox_->deliveries(forRoom("live_a"));
  EXPECT_EQ(typesInOrder(rows_a, "https://a.example/hook"), expected_a);
  EXPECT_EQ(typesInOrder(rows_a, "https://b.example/hook?token=t"), expected_a);
  EXPECT_EQ(typesInOrder(outbox_->deliveries(forRoom("live_b")), "https://a.example/hook"),
            (std::vector<std::string>{"1:room.created", "2:room.viewers"}));
  for (const OutboxDelivery& d : rows_a) {
    EXPECT_EQ(d.event_id, webhookEventId("live_a", d.seq));
    EXPECT_EQ(d.state, "pending");
    EXPECT_EQ(d.attempts, 0);
    EXPECT_EQ(d.next_attempt_at_ms, d.created_at_ms);
    if (d.seq == 2) EXPECT_EQ(d.body, fmt::format("room.updated|live_a|evt_live_a_2|2|{}|-|Lớp học", kT0 + 10));
    if (d.seq == 5) EXPECT_EQ(d.created_at_ms, kT0 + 40);
  }
  const auto viewers = outbox_->deliveries(forRoom("live_b"));
  ASSERT_EQ(viewers.size(), 4u);
  EXPECT_EQ(viewers.front().body, fmt::format("room.viewers|live_b|evt_live_b_2|2|{}|7|Room live_b", kT0 + 35));
  EXPECT_EQ(outbox_->counts().pending, 14u);
}

TEST_P(OutboxConformanceTest, ClearLiveRecordsRoomOfflineForEachRoomItTurnsOff) {
  RoomRecord a = makeRoom("live_a", kT0), b = makeRoom("live_b", kT0), c = makeRoom("live_c", kT0);
  a.provider = b.provider = c.provider = "local";
  for (const RoomRecord& r : {a, b, c}) store_->insert(r);
  store_->setLive("live_a", true, kT0 + 1);
  store_->setLive("live_b", true, kT0 + 1);
  EXPECT_EQ(store_->clearLive("local", "", kT0 + 5), 2u);
  EXPECT_EQ(typesInOrder(outbox_->deliveries(forRoom("live_a")), "https://a.example/hook"),
            (std::vector<std::string>{"1:room.created", "2:room.live", "3:room.offline"}));
  EXPECT_EQ(typesInOrder(outbox_->deliveries(forRoom("live_c")), "https://a.example/hook"),
            (std::vector<std::string>{"1:room.created"}));
}

TEST_P(OutboxConformanceTest, AChangeIsNeverStoredWithoutItsEvent) {
  auto policy = testPolicy({"https://a.example/hook"});
  policy->render = [](RoomEventType type, const RoomRecord&, const std::string&, int64_t, int64_t,
                      std::optional<size_t>) -> std::string {
    if (type == RoomEventType::kLive || type == RoomEventType::kCreated) throw std::runtime_error("disk full");
    return "x";
  };
  if (GetParam() == Backend::mongodb) {
    // MongoDB records the event in the room's document by the same update (it cannot fail
    // apart), and renders it afterwards: a failed rendering leaves it pending in the room, and
    // the next claim makes its deliveries.
    store_->setOutboxPolicy(policy);
    store_->insert(makeRoom("live_a", kT0));
    EXPECT_TRUE(store_->get("live_a").has_value());
    EXPECT_TRUE(outbox_->deliveries(forRoom("live_a")).empty());
    store_->setOutboxPolicy(testPolicy({"https://a.example/hook"}));
    store_->updateTitle("live_a", "then", kT0 + 1);  // the room's older event goes first
    EXPECT_EQ(typesInOrder(outbox_->deliveries(forRoom("live_a")), "https://a.example/hook"),
              (std::vector<std::string>{"1:room.created", "2:room.updated"}));
    store_->setOutboxPolicy(policy);
    store_->setLive("live_a", true, kT0 + 2);
    EXPECT_TRUE(store_->get("live_a")->live);
    store_->setOutboxPolicy(testPolicy({"https://a.example/hook"}));
    EXPECT_EQ(outbox_->claim(kT0 + 3, "p", 1000, 10).size(), 1u);  // claims sweep what is pending
    EXPECT_EQ(typesInOrder(outbox_->deliveries(forRoom("live_a")), "https://a.example/hook"),
              (std::vector<std::string>{"1:room.created", "2:room.updated", "3:room.live"}));
    return;
  }
  if (GetParam() == Backend::contract) {
    // The change is on chain once its transaction is mined; the index applies it with its event
    // in one transaction, or not at all, and the scanner applies it (and records the event) from
    // the chain's log when the store could not. (The policy is the store's from its start: its
    // scanner thread reads it, so it is switched by a flag, not replaced.)
    auto failing = std::make_shared<std::atomic<bool>>(true);
    auto flaky = testPolicy({"https://a.example/hook"});
    flaky->render = [failing, ok = testPolicy({})->render](RoomEventType type, const RoomRecord& room,
                                                           const std::string& id, int64_t seq, int64_t at,
                                                           std::optional<size_t> viewers) {
      if (*failing && (type == RoomEventType::kLive || type == RoomEventType::kCreated)) {
        throw std::runtime_error("disk full");
      }
      return ok(type, room, id, seq, at, viewers);
    };
    store_ = harness_->openRecording(flaky);
    outbox_ = store_->outbox();
    EXPECT_THROW(store_->insert(makeRoom("live_a", kT0)), std::exception);
    EXPECT_TRUE(outbox_->deliveries(forRoom("live_a")).empty());
    *failing = false;
    for (int i = 0; i < 500 && outbox_->deliveries(forRoom("live_a")).empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(typesInOrder(outbox_->deliveries(forRoom("live_a")), "https://a.example/hook"),
              (std::vector<std::string>{"1:room.created"}));
    *failing = true;
    EXPECT_THROW(store_->setLive("live_a", true, kT0 + 1), std::exception);
    EXPECT_FALSE(store_->get("live_a")->live);
    EXPECT_EQ(outbox_->deliveries(forRoom("live_a")).size(), 1u);
    return;
  }
  store_->setOutboxPolicy(policy);
  EXPECT_THROW(store_->insert(makeRoom("live_a", kT0)), std::exception);
  EXPECT_EQ(store_->get("live_a"), std::nullopt);

  store_->setOutboxPolicy(testPolicy({"https://a.example/hook"}));
  store_->insert(makeRoom("live_a", kT0));
  store_->setOutboxPolicy(policy);
  EXPECT_THROW(store_->setLive("live_a", true, kT0 + 1), std::exception);
  EXPECT_FALSE(store_->get("live_a")->live);
  EXPECT_EQ(outbox_->deliveries(forRoom("live_a")).size(), 1u);
}

TEST_P(OutboxConformanceTest, WithoutEndpointsNothingIsRecorded) {
  store_ = open({});
  outbox_ = store_->outbox();
  store_->insert(makeRoom("live_a", kT0));
  store_->setLive("live_a", true, kT0 + 1);
  outbox_->recordViewers("live_a", 2, kT0 + 2);
  EXPECT_TRUE(outbox_->deliveries(forRoom("live_a")).empty());
}

TEST_P(OutboxConformanceTest, ClaimHandsOutOnlyTheOldestOfEachRoomAndEndpointUntilItIsDone) {
  store_ = open({"https://a.example/hook"});
  outbox_ = store_->outbox();
  store_->insert(makeRoom("live_a", kT0));
  store_->updateTitle("live_a", "two", kT0 + 1);
  store_->updateTitle("live_a", "three", kT0 + 2);
  store_->insert(makeRoom("live_b", kT0 + 3));

  auto first = outbox_->claim(kT0 + 100, "p1", 60'000, 10);
  ASSERT_EQ(first.size(), 2u);
  std::set<std::string> heads{first[0].event_id, first[1].event_id};
  EXPECT_EQ(heads, (std::set<std::string>{"evt_live_a_1", "evt_live_b_1"}));
  EXPECT_TRUE(outbox_->claim(kT0 + 100, "p2", 60'000, 10).empty()) << "leased heads hold their queues";

  OutboxDelivery a1 = first[0].event_id == "evt_live_a_1" ? first[0] : first[1];
  a1.state = "delivered";
  a1.attempts = 1;
  a1.delivered_at_ms = a1.last_attempt_at_ms = kT0 + 101;
  a1.last_status = 204;
  EXPECT_FALSE(outbox_->finish(a1, "p2")) << "only the lease holder finishes";
  EXPECT_TRUE(outbox_->finish(a1, "p1"));

  auto next = outbox_->claim(kT0 + 102, "p1", 60'000, 10);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].event_id, "evt_live_a_2");
  // A failed attempt waits for its retry time, and keeps the events after it waiting too.
  OutboxDelivery a2 = next[0];
  a2.attempts = 1;
  a2.last_attempt_at_ms = kT0 + 103;
  a2.last_error = "HTTP 500";
  a2.last_status = 500;
  a2.next_attempt_at_ms = kT0 + 1103;
  EXPECT_TRUE(outbox_->finish(a2, "p1"));
  EXPECT_TRUE(outbox_->claim(kT0 + 1000, "p1", 60'000, 10).empty());
  auto retry = outbox_->claim(kT0 + 1103, "p1", 60'000, 10);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].event_id, "evt_live_a_2");
  EXPECT_EQ(retry[0].attempts, 1);
  EXPECT_EQ(retry[0].last_error, "HTTP 500");
  EXPECT_EQ(retry[0].last_status, 500);

  // A delivery given up on no longer holds its queue.
  OutboxDelivery gave_up = retry[0];
  gave_up.state = "failed";
  EXPECT_TRUE(outbox_->finish(gave_up, "p1"));
  auto after = outbox_->claim(kT0 + 1104, "p1", 60'000, 10);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].event_id, "evt_live_a_3");
  const OutboxCounts counts = outbox_->counts();
  EXPECT_EQ(counts.delivered, 1u);
  EXPECT_EQ(counts.failed, 1u);
  EXPECT_EQ(counts.pending, 2u);
}

TEST_P(OutboxConformanceTest, AnAbandonedLeaseRunsOutAndAnotherProcessTakesTheDelivery) {
  store_->insert(makeRoom("live_a", kT0));
  auto other = open();  // a second process on the same store
  ASSERT_EQ(outbox_->claim(kT0 + 10, "dead", 1000, 1).size(), 1u);
  EXPECT_EQ(other->outbox()->claim(kT0 + 500, "alive", 1000, 10).size(), 1u) << "the other endpoint's";
  auto taken = other->outbox()->claim(kT0 + 1010, "alive", 1000, 10);
  ASSERT_EQ(taken.size(), 1u);
  taken[0].state = "delivered";
  EXPECT_FALSE(outbox_->finish(taken[0], "dead"));
  EXPECT_TRUE(other->outbox()->finish(taken[0], "alive"));
}

TEST_P(OutboxConformanceTest, ProcessesClaimingAtOnceNeverLeaseOneDeliveryTwice) {
  // Four stores on one database stand for four processes (each with its own in-process locks);
  // they claim, finish and claim again at the same moments. Every delivery must be handed out
  // exactly once, in each room's order.
  for (int r = 0; r < 4; ++r) {
    const std::string id = fmt::format("live_c{}", r);
    store_->insert(makeRoom(id, kT0 + r));
    store_->updateTitle(id, "một", kT0 + 10);
    store_->setLive(id, true, kT0 + 20);
  }
  constexpr int kProcesses = 4;
  std::vector<std::unique_ptr<RoomStore>> processes;
  for (int i = 0; i < kProcesses; ++i) processes.push_back(open());
  std::mutex mutex;
  std::map<std::string, int> handed_out;  // delivery -> times
  std::vector<std::thread> threads;
  for (int i = 0; i < kProcesses; ++i) {
    threads.emplace_back([&, i] {
      WebhookOutbox* outbox = processes[static_cast<size_t>(i)]->outbox();
      const std::string owner = fmt::format("p{}", i);
      for (int round = 0; round < 40; ++round) {
        for (OutboxDelivery& d : outbox->claim(kT0 + 100, owner, 60'000, 4)) {
          {
            std::lock_guard lock(mutex);
            ++handed_out[d.event_id + " " + d.endpoint];
          }
          d.state = "delivered";
          d.attempts = 1;
          d.delivered_at_ms = kT0 + 100;
          EXPECT_TRUE(outbox->finish(d, owner));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& [delivery, times] : handed_out) EXPECT_EQ(times, 1) << delivery;
  EXPECT_EQ(handed_out.size(), 4u * 3u * 2u);  // rooms x events x endpoints
  EXPECT_EQ(outbox_->counts().pending, 0u);
}

TEST_P(OutboxConformanceTest, PendingDeliveriesOutliveTheProcess) {
  store_->insert(makeRoom("live_a", kT0));
  store_->setLive("live_a", true, kT0 + 1);
  store_.reset();
  store_ = open();
  outbox_ = store_->outbox();
  EXPECT_EQ(outbox_->counts().pending, 4u);
  EXPECT_EQ(outbox_->claim(kT0 + 2, "p", 1000, 10).size(), 2u);
  store_->setLive("live_a", false, kT0 + 3);
  EXPECT_EQ(typesInOrder(outbox_->deliveries(forRoom("live_a")), "https://a.example/hook"),
            (std::vector<std::string>{"1:room.created", "2:room.live", "3:room.offline"}));
}

TEST_P(OutboxConformanceTest, DeliveriesPageNewestFirstFilterAndPrune) {
  for (int i = 0; i < 5; ++i) store_->insert(makeRoom(fmt::format("live_r{}", i), kT0 + i));
  DeliveryQuery query;
  query.limit = 3;
  auto page1 = outbox_->deliveries(query);
  ASSERT_EQ(page1.size(), 3u);
  EXPECT_EQ(page1[0].room_id, "live_r4");
  query.before = DeliveryQuery::Position{page1.back().created_at_ms, page1.back().event_id, page1.back().endpoint};
  query.limit = 100;
  auto page2 = outbox_->deliveries(query);
  EXPECT_EQ(page2.size(), 7u);
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& d : page1) seen.insert({d.event_id, d.endpoint});
  for (const auto& d : page2) seen.insert({d.event_id, d.endpoint});
  EXPECT_EQ(seen.size(), 10u);

  auto claimed = outbox_->claim(kT0 + 10, "p", 1000, 100);
  ASSERT_EQ(claimed.size(), 10u);
  for (OutboxDelivery d : claimed) {
    d.state = "delivered";
    d.delivered_at_ms = d.created_at_ms + 100;
    ASSERT_TRUE(outbox_->finish(d, "p"));
  }
  DeliveryQuery delivered;
  delivered.state = "delivered";
  EXPECT_EQ(outbox_->deliveries(delivered).size(), 10u);
  delivered.state = "pending";
  EXPECT_TRUE(outbox_->deliveries(delivered).empty());
  EXPECT_EQ(outbox_->prune(kT0 + 102), 4u);  // r0, r1 (delivered at +100, +101)
  EXPECT_EQ(outbox_->counts().delivered, 6u);
}

TEST_P(OutboxConformanceTest, ConcurrentWritersOfOneRoomNumberEveryEventOnce) {
  store_ = open({"https://a.example/hook"});
  outbox_ = store_->outbox();
  auto other = open({"https://a.example/hook"});
  store_->insert(makeRoom("live_a", kT0));
  std::vector<std::thread> writers;
  // SQLite: two processes (stores) on one file, three threads each. MongoDB: three threads in each
  // of two stores too, but FerretDB 1.24 (the SQLite handler these tests run on) does not isolate
  // concurrent updates of one document across connections (61 $inc left event_seq at 21), so
  // there both stores' threads take one process's per-room lock: the same store twice.
  RoomStore* second = GetParam() == Backend::mongodb ? store_.get() : other.get();
  for (RoomStore* store : {store_.get(), second}) {
    for (int t = 0; t < 3; ++t) {
      writers.emplace_back([store, t] {
        for (int i = 0; i < 10; ++i) store->updateTitle("live_a", fmt::format("t{} #{}", t, i), kT0 + 1 + i);
      });
    }
  }
  for (std::thread& w : writers) w.join();
  other->outbox()->claim(kT0 + 100, "sweep", 1, 1);  // anything left pending by a lost race
  const auto rows = outbox_->deliveries(forRoom("live_a"));
  std::vector<int64_t> seqs;
  for (const OutboxDelivery& d : rows) seqs.push_back(d.seq);
  std::sort(seqs.begin(), seqs.end());
  // On the contract a title change whose transaction was mined before another's, but whose
  // receipt came after, is older than the title it finds: it changes nothing and has no event.
  std::vector<int64_t> expected(GetParam() == Backend::contract ? std::max<size_t>(seqs.size(), 2) : 61);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(seqs, expected);
}

INSTANTIATE_TEST_SUITE_P(StoresWithAnOutbox, OutboxConformanceTest,
                         ::testing::Values(Backend::sqlite, Backend::mongodb, Backend::contract), backendName);

// ---- SQLite specifics ----

TEST(SqliteRoomStoreTest, SetsSchemaVersionAndWalMode) {
  SqliteHarness harness;
  { harness.open(); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(harness.file().c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  auto pragma = [&](const char* sql) {
    sqlite3_stmt* statement = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db.get(), sql, -1, &statement, nullptr), SQLITE_OK);
    std::string value;
    if (sqlite3_step(statement) == SQLITE_ROW) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    sqlite3_finalize(statement);
    return value;
  };
  EXPECT_EQ(pragma("PRAGMA user_version"), std::to_string(SqliteRoomStore::kSchemaVersion));
  EXPECT_EQ(pragma("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(pragma("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'rooms_by_created'"), "1");
}

TEST(SqliteRoomStoreTest, RefusesANewerSchemaVersion) {
  SqliteHarness harness;
  { harness.open(); }
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(harness.file().c_str(), &raw), SQLITE_OK);
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
    ASSERT_EQ(sqlite3_exec(db.get(), "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  }
  try {
    harness.open();
    FAIL() << "opened a database from the future";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kStoreUnavailable);
  }
}

// A database as schema version 2 left it (the v1 + v2 DDL, user_version 2) with one room:
// opening it migrates to the current version, and rows made before rooms recorded their
// provider read as "cloudflare", the only provider back then.
TEST(SqliteRoomStoreTest, MigratesAVersion2DatabaseRoomsBecomeCloudflare) {
  SqliteHarness harness;
  std::filesystem::create_directories(std::filesystem::path(harness.file()).parent_path());
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(harness.file().c_str(), &raw), SQLITE_OK);
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
    const char* v2 = R"sql(
CREATE TABLE rooms (
  room_id          TEXT PRIMARY KEY NOT NULL,
  title            TEXT NOT NULL,
  host             TEXT NOT NULL,
  mode             TEXT NOT NULL,
  status           TEXT NOT NULL,
  live             INTEGER NOT NULL DEFAULT 0,
  session_id       TEXT NOT NULL,
  whip_url         TEXT,
  rtmps_url        TEXT,
  rtmps_stream_key TEXT,
  srt_url          TEXT,
  srt_stream_id    TEXT,
  srt_passphrase   TEXT,
  whep_url         TEXT,
  hls_url          TEXT,
  dash_url         TEXT,
  host_token_hash  TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  ended_at         INTEGER
);
CREATE INDEX rooms_by_created ON rooms (created_at DESC, room_id DESC);
CREATE INDEX rooms_by_status ON rooms (status, created_at DESC, room_id DESC);
CREATE INDEX rooms_by_host ON rooms (host, created_at DESC, room_id DESC);
CREATE INDEX rooms_by_session ON rooms (session_id);
INSERT INTO rooms (room_id, title, host, mode, status, live, session_id, whip_url, whep_url,
                   host_token_hash, created_at, updated_at)
VALUES ('live_old', 'Old room', 'alice', 'webrtc', 'active', 1, 'uid_old',
        'https://media.example/secret/webRTC/publish', 'https://media.example/uid_old/webRTC/play',
        'aaaa', 1700000000000, 1700000000005);
PRAGMA user_version=2;
)sql";
    char* message = nullptr;
    ASSERT_EQ(sqlite3_exec(db.get(), v2, nullptr, nullptr, &message), SQLITE_OK) << (message ? message : "");
  }

  std::unique_ptr<RoomStore> store = harness.open();
  std::optional<RoomRecord> old = store->get("live_old");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->provider, "cloudflare");
  EXPECT_EQ(old->title, "Old room");
  EXPECT_TRUE(old->live);
  EXPECT_EQ(old->session_id, "uid_old");
  EXPECT_EQ(old->ingest.whip_url, "https://media.example/secret/webRTC/publish");
  EXPECT_EQ(old->updated_at_ms, kT0 + 5);

  RoomRecord local = makeRoom("live_new", kT0 + 10);
  local.provider = "local";
  store->insert(local);
  EXPECT_EQ(store->get("live_new"), local);
  EXPECT_EQ(store->getBySessionId("uid_old")->provider, "cloudflare");

  // Reopening the migrated file changes nothing.
  store.reset();
  store = harness.open();
  EXPECT_EQ(store->get("live_old")->provider, "cloudflare");
  EXPECT_EQ(store->get("live_new"), local);

  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(harness.file().c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  sqlite3_stmt* statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db.get(), "PRAGMA user_version", -1, &statement, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(statement, 0), SqliteRoomStore::kSchemaVersion);
  sqlite3_finalize(statement);
}

TEST(SqliteRoomStoreTest, UnwritableLocationIsStoreUnavailable) {
  try {
    SqliteRoomStore store("/proc/liveroom-cannot-be-here/liveroom.db");
    FAIL() << "opened a database under /proc";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kStoreUnavailable);
  }
}

// ---- MongoDB specifics ----

TEST(MongoRoomStoreOfflineTest, RedactUriHidesThePassword) {
  EXPECT_EQ(MongoRoomStore::redactUri("mongodb://user:s3cret@db.example:27017/liveroom?tls=true"),
            "mongodb://user:***@db.example:27017/liveroom?tls=true");
  EXPECT_EQ(MongoRoomStore::redactUri("mongodb+srv://user:p@ss@cluster.example/"),
            "mongodb+srv://user:***@cluster.example/");
  EXPECT_EQ(MongoRoomStore::redactUri("mongodb://user@host/"), "mongodb://user@host/");
  EXPECT_EQ(MongoRoomStore::redactUri("mongodb://127.0.0.1:27017/x"), "mongodb://127.0.0.1:27017/x");
}

TEST(MongoRoomStoreOfflineTest, UnreachableServerIsStoreUnavailableWithoutPassword) {
  try {
    MongoRoomStore store("mongodb://user:topsecret@127.0.0.1:1/liveroom?serverSelectionTimeoutMS=200");
    FAIL() << "connected to a closed port";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kStoreUnavailable);
    std::string message = e.what();
    EXPECT_NE(message.find("cannot reach MongoDB at mongodb://user:***@127.0.0.1:1"), std::string::npos) << message;
    EXPECT_EQ(message.find("topsecret"), std::string::npos) << message;
  }
}

class MongoRoomStoreServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* uri = mongoUriFromEnv();
    if (!uri) {
      if (mongoRequired()) FAIL() << kNoMongoMessage << " (LIVEROOM_REQUIRE_MONGODB=1)";
      GTEST_SKIP() << kNoMongoMessage;
    }
    harness_ = std::make_unique<MongoHarness>(uri);
    store_ = harness_->open();
  }
  void TearDown() override {
    store_.reset();
    harness_.reset();
  }

  std::unique_ptr<MongoHarness> harness_;
  std::unique_ptr<RoomStore> store_;
};

std::string keyOf(const bson_t* index) {
  bson_iter_t iter;
  bson_iter_t key;
  std::string text;
  if (!bson_iter_init_find(&iter, index, "key") || !bson_iter_recurse(&iter, &key)) return text;
  while (bson_iter_next(&key)) {
    text += fmt::format("{}{}:{}", text.empty() ? "" : ",", bson_iter_key(&key), bson_iter_as_int64(&key));
  }
  return text;
}

TEST_F(MongoRoomStoreServerTest, CreatesTheSpecIndexes) {
  MongoClient client = harness_->connect();
  mongoc_collection_t* collection =
      mongoc_client_get_collection(client.get(), harness_->database().c_str(), "livestreams");
  mongoc_cursor_t* cursor = mongoc_collection_find_indexes_with_opts(collection, nullptr);
  std::map<std::string, bool> unique_by_key;
  const bson_t* index = nullptr;
  while (mongoc_cursor_next(cursor, &index)) {
    bson_iter_t iter;
    unique_by_key[keyOf(index)] = bson_iter_init_find(&iter, index, "unique") && bson_iter_as_bool(&iter);
  }
  bson_error_t error;
  EXPECT_FALSE(mongoc_cursor_error(cursor, &error)) << error.message;
  mongoc_cursor_destroy(cursor);
  mongoc_collection_destroy(collection);

  ASSERT_TRUE(unique_by_key.count("room_id:1"));
  EXPECT_TRUE(unique_by_key["room_id:1"]);
  EXPECT_TRUE(unique_by_key.count("status:1,created_at:-1"));
  EXPECT_TRUE(unique_by_key.count("created_at:-1,room_id:-1"));
  EXPECT_TRUE(unique_by_key.count("session_id:1"));

  // Creating the store again over existing indexes is fine (restart).
  EXPECT_NO_THROW(harness_->open());
}

TEST_F(MongoRoomStoreServerTest, DocumentUsesTheSpecFieldNames) {
  RoomRecord room = makeRoom("live_doc", kT0);
  room.ingest.srt_passphrase = "pass";
  store_->insert(room);

  MongoClient client = harness_->connect();
  mongoc_collection_t* collection =
      mongoc_client_get_collection(client.get(), harness_->database().c_str(), "livestreams");
  bson_t filter;
  bson_init(&filter);
  BSON_APPEND_UTF8(&filter, "room_id", "live_doc");
  mongoc_cursor_t* cursor = mongoc_collection_find_with_opts(collection, &filter, nullptr, nullptr);
  const bson_t* doc = nullptr;
  ASSERT_TRUE(mongoc_cursor_next(cursor, &doc));

  auto typeOf = [&](const char* dotted_key) {
    bson_iter_t iter;
    bson_iter_t found;
    if (!bson_iter_init(&iter, doc) || !bson_iter_find_descendant(&iter, dotted_key, &found)) {
      return BSON_TYPE_EOD;
    }
    return bson_iter_type(&found);
  };
  for (const char* key : {"room_id", "session_id", "whip_url", "host", "status", "title", "mode", "host_token_hash",
                          "ingest.srt_passphrase", "playback.whep_url"}) {
    EXPECT_EQ(typeOf(key), BSON_TYPE_UTF8) << key;
  }
  EXPECT_EQ(typeOf("created_at"), BSON_TYPE_DATE_TIME);
  EXPECT_EQ(typeOf("updated_at"), BSON_TYPE_DATE_TIME);
  EXPECT_EQ(typeOf("live"), BSON_TYPE_BOOL);
  EXPECT_EQ(typeOf("ended_at"), BSON_TYPE_NULL);

  bson_iter_t iter;
  ASSERT_TRUE(bson_iter_init_find(&iter, doc, "session_id"));
  EXPECT_STREQ(bson_iter_utf8(&iter, nullptr), "uid_live_doc");
  ASSERT_TRUE(bson_iter_init_find(&iter, doc, "created_at"));
  EXPECT_EQ(bson_iter_date_time(&iter), kT0);

  mongoc_cursor_destroy(cursor);
  bson_destroy(&filter);
  mongoc_collection_destroy(collection);

  store_->markEnded("live_doc", kT0 + 9, "host");
  EXPECT_EQ(store_->get("live_doc")->ended_at_ms, kT0 + 9);
}

TEST_F(MongoRoomStoreServerTest, DocumentWithoutProviderReadsAsCloudflare) {
  RoomRecord local = makeRoom("live_newdoc", kT0 + 1);
  local.provider = "local";
  store_->insert(local);

  // A room as stores before the provider field wrote it: no `provider` at all.
  MongoClient client = harness_->connect();
  mongoc_collection_t* collection =
      mongoc_client_get_collection(client.get(), harness_->database().c_str(), "livestreams");
  bson_t doc;
  bson_init(&doc);
  BSON_APPEND_UTF8(&doc, "room_id", "live_olddoc");
  BSON_APPEND_UTF8(&doc, "session_id", "uid_olddoc");
  BSON_APPEND_UTF8(&doc, "host", "alice");
  BSON_APPEND_UTF8(&doc, "status", "active");
  BSON_APPEND_DATE_TIME(&doc, "created_at", kT0);
  BSON_APPEND_UTF8(&doc, "title", "Old room");
  BSON_APPEND_UTF8(&doc, "mode", "webrtc");
  BSON_APPEND_BOOL(&doc, "live", false);
  BSON_APPEND_DATE_TIME(&doc, "updated_at", kT0);
  BSON_APPEND_NULL(&doc, "ended_at");
  BSON_APPEND_UTF8(&doc, "host_token_hash", std::string(64, 'a').c_str());
  bson_error_t error;
  EXPECT_TRUE(mongoc_collection_insert_one(collection, &doc, nullptr, nullptr, &error)) << error.message;

  bson_t filter;
  bson_init(&filter);
  BSON_APPEND_UTF8(&filter, "room_id", "live_newdoc");
  mongoc_cursor_t* cursor = mongoc_collection_find_with_opts(collection, &filter, nullptr, nullptr);
  const bson_t* found = nullptr;
  ASSERT_TRUE(mongoc_cursor_next(cursor, &found));
  bson_iter_t iter;
  ASSERT_TRUE(bson_iter_init_find(&iter, found, "provider"));
  EXPECT_STREQ(bson_iter_utf8(&iter, nullptr), "local");
  mongoc_cursor_destroy(cursor);
  bson_destroy(&filter);
  bson_destroy(&doc);

  // As after an upgrade: the store opens on the earlier version's document (an ObjectId _id)
  // and keys it by its room id, once.
  store_ = harness_->open();
  store_ = harness_->open();
  bson_t by_key;
  bson_init(&by_key);
  BSON_APPEND_UTF8(&by_key, "_id", "live_olddoc");
  EXPECT_EQ(mongoc_collection_count_documents(collection, &by_key, nullptr, nullptr, nullptr, &error), 1)
      << error.message;
  bson_destroy(&by_key);
  bson_t any;
  bson_init(&any);
  EXPECT_EQ(mongoc_collection_count_documents(collection, &any, nullptr, nullptr, nullptr, &error), 2);
  bson_destroy(&any);
  mongoc_collection_destroy(collection);

  ASSERT_TRUE(store_->get("live_olddoc"));
  EXPECT_EQ(store_->get("live_olddoc")->provider, "cloudflare");
  EXPECT_EQ(store_->getBySessionId("uid_olddoc")->provider, "cloudflare");
  EXPECT_EQ(store_->markEnded("live_olddoc", kT0 + 2, "host")->provider, "cloudflare");
  EXPECT_EQ(store_->get("live_newdoc"), local);
}

TEST_F(MongoRoomStoreServerTest, DatabaseComesFromTheUriPath) {
  EXPECT_EQ(static_cast<MongoRoomStore&>(*store_).databaseName(), harness_->database());
}

}  // namespace
}  // namespace liveroom

// The contract store beyond the shared conformance suite, on a real anvil chain: one
// transaction per write, the public index rebuilt from the chain into a fresh file (in
// one-block ranges), rooms ended on chain by another server, the cursor kept across reopening,
// secrets never on chain, a node that went away, a key without the operator role, and
// hostile events (pure).
#include "store/contract/contract_room_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "eth/abi.hpp"
#include "eth/hex.hpp"
#include "support/registry_chain.hpp"

namespace liveroom::contract {
namespace {

using test_support::RegistryChain;

constexpr int64_t kT0 = 1'700'000'000'000;

std::filesystem::path tempDir() {
  static std::atomic<int> counter{0};
  std::random_device random;
  auto dir = std::filesystem::temp_directory_path() /
             fmt::format("liveroom_contract_store_{}_{}_{:08x}", ::getpid(), counter++, random());
  std::filesystem::create_directories(dir);
  return dir;
}

RoomRecord makeRoom(const std::string& id, int64_t created_at_ms, const std::string& session_id) {
  RoomRecord room;
  room.room_id = id;
  room.title = "Room " + id;
  room.host = "alice";
  room.mode = RoomMode::webrtc;
  room.status = liveroom::RoomStatus::active;
  room.provider = "local";
  room.session_id = session_id;
  room.ingest.whip_url = "http://127.0.0.1:8080/" + std::string(32, 'f') + "k" + session_id + "/webRTC/publish";
  room.ingest.rtmps_stream_key = "rtmps-secret-" + id;
  room.ingest.srt_passphrase = "srt-secret-" + id;
  room.playback.whep_url = "http://127.0.0.1:8080/" + session_id + "/webRTC/play";
  room.host_token_hash = std::string(64, '7');
  room.created_at_ms = room.updated_at_ms = created_at_ms;
  return room;
}

std::string uid(int n) { return fmt::format("{:032x}", 0xabc000 + n); }

class ContractRoomStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LIVEROOM_REQUIRE_ANVIL(anvil_bin);
    chain_ = std::make_unique<RegistryChain>(*anvil_bin);
    if (!chain_->start()) GTEST_SKIP();
    dir_ = tempDir();
  }
  void TearDown() override {
    chain_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  uint64_t nonce() { return chain_->rpc().transactionCount(chain_->sender().addressHex(), "latest"); }

  std::unique_ptr<RegistryChain> chain_;
  std::filesystem::path dir_;
};

TEST_F(ContractRoomStoreTest, EveryWriteIsOneTransactionAndReadsNone) {
  auto store = chain_->openStore(dir_ / "a.db");
  uint64_t before = nonce();
  store->insert(makeRoom("live_one", kT0, uid(1)));
  EXPECT_EQ(nonce(), before + 1) << "insert";
  store->get("live_one");
  store->list({});
  store->getBySessionId(uid(1));
  store->setLive("live_one", true, kT0 + 1);
  EXPECT_EQ(nonce(), before + 1) << "reads and the live flag";
  store->updateTitle("live_one", "Lớp học online", kT0 + 2);
  EXPECT_EQ(nonce(), before + 2) << "update";
  store->markEnded("live_one", kT0 + 3, "host");
  EXPECT_EQ(nonce(), before + 3) << "end";
  store->markEnded("live_one", kT0 + 4, "host");
  EXPECT_EQ(nonce(), before + 3) << "ending an ended room";

  ChainRoom onChain = chain_->registry().getRoom(roomKey("live_one"));
  EXPECT_EQ(onChain.status, RoomStatus::Ended);
  EXPECT_EQ(onChain.input_uid, *inputUidBytes(uid(1)));
  EXPECT_EQ(onChain.host, eth::Address{});
}

TEST_F(ContractRoomStoreTest, AFreshIndexRebuildsThePublicRoomsFromTheChainInOneBlockRanges) {
  {
    auto a = chain_->openStore(dir_ / "a.db");
    a->insert(makeRoom("live_r1", kT0, uid(1)));
    a->insert(makeRoom("live_r2", kT0 + 1, uid(2)));
    RoomRecord odd = makeRoom("live_r3", kT0 + 2, "uid_not_hex");
    odd.mode = RoomMode::broadcast;
    odd.provider = "cloudflare";
    odd.visibility = "unlisted";
    a->insert(odd);
    a->updateTitle("live_r2", "first", kT0 + 3);
    a->updateTitle("live_r2", "Lớp học online", kT0 + 4);
    a->markEnded("live_r1", kT0 + 5, "host");
  }
  auto b = chain_->openStore(dir_ / "b.db", nullptr, /*max_block_range=*/1);
  std::vector<RoomRecord> rooms = b->list({});
  ASSERT_EQ(rooms.size(), 3u);
  std::sort(rooms.begin(), rooms.end(), [](const auto& x, const auto& y) { return x.room_id < y.room_id; });
  EXPECT_EQ(rooms[0].status, liveroom::RoomStatus::ended);
  EXPECT_TRUE(rooms[0].ended_at_ms.has_value());
  EXPECT_EQ(rooms[1].title, "Lớp học online");
  EXPECT_EQ(rooms[1].status, liveroom::RoomStatus::active);
  EXPECT_EQ(rooms[1].session_id, uid(2));         // from the bytes16 input uid
  EXPECT_EQ(rooms[2].session_id, "uid_not_hex");  // from the public meta
  EXPECT_EQ(rooms[2].visibility, "unlisted");     // from the public meta too
  EXPECT_EQ(rooms[1].visibility, "public");
  EXPECT_EQ(rooms[2].mode, RoomMode::broadcast);
  EXPECT_EQ(rooms[2].provider, "cloudflare");
  for (const RoomRecord& room : rooms) {
    EXPECT_EQ(room.host, "alice");
    EXPECT_GT(room.created_at_ms, 0);
    // The side table stayed with the server that made the rooms.
    EXPECT_EQ(room.host_token_hash, "");
    EXPECT_EQ(room.ingest.whip_url, std::nullopt);
    EXPECT_EQ(room.ingest.rtmps_stream_key, std::nullopt);
  }
  EXPECT_EQ(b->getBySessionId(uid(2))->room_id, "live_r2");
  EXPECT_EQ(b->nextBlock(), chain_->rpc().blockNumber() + 1);
}

TEST_F(ContractRoomStoreTest, ReopeningKeepsTheCursorAndCatchesUpWithWhatHappenedMeanwhile) {
  uint64_t cursor = 0;
  {
    auto a = chain_->openStore(dir_ / "a.db");
    a->insert(makeRoom("live_c1", kT0, uid(1)));
    a->insert(makeRoom("live_c2", kT0 + 1, uid(2)));
    a->catchUp();
    cursor = a->nextBlock();
  }
  {  // another server on the same registry, while the first is down
    auto other = chain_->openStore(dir_ / "other.db");
    other->insert(makeRoom("live_c3", kT0 + 2, uid(3)));
    other->markEnded("live_c1", kT0 + 3, "host");
  }
  auto a = chain_->openStore(dir_ / "a.db");
  EXPECT_GT(a->nextBlock(), cursor);
  std::vector<RoomRecord> rooms = a->list({});
  ASSERT_EQ(rooms.size(), 3u);
  EXPECT_EQ(rooms[0].room_id, "live_c3");
  EXPECT_EQ(a->get("live_c1")->status, liveroom::RoomStatus::ended);
  // The other server's millisecond time stayed in its side table: here it is the block's.
  std::optional<int64_t> ended_at = a->get("live_c1")->ended_at_ms;
  ASSERT_TRUE(ended_at);
  EXPECT_NE(*ended_at, kT0 + 3);
  EXPECT_EQ(*ended_at % 1000, 0);
}

TEST_F(ContractRoomStoreTest, ARoomEndedOnChainByAnotherServerReadsEndedAtOnce) {
  auto a = chain_->openStore(dir_ / "a.db");
  a->insert(makeRoom("live_x", kT0, uid(1)));
  // Straight on chain, without a's knowledge (its scanner may not have run yet).
  chain_->registry().endRoom(roomKey("live_x"));
  std::optional<RoomRecord> room = a->get("live_x");
  ASSERT_TRUE(room);
  EXPECT_EQ(room->status, liveroom::RoomStatus::ended);
  EXPECT_FALSE(room->live);
  ASSERT_TRUE(room->ended_at_ms);
  EXPECT_GT(*room->ended_at_ms, 0);
  const uint64_t before = nonce();
  std::optional<RoomRecord> again = a->markEnded("live_x", kT0 + 9, "host");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ended_at_ms, room->ended_at_ms);
  EXPECT_EQ(nonce(), before);
  EXPECT_EQ(a->list(ListQuery{liveroom::RoomStatus::ended, std::nullopt, 20, std::nullopt}).size(), 1u);
}

TEST_F(ContractRoomStoreTest, SecretsNeverReachTheChain) {
  auto store = chain_->openStore(dir_ / "a.db");
  RoomRecord room = makeRoom("live_secret", kT0, uid(7));
  room.ingest.srt_stream_id = "srt-stream-id-secret";
  room.ingest.rtmps_url = "rtmps://live.example:443/live/";
  store->insert(room);
  store->updateTitle("live_secret", "new title", kT0 + 1);
  store->markEnded("live_secret", kT0 + 2, "host");

  std::vector<std::string> secrets = {*room.ingest.whip_url,         std::string(32, 'f'),
                                      *room.ingest.rtmps_stream_key, *room.ingest.srt_passphrase,
                                      *room.ingest.srt_stream_id,    room.host_token_hash};
  std::vector<eth::Bytes> blobs;
  const uint64_t head = chain_->rpc().blockNumber();
  for (uint64_t n = 0; n <= head; ++n) {
    nlohmann::json block = chain_->rpc().call("eth_getBlockByNumber", {eth::toQuantity(n), true});
    for (const auto& tx : block.at("transactions")) blobs.push_back(eth::fromHex(tx.at("input").get<std::string>()));
  }
  for (const eth::LogEntry& log : chain_->rpc().logs(eth::toHex(chain_->contract(), true), 0, head)) {
    blobs.push_back(eth::fromHex(log.data));
  }
  ASSERT_GE(blobs.size(), 7u);  // deploy + 3 transactions, 3 logs
  for (const eth::Bytes& blob : blobs) {
    const std::string text(blob.begin(), blob.end());
    for (const std::string& secret : secrets) {
      EXPECT_EQ(text.find(secret), std::string::npos) << "found on chain: " << secret;
    }
  }
  // The public part is there: the title is in the events.
  bool title_seen = false;
  for (const eth::Bytes& blob : blobs) {
    if (std::string(blob.begin(), blob.end()).find("new title") != std::string::npos) title_seen = true;
  }
  EXPECT_TRUE(title_seen);
}

TEST_F(ContractRoomStoreTest, ANodeThatWentAwayFailsWritesLeavesNothingAndReadsFallBackToTheIndex) {
  auto store = chain_->openStore(dir_ / "a.db");
  store->insert(makeRoom("live_before", kT0, uid(1)));
  chain_->stop();
  for (const char* id : {"live_down", "live_down2"}) {
    try {
      store->insert(makeRoom(id, kT0 + 1, uid(2)));
      FAIL() << "insert succeeded without a chain";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), codes::kStoreUnavailable) << e.what();
    }
  }
  // Reads of known rooms fall back to the index; an unknown room cannot be called unknown.
  ASSERT_TRUE(store->get("live_before"));
  EXPECT_EQ(store->get("live_before")->title, "Room live_before");
  try {
    store->get("live_never_seen");
    FAIL() << "an unknown room was answered without a chain";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kStoreUnavailable) << e.what();
  }
  try {
    store->updateTitle("live_before", "x", kT0 + 5);
    FAIL() << "updated without a chain";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kStoreUnavailable) << e.what();
  }
  EXPECT_FALSE(store->ping());
  // The index still answers lists without the failed room; its side row is only kept, marked
  // abandoned, in case the transaction was sent after all.
  EXPECT_EQ(store->list({}).size(), 1u);
  EXPECT_EQ(store->getBySessionId(uid(2)), std::nullopt);
  store.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "a.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT abandoned FROM room_offchain WHERE room_id = 'live_down'", -1, &statement,
                               nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(statement, 0), 1);
  sqlite3_finalize(statement);
  sqlite3_close(db);
}

TEST_F(ContractRoomStoreTest, ACreateReportedFailedButMinedLaterIsEndedByTheScanner) {
  auto impatient = chain_->newSender(test_support::Anvil::kDevKey, std::chrono::milliseconds(300));
  auto store = chain_->openStore(dir_ / "a.db", impatient.get());
  chain_->rpc().call("evm_setAutomine", {false});  // the node takes the transaction, mines nothing
  try {
    store->insert(makeRoom("live_late", kT0, uid(1)));
    FAIL() << "insert returned without a receipt";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kStoreUnavailable) << e.what();
  }
  EXPECT_EQ(store->list({}).size(), 0u);
  chain_->rpc().call("evm_setAutomine", {true});
  chain_->rpc().call("evm_mine");  // ... and then mines it after all
  EXPECT_EQ(chain_->registry().getRoom(roomKey("live_late")).status, RoomStatus::Active);
  const uint64_t before = nonce();
  store->catchUp();
  EXPECT_EQ(chain_->registry().getRoom(roomKey("live_late")).status, RoomStatus::Ended);
  EXPECT_EQ(nonce(), before + 1);
  std::optional<RoomRecord> room = store->get("live_late");
  ASSERT_TRUE(room);
  EXPECT_EQ(room->status, liveroom::RoomStatus::ended);
  store->catchUp();  // nothing left to end
  EXPECT_EQ(nonce(), before + 1);
}

// The webhook outbox in the index file: events for the rooms this server created, whoever's
// transaction changed them; none for other servers' rooms or for a create answered as failed.
TEST_F(ContractRoomStoreTest, WebhookEventsAreRecordedForOwnRoomsOnly) {
  auto policy = std::make_shared<OutboxPolicy>();
  policy->endpoints = {"https://app.example/hook"};
  policy->render = [](RoomEventType type, const RoomRecord& room, const std::string&, int64_t seq, int64_t,
                      std::optional<size_t>) {
    return fmt::format("{} {} {}", webhookEventName(type), room.room_id, seq);
  };
  auto a = chain_->openStore(dir_ / "a.db", nullptr, 2000, policy);
  auto other = chain_->openStore(dir_ / "other.db");  // another server on the registry, no webhooks
  a->insert(makeRoom("live_own", kT0, uid(1)));
  other->insert(makeRoom("live_theirs", kT0 + 1, uid(2)));
  chain_->registry().endRoom(roomKey("live_own"));  // ended on chain by someone else
  a->catchUp();
  a->setLive("live_theirs", true, kT0 + 2);  // their room, played here
  auto impatient = chain_->newSender(test_support::Anvil::kDevKey, std::chrono::milliseconds(300));
  auto late = chain_->openStore(dir_ / "a.db", impatient.get(), 2000, policy);
  chain_->rpc().call("evm_setAutomine", {false});
  EXPECT_THROW(late->insert(makeRoom("live_late", kT0 + 3, uid(3))), Error);
  chain_->rpc().call("evm_setAutomine", {true});
  chain_->rpc().call("evm_mine");
  late->catchUp();  // mined after all: indexed, ended, and silent
  EXPECT_EQ(late->get("live_late")->status, liveroom::RoomStatus::ended);
  a->catchUp();

  DeliveryQuery all;
  all.limit = 100;
  std::vector<std::string> events;
  for (const OutboxDelivery& d : a->deliveries(all)) events.push_back(d.body);
  std::sort(events.begin(), events.end());
  EXPECT_EQ(events, (std::vector<std::string>{"room.created live_own 1", "room.ended live_own 2"}));
  EXPECT_EQ(a->deliveries(all), late->deliveries(all)) << "one file, one outbox";
}

TEST_F(ContractRoomStoreTest, AKeyWithoutTheOperatorRoleIsRefusedUntilGrantedAndAfterRevoked) {
  auto other = chain_->newSender(RegistryChain::kOtherKey);
  try {
    chain_->openStore(dir_ / "b.db", other.get());
    FAIL() << "opened with a key that is not an operator";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kStoreUnavailable);
    EXPECT_NE(std::string(e.what()).find("grant-operator"), std::string::npos) << e.what();
  }
  chain_->registry().grantOperator(other->address());
  auto store = chain_->openStore(dir_ / "b.db", other.get());
  store->insert(makeRoom("live_granted", kT0, uid(1)));
  chain_->registry().revokeOperator(other->address());
  try {
    store->insert(makeRoom("live_revoked", kT0 + 1, uid(2)));
    FAIL() << "created with a revoked key";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kStoreUnavailable);
    EXPECT_NE(std::string(e.what()).find("not an operator"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store->list({}).size(), 1u);
}

TEST_F(ContractRoomStoreTest, AnAddressWithoutTheRegistryIsRefused) {
  contract::ContractStoreOptions options;
  options.index_path = (dir_ / "c.db").string();
  try {
    ContractRoomStore store(chain_->rpc(), chain_->sender(), chain_->sender().address(), RegistryChain::kChainId,
                            options);
    FAIL() << "opened an externally owned account as a registry";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kStoreUnavailable);
    EXPECT_NE(std::string(e.what()).find("no contract"), std::string::npos) << e.what();
  }
}

// ---- hostile events (pure) ----

eth::LogEntry createdLog(const std::string& room_id, const std::string& title, const std::string& meta,
                         const std::optional<std::string>& key_override = std::nullopt) {
  namespace abi = eth::abi;
  eth::LogEntry log;
  log.block_number = 5;
  log.log_index = 2;
  log.topics = {eventTopics()[0], key_override.value_or(eth::toHex(roomKey(room_id), true)),
                eth::toHex(eth::Hash{}, true)};
  log.data =
      eth::toHex(abi::encode(abi::parseTypeList("bytes16,uint64,string,string,string"),
                             {abi::Value::ofFixedBytes(*inputUidBytes(uid(1))), abi::Value::ofUint(1700000000),
                              abi::Value::ofString(room_id), abi::Value::ofString(title), abi::Value::ofString(meta)}),
                 true);
  return log;
}

TEST(ContractEventsTest, DecodesARoomCreatedLog) {
  auto event = decodeEvent(createdLog("live_ok", "Title", R"({"host":"bob","mode":"broadcast","provider":"local"})"));
  ASSERT_TRUE(event);
  const auto& created = std::get<RoomCreated>(event->event);
  IndexedRoom room = ContractRoomStore::indexedRoom(created, event->position());
  EXPECT_EQ(room.room_id, "live_ok");
  EXPECT_EQ(room.title, "Title");
  EXPECT_EQ(room.host, "bob");
  EXPECT_EQ(room.mode, RoomMode::broadcast);
  EXPECT_EQ(room.provider, "local");
  EXPECT_EQ(room.session_id, uid(1));
  EXPECT_EQ(room.created_at_ms, 1700000000000);
  EXPECT_EQ(event->position(), (int64_t{5} << 24) | 2);
}

TEST(ContractEventsTest, RefusesLogsThisContractCannotHaveEmitted) {
  // The room id does not hash to the indexed key.
  EXPECT_FALSE(decodeEvent(createdLog("live_a", "t", "{}", eth::toHex(roomKey("live_b"), true))));
  eth::LogEntry truncated = createdLog("live_a", "t", "{}");
  truncated.data.resize(truncated.data.size() - 64);
  EXPECT_FALSE(decodeEvent(truncated));
  eth::LogEntry missing_topic = createdLog("live_a", "t", "{}");
  missing_topic.topics.pop_back();
  EXPECT_FALSE(decodeEvent(missing_topic));
  eth::LogEntry not_hex = createdLog("live_a", "t", "{}");
  not_hex.data = "0xzz";
  EXPECT_FALSE(decodeEvent(not_hex));
  eth::LogEntry other_event = createdLog("live_a", "t", "{}");
  other_event.topics[0] = eth::toHex(eth::keccak256(std::string_view("Transfer(address,address,uint256)")), true);
  EXPECT_FALSE(decodeEvent(other_event));
  EXPECT_FALSE(decodeEvent(eth::LogEntry{}));
}

TEST(ContractEventsTest, UntrustedTextAndMetaFallBackToSafeValues) {
  auto event = decodeEvent(createdLog("live_bad", "bad \xC3\x28 utf8", R"({"host":7,"mode":"drop table","provider":)"));
  ASSERT_TRUE(event);
  IndexedRoom room = ContractRoomStore::indexedRoom(std::get<RoomCreated>(event->event), event->position());
  EXPECT_EQ(room.title, "");  // not valid UTF-8: never rendered
  EXPECT_EQ(room.host, "");
  EXPECT_EQ(room.mode, RoomMode::webrtc);
  EXPECT_EQ(room.provider, "");
  auto long_title = decodeEvent(createdLog("live_long", std::string(5000, 'x'), "[]"));
  ASSERT_TRUE(long_title);
  EXPECT_EQ(ContractRoomStore::indexedRoom(std::get<RoomCreated>(long_title->event), 0).title, "");
}

TEST(ContractEventsTest, MetaCarriesOnlyPublicFields) {
  RoomRecord room = makeRoom("live_meta", kT0, uid(3));
  EXPECT_EQ(ContractRoomStore::encodeMeta(room), R"({"host":"alice","mode":"webrtc","provider":"local"})");
  room.session_id = "uid_not_hex";
  EXPECT_EQ(ContractRoomStore::encodeMeta(room),
            R"({"host":"alice","mode":"webrtc","provider":"local","session":"uid_not_hex"})");
}

}  // namespace
}  // namespace liveroom::contract

// MongoRoomStore: BSON mapping of a room, the libmongoc plumbing (pool, RAII handles,
// log forwarding) and the room queries. Written to the subset FerretDB 1.24 supports
// (no aggregation-pipeline updates), so tests can run against it.
#include "store/mongo/mongo_room_store.hpp"

#include <mongoc/mongoc.h>

#include <algorithm>
#include <initializer_list>
#include <mutex>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "common/random.hpp"

namespace liveroom {

namespace {

// ---- RAII for libmongoc / libbson handles ----

struct UriDeleter {
  void operator()(mongoc_uri_t* uri) const { mongoc_uri_destroy(uri); }
};
struct PoolDeleter {
  void operator()(mongoc_client_pool_t* pool) const { mongoc_client_pool_destroy(pool); }
};
struct CollectionDeleter {
  void operator()(mongoc_collection_t* collection) const { mongoc_collection_destroy(collection); }
};
struct CursorDeleter {
  void operator()(mongoc_cursor_t* cursor) const { mongoc_cursor_destroy(cursor); }
};
struct FindAndModifyOptsDeleter {
  void operator()(mongoc_find_and_modify_opts_t* opts) const { mongoc_find_and_modify_opts_destroy(opts); }
};
using UriHandle = std::unique_ptr<mongoc_uri_t, UriDeleter>;
using PoolHandle = std::unique_ptr<mongoc_client_pool_t, PoolDeleter>;
using CollectionHandle = std::unique_ptr<mongoc_collection_t, CollectionDeleter>;
using CursorHandle = std::unique_ptr<mongoc_cursor_t, CursorDeleter>;
using FindAndModifyOptsHandle = std::unique_ptr<mongoc_find_and_modify_opts_t, FindAndModifyOptsDeleter>;

// A bson_t on the stack (documents we build, replies libmongoc fills), destroyed on scope
// exit. libmongoc's *_with_opts functions always initialize their reply, so a reply is
// constructed initialized (empty) and handed over via reply() after being destroyed.
class Bson {
 public:
  Bson() { bson_init(&value_); }
  ~Bson() { bson_destroy(&value_); }
  Bson(const Bson&) = delete;
  Bson& operator=(const Bson&) = delete;

  bson_t* get() { return &value_; }
  const bson_t* get() const { return &value_; }
  // For out-parameters that libmongoc initializes itself.
  bson_t* reply() {
    bson_destroy(&value_);
    return &value_;
  }

 private:
  bson_t value_;
};

void appendText(bson_t* doc, const char* key, std::string_view text) {
  bson_append_utf8(doc, key, -1, text.data(), static_cast<int>(text.size()));
}
void appendOptionalText(bson_t* doc, const char* key, const std::optional<std::string>& text) {
  if (text) {
    appendText(doc, key, *text);
  } else {
    bson_append_null(doc, key, -1);
  }
}
void appendOptionalDate(bson_t* doc, const char* key, std::optional<int64_t> ms) {
  if (ms) {
    bson_append_date_time(doc, key, -1, *ms);
  } else {
    bson_append_null(doc, key, -1);
  }
}

// ---- reading a room document ----

std::optional<std::string> readText(const bson_t* doc, const char* dotted_key) {
  bson_iter_t iter;
  bson_iter_t found;
  if (!bson_iter_init(&iter, doc) || !bson_iter_find_descendant(&iter, dotted_key, &found) ||
      !BSON_ITER_HOLDS_UTF8(&found)) {
    return std::nullopt;
  }
  uint32_t length = 0;
  const char* text = bson_iter_utf8(&found, &length);
  return std::string(text, length);
}

std::optional<int64_t> readDate(const bson_t* doc, const char* key) {
  bson_iter_t iter;
  if (!bson_iter_init_find(&iter, doc, key)) return std::nullopt;
  if (BSON_ITER_HOLDS_DATE_TIME(&iter)) return bson_iter_date_time(&iter);
  // Tolerate plain integers written by hand or by other tools.
  if (BSON_ITER_HOLDS_INT64(&iter) || BSON_ITER_HOLDS_INT32(&iter)) return bson_iter_as_int64(&iter);
  return std::nullopt;
}

bool readBool(const bson_t* doc, const char* key) {
  bson_iter_t iter;
  return bson_iter_init_find(&iter, doc, key) && bson_iter_as_bool(&iter);
}

RoomRecord readRoom(const bson_t* doc) {
  RoomRecord room;
  room.room_id = readText(doc, "room_id").value_or("");
  room.title = readText(doc, "title").value_or("");
  room.host = readText(doc, "host").value_or("");
  // A word this version does not know: a webrtc room, and an ended one (nothing more happens to it).
  room.mode = parseRoomMode(readText(doc, "mode").value_or("")).value_or(RoomMode::webrtc);
  room.status = parseRoomStatus(readText(doc, "status").value_or("")).value_or(RoomStatus::ended);
  room.live = readBool(doc, "live");
  // Documents written before rooms recorded their provider were all made on Cloudflare.
  room.provider = readText(doc, "provider").value_or("cloudflare");
  room.session_id = readText(doc, "session_id").value_or("");
  room.ingest.whip_url = readText(doc, "whip_url");
  room.ingest.rtmps_url = readText(doc, "ingest.rtmps_url");
  room.ingest.rtmps_stream_key = readText(doc, "ingest.rtmps_stream_key");
  room.ingest.srt_url = readText(doc, "ingest.srt_url");
  room.ingest.srt_stream_id = readText(doc, "ingest.srt_stream_id");
  room.ingest.srt_passphrase = readText(doc, "ingest.srt_passphrase");
  room.playback.whep_url = readText(doc, "playback.whep_url");
  room.playback.hls_url = readText(doc, "playback.hls_url");
  room.playback.dash_url = readText(doc, "playback.dash_url");
  room.host_token_hash = readText(doc, "host_token_hash").value_or("");
  room.created_at_ms = readDate(doc, "created_at").value_or(0);
  room.updated_at_ms = readDate(doc, "updated_at").value_or(0);
  room.ended_at_ms = readDate(doc, "ended_at");
  // Documents written before visibility existed were listed: public.
  room.visibility = readText(doc, "visibility").value_or("public");
  room.live_changed_at_ms = readDate(doc, "live_changed_at");
  if (bson_iter_t it;
      bson_iter_init_find(&it, doc, "viewers") && (BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_INT32(&it))) {
    room.viewers = static_cast<size_t>(std::max<int64_t>(0, bson_iter_as_int64(&it)));
  }
  room.ended_reason = readText(doc, "ended_reason");
  return room;
}

void writeRoom(bson_t* doc, const RoomRecord& room) {
  appendText(doc, "room_id", room.room_id);
  appendText(doc, "provider", room.provider);
  appendText(doc, "session_id", room.session_id);
  appendOptionalText(doc, "whip_url", room.ingest.whip_url);
  appendText(doc, "host", room.host);
  appendText(doc, "status", toString(room.status));
  bson_append_date_time(doc, "created_at", -1, room.created_at_ms);
  appendText(doc, "title", room.title);
  appendText(doc, "mode", toString(room.mode));
  bson_append_bool(doc, "live", -1, room.live);
  bson_append_date_time(doc, "updated_at", -1, room.updated_at_ms);
  appendOptionalDate(doc, "ended_at", room.ended_at_ms);
  appendText(doc, "host_token_hash", room.host_token_hash);
  appendText(doc, "visibility", room.visibility);
  appendOptionalDate(doc, "live_changed_at", room.live_changed_at_ms);
  appendOptionalText(doc, "ended_reason", room.ended_reason);

  bson_t ingest;
  bson_append_document_begin(doc, "ingest", -1, &ingest);
  appendOptionalText(&ingest, "rtmps_url", room.ingest.rtmps_url);
  appendOptionalText(&ingest, "rtmps_stream_key", room.ingest.rtmps_stream_key);
  appendOptionalText(&ingest, "srt_url", room.ingest.srt_url);
  appendOptionalText(&ingest, "srt_stream_id", room.ingest.srt_stream_id);
  appendOptionalText(&ingest, "srt_passphrase", room.ingest.srt_passphrase);
  bson_append_document_end(doc, &ingest);

  bson_t playback;
  bson_append_document_begin(doc, "playback", -1, &playback);
  appendOptionalText(&playback, "whep_url", room.playback.whep_url);
  appendOptionalText(&playback, "hls_url", room.playback.hls_url);
  appendOptionalText(&playback, "dash_url", room.playback.dash_url);
  bson_append_document_end(doc, &playback);
}

// ---- process-wide libmongoc setup ----

// libmongoc logs through a global handler that prints everything, debug included, to
// stderr; route what matters into spdlog instead.
void forwardMongocLog(mongoc_log_level_t level, const char* domain, const char* message, void*) {
  // FerretDB has no endSessions; libmongoc warns about it every time a client closes,
  // and nothing is lost (the server has no sessions to end).
  if (level == MONGOC_LOG_LEVEL_WARNING &&
      std::string_view(message).find("\"endSessions\"") != std::string_view::npos) {
    spdlog::debug("libmongoc [{}]: {}", domain, message);
    return;
  }
  switch (level) {
    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL:
      spdlog::error("libmongoc [{}]: {}", domain, message);
      break;
    case MONGOC_LOG_LEVEL_WARNING:
      spdlog::warn("libmongoc [{}]: {}", domain, message);
      break;
    case MONGOC_LOG_LEVEL_MESSAGE:
    case MONGOC_LOG_LEVEL_INFO:
      spdlog::debug("libmongoc [{}]: {}", domain, message);
      break;
    case MONGOC_LOG_LEVEL_DEBUG:
    case MONGOC_LOG_LEVEL_TRACE:
      break;
  }
}

void initMongocOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    mongoc_log_set_handler(forwardMongocLog, nullptr);
    mongoc_init();
    // No mongoc_cleanup(): other stores or tests may still use libmongoc at exit.
  });
}

bool isDuplicateKey(const bson_error_t& error) { return error.code == 11000; }

}  // namespace

struct MongoRoomStore::Handles {
  UriHandle uri;
  PoolHandle pool;
};

namespace {

// A client popped from the pool for the length of one call.
class PooledClient {
 public:
  explicit PooledClient(mongoc_client_pool_t* pool) : pool_(pool), client_(mongoc_client_pool_pop(pool)) {}
  ~PooledClient() { mongoc_client_pool_push(pool_, client_); }
  PooledClient(const PooledClient&) = delete;
  PooledClient& operator=(const PooledClient&) = delete;

  mongoc_client_t* get() const { return client_; }

 private:
  mongoc_client_pool_t* pool_;
  mongoc_client_t* client_;
};

// One call's access to the livestreams collection; declared after the client so the
// collection is destroyed before the client goes back to the pool.
class RoomsCollection {
 public:
  RoomsCollection(mongoc_client_pool_t* pool, const std::string& database,
                  const char* name = MongoRoomStore::kCollection)
      : client_(pool), collection_(mongoc_client_get_collection(client_.get(), database.c_str(), name)) {}

  mongoc_collection_t* get() const { return collection_.get(); }

 private:
  PooledClient client_;
  CollectionHandle collection_;
};

Error unavailable(std::string_view what, const bson_error_t& error) {
  return Error(codes::kStoreUnavailable, fmt::format("MongoDB {} failed: {}", what, error.message));
}

void appendRoomIdFilter(bson_t* filter, std::string_view room_id) { appendText(filter, "_id", room_id); }

// Adds to an update what records a webhook event with the change: the room's next sequence
// number ($inc event_seq) and the event waiting in webhook_pending until materialize().
void appendEventRecording(bson_t* update, RoomEventType type, int64_t at_ms, std::optional<size_t> viewers) {
  bson_t inc;
  bson_append_document_begin(update, "$inc", -1, &inc);
  bson_append_int64(&inc, "event_seq", -1, 1);
  bson_append_document_end(update, &inc);
  bson_t push;
  bson_t entry;
  bson_append_document_begin(update, "$push", -1, &push);
  bson_append_document_begin(&push, "webhook_pending", -1, &entry);
  bson_append_int32(&entry, "type", -1, static_cast<int32_t>(type));
  bson_append_int64(&entry, "at", -1, at_ms);
  if (viewers) bson_append_int64(&entry, "viewers", -1, static_cast<int64_t>(*viewers));
  bson_append_document_end(&push, &entry);
  bson_append_document_end(update, &push);
}

// The update that takes a room off air (clearLive).
void appendLiveOff(bson_t* update, int64_t now_ms) {
  bson_t set;
  bson_append_document_begin(update, "$set", -1, &set);
  bson_append_bool(&set, "live", -1, false);
  bson_append_date_time(&set, "updated_at", -1, now_ms);
  bson_append_date_time(&set, "live_changed_at", -1, now_ms);
  bson_append_document_end(update, &set);
}

std::optional<int64_t> readInt(const bson_t* doc, const char* key) {
  bson_iter_t iter;
  if (!bson_iter_init_find(&iter, doc, key)) return std::nullopt;
  if (BSON_ITER_HOLDS_INT64(&iter) || BSON_ITER_HOLDS_INT32(&iter) || BSON_ITER_HOLDS_DOUBLE(&iter)) {
    return bson_iter_as_int64(&iter);
  }
  return std::nullopt;
}

void appendOptionalInt(bson_t* doc, const char* key, std::optional<int64_t> value) {
  if (value) bson_append_int64(doc, key, -1, *value);
}

OutboxDelivery readDelivery(const bson_t* doc) {
  OutboxDelivery d;
  d.event_id = readText(doc, "event_id").value_or("");
  d.endpoint = readText(doc, "endpoint").value_or("");
  d.room_id = readText(doc, "room_id").value_or("");
  d.seq = readInt(doc, "seq").value_or(0);
  d.type = readText(doc, "type").value_or("");
  d.body = readText(doc, "body").value_or("");
  d.created_at_ms = readInt(doc, "created_at").value_or(0);
  d.state = readText(doc, "state").value_or("pending");
  d.attempts = static_cast<int>(readInt(doc, "attempts").value_or(0));
  d.next_attempt_at_ms = readInt(doc, "next_attempt_at").value_or(0);
  d.last_attempt_at_ms = readInt(doc, "last_attempt_at");
  if (auto status = readInt(doc, "last_status")) d.last_status = static_cast<int>(*status);
  d.last_error = readText(doc, "last_error").value_or("");
  d.delivered_at_ms = readInt(doc, "delivered_at");
  return d;
}

std::string deliveryKey(std::string_view event_id, std::string_view endpoint) {
  return fmt::format("{} {}", event_id, endpoint);
}

struct BsonFree {
  void operator()(bson_t* doc) const { bson_destroy(doc); }
};
using BsonCopy = std::unique_ptr<bson_t, BsonFree>;

// findAndModify returning (a copy of) the document after the update, nullptr when nothing
// matched.
BsonCopy findAndModifyDoc(RoomsCollection& collection, const bson_t* filter, const bson_t* update) {
  FindAndModifyOptsHandle opts(mongoc_find_and_modify_opts_new());
  mongoc_find_and_modify_opts_set_update(opts.get(), update);
  mongoc_find_and_modify_opts_set_flags(opts.get(), MONGOC_FIND_AND_MODIFY_RETURN_NEW);
  Bson reply;
  bson_error_t error;
  if (!mongoc_collection_find_and_modify_with_opts(collection.get(), filter, opts.get(), reply.reply(), &error)) {
    throw unavailable("findAndModify", error);
  }
  bson_iter_t iter;
  if (!bson_iter_init_find(&iter, reply.get(), "value") || !BSON_ITER_HOLDS_DOCUMENT(&iter)) return nullptr;
  uint32_t length = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(&iter, &length, &data);
  BsonCopy value(bson_new_from_data(data, length));
  if (!value) throw Error(codes::kStoreUnavailable, "MongoDB findAndModify returned a malformed document");
  return value;
}

// The same, as a room.
std::optional<RoomRecord> findAndModify(RoomsCollection& rooms, const bson_t* filter, const bson_t* update) {
  BsonCopy doc = findAndModifyDoc(rooms, filter, update);
  if (!doc) return std::nullopt;
  return readRoom(doc.get());
}

void runCommand(mongoc_client_t* client, const std::string& database, const bson_t* command, std::string_view what) {
  Bson reply;
  bson_error_t error;
  if (!mongoc_client_command_simple(client, database.c_str(), command, nullptr, reply.reply(), &error)) {
    throw unavailable(what, error);
  }
}

// Index key: field name and direction (1 ascending, -1 descending).
struct IndexField {
  const char* name;
  int direction;
};

void createIndex(mongoc_client_t* client, const std::string& database, const char* index_name,
                 std::initializer_list<IndexField> fields, bool unique,
                 const char* collection = MongoRoomStore::kCollection) {
  Bson command;
  appendText(command.get(), "createIndexes", collection);
  bson_t indexes;
  bson_t index;
  bson_t key;
  bson_append_array_begin(command.get(), "indexes", -1, &indexes);
  bson_append_document_begin(&indexes, "0", -1, &index);
  bson_append_document_begin(&index, "key", -1, &key);
  for (const IndexField& field : fields) bson_append_int32(&key, field.name, -1, field.direction);
  bson_append_document_end(&index, &key);
  appendText(&index, "name", index_name);
  if (unique) bson_append_bool(&index, "unique", -1, true);
  bson_append_document_end(&indexes, &index);
  bson_append_array_end(command.get(), &indexes);
  runCommand(client, database, command.get(), fmt::format("createIndexes {}", index_name));
}

void createIndexes(mongoc_client_t* client, const std::string& database) {
  // One index per command: FerretDB 1.24 panics (and drops the connection) when one
  // createIndexes command lists several indexes that already exist, i.e. on every restart.
  // room_id: unique, the key of every lookup. (status, created_at): the filtered list.
  // (created_at, room_id): the unfiltered newest-first list and its cursor.
  createIndex(client, database, "room_id_unique", {{"room_id", 1}}, /*unique=*/true);
  createIndex(client, database, "status_created_at", {{"status", 1}, {"created_at", -1}},
              /*unique=*/false);
  createIndex(client, database, "created_at_room_id", {{"created_at", -1}, {"room_id", -1}},
              /*unique=*/false);
  // session_id: provider events (Cloudflare webhooks) name the live input, not the room.
  createIndex(client, database, "session_id", {{"session_id", 1}}, /*unique=*/false);
  // The webhook outbox: each queue's head, the newest-first view, one room's deliveries.
  createIndex(client, database, "queue", {{"state", 1}, {"endpoint", 1}, {"room_id", 1}, {"seq", 1}},
              /*unique=*/false, MongoRoomStore::kDeliveries);
  createIndex(client, database, "created_at_event", {{"created_at", -1}, {"event_id", -1}, {"endpoint", -1}},
              /*unique=*/false, MongoRoomStore::kDeliveries);
  createIndex(client, database, "room_created_at", {{"room_id", 1}, {"created_at", -1}}, /*unique=*/false,
              MongoRoomStore::kDeliveries);
}

// Rooms are keyed by their room id (_id = room_id), so reading one is a primary-key lookup on
// every MongoDB-compatible server: FerretDB 1.24 uses no other index for a find (a read by
// room_id scanned every room: 6.3 ms a find with 1,000 rooms against 1.5 ms by _id, each over a new connection). Rooms
// stored before that (an ObjectId _id) are copied under their room id and the old copy deleted; stopping midway is
// harmless (reads find the new copy; the next start finishes). The unique room_id index would refuse the copy while the
// old one exists: it is dropped first (createIndexes makes it again).
void keyRoomsByRoomId(mongoc_client_t* client, const std::string& database) {
  CollectionHandle rooms(mongoc_client_get_collection(client, database.c_str(), MongoRoomStore::kCollection));
  Bson legacy;
  bson_t type;
  bson_append_document_begin(legacy.get(), "_id", -1, &type);
  appendText(&type, "$type", "objectId");
  bson_append_document_end(legacy.get(), &type);
  bson_error_t error;
  const int64_t count = mongoc_collection_count_documents(rooms.get(), legacy.get(), nullptr, nullptr, nullptr, &error);
  if (count < 0) throw unavailable("count rooms to key by room id", error);
  if (count == 0) return;
  if (!mongoc_collection_drop_index_with_opts(rooms.get(), "room_id_unique", nullptr, &error)) {
    spdlog::debug("mongodb store: drop index room_id_unique: {}", error.message);  // absent: fine
  }
  size_t moved = 0;
  for (;;) {
    std::vector<BsonCopy> batch;
    {
      Bson opts;
      bson_append_int64(opts.get(), "limit", -1, 500);
      CursorHandle cursor(mongoc_collection_find_with_opts(rooms.get(), legacy.get(), opts.get(), nullptr));
      const bson_t* doc = nullptr;
      while (mongoc_cursor_next(cursor.get(), &doc)) batch.emplace_back(bson_copy(doc));
      if (mongoc_cursor_error(cursor.get(), &error)) throw unavailable("find rooms to key by room id", error);
    }
    if (batch.empty()) break;
    for (const BsonCopy& doc : batch) {
      const std::optional<std::string> room_id = readText(doc.get(), "room_id");
      bson_iter_t old_id;
      if (!bson_iter_init_find(&old_id, doc.get(), "_id")) continue;
      if (room_id && !room_id->empty()) {
        Bson copy;
        appendText(copy.get(), "_id", *room_id);
        bson_iter_t field;
        bson_iter_init(&field, doc.get());
        while (bson_iter_next(&field)) {
          if (std::string_view(bson_iter_key(&field)) != "_id") bson_append_iter(copy.get(), nullptr, 0, &field);
        }
        if (!mongoc_collection_insert_one(rooms.get(), copy.get(), nullptr, nullptr, &error) &&
            !isDuplicateKey(error)) {
          throw unavailable("insert a room keyed by its room id", error);
        }
      }
      Bson old;
      bson_append_iter(old.get(), "_id", -1, &old_id);
      if (!mongoc_collection_delete_one(rooms.get(), old.get(), nullptr, nullptr, &error)) {
        throw unavailable("delete a room's old copy", error);
      }
      ++moved;
    }
  }
  spdlog::info("mongodb store: {} rooms stored by an earlier version are now keyed by their room id", moved);
}

}  // namespace

std::string MongoRoomStore::redactUri(std::string_view uri) {
  std::size_t scheme_end = uri.find("://");
  std::size_t authority_begin = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  // The userinfo ends at the last '@' before the path: a raw '@' in the password is
  // invalid, but handle it anyway so a typo never leaks the secret.
  std::size_t path_begin = uri.find_first_of("/?", authority_begin);
  std::size_t at = uri.rfind('@', path_begin == std::string_view::npos ? uri.npos : path_begin);
  if (at == std::string_view::npos || at < authority_begin) return std::string(uri);
  std::size_t colon = uri.find(':', authority_begin);
  if (colon == std::string_view::npos || colon > at) return std::string(uri);
  return fmt::format("{}***{}", uri.substr(0, colon + 1), uri.substr(at));
}

MongoRoomStore::MongoRoomStore(const std::string& uri)
    : redacted_uri_(redactUri(uri)), handles_(std::make_unique<Handles>()) {
  initMongocOnce();

  bson_error_t error;
  handles_->uri.reset(mongoc_uri_new_with_error(uri.c_str(), &error));
  if (!handles_->uri) {
    // libmongoc's parse errors can quote the whole URI: keep only our redacted copy.
    throw Error(codes::kStoreUnavailable, fmt::format("invalid MongoDB URI {}", redacted_uri_));
  }
  if (!mongoc_uri_has_option(handles_->uri.get(), MONGOC_URI_SERVERSELECTIONTIMEOUTMS)) {
    mongoc_uri_set_option_as_int32(handles_->uri.get(), MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                                   kDefaultServerSelectionTimeoutMs);
  }
  if (!mongoc_uri_has_option(handles_->uri.get(), MONGOC_URI_APPNAME)) {
    mongoc_uri_set_appname(handles_->uri.get(), "liveroom");
  }
  const char* database = mongoc_uri_get_database(handles_->uri.get());
  database_ = database && *database ? database : kDefaultDatabase;

  handles_->pool.reset(mongoc_client_pool_new_with_error(handles_->uri.get(), &error));
  if (!handles_->pool) {
    throw Error(codes::kStoreUnavailable, fmt::format("cannot use MongoDB at {}: {}", redacted_uri_, error.message));
  }
  mongoc_client_pool_set_error_api(handles_->pool.get(), MONGOC_ERROR_API_VERSION_2);

  PooledClient client(handles_->pool.get());
  Bson ping_command;
  bson_append_int32(ping_command.get(), "ping", -1, 1);
  Bson reply;
  if (!mongoc_client_command_simple(client.get(), "admin", ping_command.get(), nullptr, reply.reply(), &error)) {
    throw Error(codes::kStoreUnavailable, fmt::format("cannot reach MongoDB at {}: {}", redacted_uri_, error.message));
  }
  try {
    keyRoomsByRoomId(client.get(), database_);
    createIndexes(client.get(), database_);
  } catch (const Error& e) {
    throw Error(codes::kStoreUnavailable, fmt::format("cannot prepare MongoDB at {}: {}", redacted_uri_, e.what()));
  }
  spdlog::info("mongodb store: using {} database {}", redacted_uri_, database_);
}

MongoRoomStore::~MongoRoomStore() = default;

void MongoRoomStore::insert(const RoomRecord& room) {
  const bool record = recording() != nullptr;
  {
    RoomsCollection rooms(handles_->pool.get(), database_);
    Bson doc;
    appendText(doc.get(), "_id", room.room_id);  // the key of every read (keyRoomsByRoomId)
    writeRoom(doc.get(), room);
    if (record) {
      bson_append_int64(doc.get(), "event_seq", -1, 1);
      bson_append_int64(doc.get(), "event_done", -1, 0);
      bson_t pending;
      bson_t entry;
      bson_append_array_begin(doc.get(), "webhook_pending", -1, &pending);
      bson_append_document_begin(&pending, "0", -1, &entry);
      bson_append_int32(&entry, "type", -1, static_cast<int32_t>(RoomEventType::kCreated));
      bson_append_int64(&entry, "at", -1, room.created_at_ms);
      bson_append_document_end(&pending, &entry);
      bson_append_array_end(doc.get(), &pending);
    }
    Bson reply;
    bson_error_t error;
    if (!mongoc_collection_insert_one(rooms.get(), doc.get(), nullptr, reply.reply(), &error)) {
      if (isDuplicateKey(error)) throw Error(codes::kRoomExists, "a room with this id already exists");
      throw unavailable("insert", error);
    }
  }
  if (record) {
    std::lock_guard lock(roomLock(room.room_id));
    materialize(room.room_id);
  }
}

std::optional<RoomRecord> MongoRoomStore::get(std::string_view room_id) { return findOne("_id", room_id); }

std::optional<RoomRecord> MongoRoomStore::getBySessionId(std::string_view session_id) {
  return findOne("session_id", session_id);
}

std::optional<RoomRecord> MongoRoomStore::findOne(const char* field, std::string_view value) {
  RoomsCollection rooms(handles_->pool.get(), database_);
  Bson filter;
  appendText(filter.get(), field, value);
  Bson opts;
  bson_append_int64(opts.get(), "limit", -1, 1);
  CursorHandle cursor(mongoc_collection_find_with_opts(rooms.get(), filter.get(), opts.get(), nullptr));
  const bson_t* doc = nullptr;
  if (mongoc_cursor_next(cursor.get(), &doc)) return readRoom(doc);
  bson_error_t error;
  if (mongoc_cursor_error(cursor.get(), &error)) throw unavailable("find", error);
  return std::nullopt;
}

std::optional<RoomRecord> MongoRoomStore::updateTitle(std::string_view room_id, std::string_view title,
                                                      int64_t now_ms) {
  std::lock_guard lock(roomLock(room_id));
  RoomsCollection rooms(handles_->pool.get(), database_);
  Bson filter;
  appendRoomIdFilter(filter.get(), room_id);
  Bson update;
  bson_t set;
  bson_append_document_begin(update.get(), "$set", -1, &set);
  appendText(&set, "title", title);
  bson_append_date_time(&set, "updated_at", -1, now_ms);
  bson_append_document_end(update.get(), &set);
  const bool record = recording() != nullptr;
  if (record) appendEventRecording(update.get(), RoomEventType::kUpdated, now_ms, std::nullopt);
  auto room = findAndModify(rooms, filter.get(), update.get());
  if (record && room) materialize(room_id);
  return room;
}

std::optional<RoomRecord> MongoRoomStore::markEnded(std::string_view room_id, int64_t ended_at_ms,
                                                    std::string_view reason) {
  std::lock_guard lock(roomLock(room_id));
  RoomsCollection rooms(handles_->pool.get(), database_);
  // First end: only an active room matches, so ended_at is set exactly once even when
  // two ends race (the loser matches nothing). An update pipeline with $ifNull would do
  // it in one round trip, but FerretDB does not support pipeline updates.
  {
    Bson filter;
    appendRoomIdFilter(filter.get(), room_id);
    appendText(filter.get(), "status", "active");
    Bson update;
    bson_t set;
    bson_append_document_begin(update.get(), "$set", -1, &set);
    appendText(&set, "status", "ended");
    bson_append_bool(&set, "live", -1, false);
    bson_append_date_time(&set, "ended_at", -1, ended_at_ms);
    bson_append_date_time(&set, "updated_at", -1, ended_at_ms);
    appendText(&set, "ended_reason", reason);
    bson_append_document_end(update.get(), &set);
    const bool record = recording() != nullptr;
    if (record) appendEventRecording(update.get(), RoomEventType::kEnded, ended_at_ms, std::nullopt);
    if (auto room = findAndModify(rooms, filter.get(), update.get())) {
      if (record) materialize(room_id);
      return room;
    }
  }
  // Already ended (or unknown): keep ended_at, but still force status/live in case a
  // stray setLive raced with the first end.
  Bson filter;
  appendRoomIdFilter(filter.get(), room_id);
  Bson update;
  bson_t set;
  bson_append_document_begin(update.get(), "$set", -1, &set);
  appendText(&set, "status", "ended");
  bson_append_bool(&set, "live", -1, false);
  bson_append_document_end(update.get(), &set);
  return findAndModify(rooms, filter.get(), update.get());
}

std::optional<RoomRecord> MongoRoomStore::setLive(std::string_view room_id, bool live, int64_t now_ms) {
  std::lock_guard lock(roomLock(room_id));
  RoomsCollection rooms(handles_->pool.get(), database_);
  auto update = [&](bool changes) {
    Bson filter;
    appendRoomIdFilter(filter.get(), room_id);
    if (changes) {
      bson_t not_equal;
      bson_append_document_begin(filter.get(), "live", -1, &not_equal);
      bson_append_bool(&not_equal, "$ne", -1, live);
      bson_append_document_end(filter.get(), &not_equal);
    }
    Bson doc;
    bson_t set;
    bson_append_document_begin(doc.get(), "$set", -1, &set);
    bson_append_bool(&set, "live", -1, live);
    bson_append_date_time(&set, "updated_at", -1, now_ms);
    if (changes) bson_append_date_time(&set, "live_changed_at", -1, now_ms);
    bson_append_document_end(doc.get(), &set);
    if (changes && recording()) {
      appendEventRecording(doc.get(), live ? RoomEventType::kLive : RoomEventType::kOffline, now_ms, std::nullopt);
    }
    return findAndModify(rooms, filter.get(), doc.get());
  };
  // The flag changes (live_changed_at moves), else it was already so (or the room is unknown).
  if (auto changed = update(true)) {
    if (recording()) materialize(room_id);
    return changed;
  }
  return update(false);
}

size_t MongoRoomStore::clearLive(std::string_view provider, std::string_view whep_prefix, int64_t now_ms) {
  // whep_url in [prefix, prefix + U+10FFFF): the URLs that start with the prefix (byte order).
  auto appendPrefix = [&](bson_t* filter) {
    if (whep_prefix.empty()) return;
    bson_t range;
    bson_append_document_begin(filter, "playback.whep_url", -1, &range);
    appendText(&range, "$gte", whep_prefix);
    appendText(&range, "$lt", std::string(whep_prefix) + "\xf4\x8f\xbf\xbf");
    bson_append_document_end(filter, &range);
  };
  if (recording()) {
    // Room by room, so each records its room.offline with its change.
    size_t cleared = 0;
    Bson live_rooms;
    appendText(live_rooms.get(), "provider", provider);
    bson_append_bool(live_rooms.get(), "live", -1, true);
    appendPrefix(live_rooms.get());
    for (const std::string& id : roomIds(live_rooms.get(), 0)) {
      std::lock_guard lock(roomLock(id));
      RoomsCollection rooms(handles_->pool.get(), database_);
      Bson filter;
      appendRoomIdFilter(filter.get(), id);
      bson_append_bool(filter.get(), "live", -1, true);
      Bson update;
      appendLiveOff(update.get(), now_ms);
      appendEventRecording(update.get(), RoomEventType::kOffline, now_ms, std::nullopt);
      if (findAndModify(rooms, filter.get(), update.get())) {
        ++cleared;
        materialize(id);
      }
    }
    return cleared;
  }
  RoomsCollection rooms(handles_->pool.get(), database_);
  Bson filter;
  appendText(filter.get(), "provider", provider);
  bson_append_bool(filter.get(), "live", -1, true);
  appendPrefix(filter.get());
  Bson update;
  appendLiveOff(update.get(), now_ms);
  Bson reply;
  bson_error_t error;
  if (!mongoc_collection_update_many(rooms.get(), filter.get(), update.get(), nullptr, reply.reply(), &error)) {
    throw unavailable("updateMany", error);
  }
  bson_iter_t iter;
  if (bson_iter_init_find(&iter, reply.get(), "modifiedCount") && BSON_ITER_HOLDS_INT(&iter)) {
    return static_cast<size_t>(bson_iter_as_int64(&iter));
  }
  return 0;
}

std::vector<RoomRecord> MongoRoomStore::list(const ListQuery& query) {
  std::vector<RoomRecord> result;
  if (query.limit <= 0) return result;

  Bson filter;
  if (query.status) appendText(filter.get(), "status", toString(*query.status));
  if (query.host) appendText(filter.get(), "host", *query.host);
  // "public" also matches documents from before visibility existed.
  if (query.visibility && *query.visibility == "public") {
    bson_t not_unlisted;
    bson_append_document_begin(filter.get(), "visibility", -1, &not_unlisted);
    appendText(&not_unlisted, "$ne", "unlisted");
    bson_append_document_end(filter.get(), &not_unlisted);
  } else if (query.visibility) {
    appendText(filter.get(), "visibility", *query.visibility);
  }
  if (query.after) {
    // Strictly after the cursor in (created_at desc, room_id desc) order.
    bson_t any_of;
    bson_t branch;
    bson_t condition;
    bson_append_array_begin(filter.get(), "$or", -1, &any_of);

    bson_append_document_begin(&any_of, "0", -1, &branch);
    bson_append_document_begin(&branch, "created_at", -1, &condition);
    bson_append_date_time(&condition, "$lt", -1, query.after->created_at_ms);
    bson_append_document_end(&branch, &condition);
    bson_append_document_end(&any_of, &branch);

    bson_append_document_begin(&any_of, "1", -1, &branch);
    bson_append_date_time(&branch, "created_at", -1, query.after->created_at_ms);
    bson_append_document_begin(&branch, "room_id", -1, &condition);
    appendText(&condition, "$lt", query.after->room_id);
    bson_append_document_end(&branch, &condition);
    bson_append_document_end(&any_of, &branch);

    bson_append_array_end(filter.get(), &any_of);
  }

  Bson opts;
  bson_t sort;
  bson_append_document_begin(opts.get(), "sort", -1, &sort);
  bson_append_int32(&sort, "created_at", -1, -1);
  bson_append_int32(&sort, "room_id", -1, -1);
  bson_append_document_end(opts.get(), &sort);
  bson_append_int64(opts.get(), "limit", -1, query.limit);

  RoomsCollection rooms(handles_->pool.get(), database_);
  CursorHandle cursor(mongoc_collection_find_with_opts(rooms.get(), filter.get(), opts.get(), nullptr));
  result.reserve(std::min<std::size_t>(static_cast<std::size_t>(query.limit), 100));
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) result.push_back(readRoom(doc));
  bson_error_t error;
  if (mongoc_cursor_error(cursor.get(), &error)) throw unavailable("find", error);
  return result;
}

void MongoRoomStore::setViewers(std::string_view room_id, size_t viewers) {
  // FerretDB does not isolate concurrent updates of one document: with the room's other writes.
  std::lock_guard lock(roomLock(room_id));
  RoomsCollection rooms(handles_->pool.get(), database_);
  Bson filter;
  appendRoomIdFilter(filter.get(), room_id);
  appendText(filter.get(), "status", "active");
  Bson update;
  bson_t set;
  bson_append_document_begin(update.get(), "$set", -1, &set);
  bson_append_int64(&set, "viewers", -1, static_cast<int64_t>(viewers));
  bson_append_document_end(update.get(), &set);
  bson_error_t error;
  if (!mongoc_collection_update_one(rooms.get(), filter.get(), update.get(), nullptr, nullptr, &error)) {
    throw unavailable("updateOne", error);
  }
}

std::string MongoRoomStore::deploymentId() {
  std::lock_guard lock(deployment_mutex_);
  if (!deployment_id_.empty()) return deployment_id_;
  RoomsCollection settings(handles_->pool.get(), database_, "settings");
  // The first process to get here draws the id; the others' inserts fail as duplicates.
  const std::string drawn = "lrd_" + randomHex(12);
  Bson doc;
  appendText(doc.get(), "_id", "deployment_id");
  appendText(doc.get(), "value", drawn);
  bson_error_t error;
  if (!mongoc_collection_insert_one(settings.get(), doc.get(), nullptr, nullptr, &error) && !isDuplicateKey(error)) {
    throw unavailable("insert the deployment id", error);
  }
  Bson filter;
  appendText(filter.get(), "_id", "deployment_id");
  CursorHandle cursor(mongoc_collection_find_with_opts(settings.get(), filter.get(), nullptr, nullptr));
  const bson_t* found = nullptr;
  if (mongoc_cursor_next(cursor.get(), &found)) deployment_id_ = readText(found, "value").value_or("");
  if (mongoc_cursor_error(cursor.get(), &error)) throw unavailable("find the deployment id", error);
  if (deployment_id_.empty()) throw Error(codes::kStoreUnavailable, "the store has no deployment id");
  return deployment_id_;
}

std::optional<RoomCounts> MongoRoomStore::countRooms() {
  RoomsCollection rooms(handles_->pool.get(), database_);
  auto count = [&](const char* field, auto append) {
    Bson filter;
    append(filter.get(), field);
    bson_error_t error;
    const int64_t n = mongoc_collection_count_documents(rooms.get(), filter.get(), nullptr, nullptr, nullptr, &error);
    if (n < 0) throw unavailable("countDocuments", error);
    return static_cast<size_t>(n);
  };
  RoomCounts counts;
  counts.active = count("status", [](bson_t* f, const char* k) { appendText(f, k, "active"); });
  counts.ended = count("status", [](bson_t* f, const char* k) { appendText(f, k, "ended"); });
  counts.live = count("live", [](bson_t* f, const char* k) { bson_append_bool(f, k, -1, true); });
  return counts;
}

bool MongoRoomStore::ping() {
  PooledClient client(handles_->pool.get());
  Bson command;
  bson_append_int32(command.get(), "ping", -1, 1);
  Bson reply;
  bson_error_t error;
  if (!mongoc_client_command_simple(client.get(), "admin", command.get(), nullptr, reply.reply(), &error)) {
    spdlog::warn("mongodb store: ping {} failed: {}", redacted_uri_, error.message);
    return false;
  }
  return true;
}

// ---- the webhook outbox ----

std::mutex& MongoRoomStore::roomLock(std::string_view room_id) {
  return room_locks_[std::hash<std::string_view>{}(room_id) % room_locks_.size()];
}

void MongoRoomStore::recordViewers(std::string_view room_id, size_t viewers, int64_t now_ms) {
  if (!recording()) return;
  std::lock_guard lock(roomLock(room_id));
  bool recorded = false;
  {
    RoomsCollection rooms(handles_->pool.get(), database_);
    Bson filter;
    appendRoomIdFilter(filter.get(), room_id);
    appendText(filter.get(), "status", "active");
    Bson update;
    appendEventRecording(update.get(), RoomEventType::kViewers, now_ms, viewers);
    recorded = findAndModify(rooms, filter.get(), update.get()).has_value();
  }
  if (recorded) materialize(room_id);
}

void MongoRoomStore::materialize(std::string_view room_id) noexcept {
  const OutboxPolicy* policy = recording();
  if (!policy) return;
  try {
    for (int guard = 0; guard < 10'000; ++guard) {
      RoomsCollection rooms(handles_->pool.get(), database_);
      Bson filter;
      appendRoomIdFilter(filter.get(), room_id);
      CursorHandle cursor(mongoc_collection_find_with_opts(rooms.get(), filter.get(), nullptr, nullptr));
      const bson_t* found = nullptr;
      if (!mongoc_cursor_next(cursor.get(), &found)) {
        bson_error_t error;
        if (mongoc_cursor_error(cursor.get(), &error)) throw unavailable("find", error);
        return;
      }
      BsonCopy doc(bson_copy(found));
      cursor.reset();
      bson_iter_t iter;
      bson_iter_t entry_iter;
      if (!bson_iter_init_find(&iter, doc.get(), "webhook_pending") || !BSON_ITER_HOLDS_ARRAY(&iter) ||
          !bson_iter_recurse(&iter, &entry_iter) || !bson_iter_next(&entry_iter) ||
          !BSON_ITER_HOLDS_DOCUMENT(&entry_iter)) {
        return;  // nothing pending
      }
      uint32_t length = 0;
      const uint8_t* data = nullptr;
      bson_iter_document(&entry_iter, &length, &data);
      BsonCopy entry(bson_new_from_data(data, length));
      if (!entry) throw Error(codes::kStoreUnavailable, "a malformed pending webhook event");
      const std::optional<int64_t> done = readInt(doc.get(), "event_done");
      const int64_t seq = done.value_or(0) + 1;
      const auto type = static_cast<RoomEventType>(readInt(entry.get(), "type").value_or(0));
      const int64_t at = readInt(entry.get(), "at").value_or(0);
      std::optional<size_t> viewers;
      if (auto v = readInt(entry.get(), "viewers")) viewers = static_cast<size_t>(*v);
      const RoomRecord room = readRoom(doc.get());
      const std::string event_id = webhookEventId(room.room_id, seq);
      const std::string body = policy->render(type, room, event_id, seq, at, viewers);

      RoomsCollection deliveries(handles_->pool.get(), database_, kDeliveries);
      for (const std::string& endpoint : policy->endpoints) {
        Bson delivery;
        appendText(delivery.get(), "_id", deliveryKey(event_id, endpoint));
        appendText(delivery.get(), "event_id", event_id);
        appendText(delivery.get(), "endpoint", endpoint);
        appendText(delivery.get(), "room_id", room.room_id);
        bson_append_int64(delivery.get(), "seq", -1, seq);
        appendText(delivery.get(), "type", webhookEventName(type));
        appendText(delivery.get(), "body", body);
        bson_append_int64(delivery.get(), "created_at", -1, at);
        appendText(delivery.get(), "state", "pending");
        bson_append_int32(delivery.get(), "attempts", -1, 0);
        bson_append_int64(delivery.get(), "next_attempt_at", -1, at);
        Bson reply;
        bson_error_t error;
        if (!mongoc_collection_insert_one(deliveries.get(), delivery.get(), nullptr, reply.reply(), &error) &&
            !isDuplicateKey(error)) {  // a duplicate: another process made it first
          throw unavailable("insert delivery", error);
        }
      }
      // Pop it, unless another process did first (then event_done moved on).
      Bson cas;
      appendRoomIdFilter(cas.get(), room_id);
      if (done) {
        bson_append_int64(cas.get(), "event_done", -1, *done);
      } else {
        bson_t missing;
        bson_append_document_begin(cas.get(), "event_done", -1, &missing);
        bson_append_bool(&missing, "$exists", -1, false);
        bson_append_document_end(cas.get(), &missing);
      }
      Bson pop;
      bson_t pop_doc;
      bson_append_document_begin(pop.get(), "$pop", -1, &pop_doc);
      bson_append_int32(&pop_doc, "webhook_pending", -1, -1);
      bson_append_document_end(pop.get(), &pop_doc);
      bson_t set;
      bson_append_document_begin(pop.get(), "$set", -1, &set);
      bson_append_int64(&set, "event_done", -1, seq);
      bson_append_document_end(pop.get(), &set);
      findAndModifyDoc(rooms, cas.get(), pop.get());
    }
  } catch (const std::exception& e) {
    spdlog::warn("mongodb store: room {}: webhook events stay pending for now: {}", room_id, e.what());
  }
}

std::vector<std::string> MongoRoomStore::roomIds(const bson_t* filter, int64_t limit) {
  RoomsCollection rooms(handles_->pool.get(), database_);
  Bson opts;
  if (limit > 0) bson_append_int64(opts.get(), "limit", -1, limit);
  CursorHandle cursor(mongoc_collection_find_with_opts(rooms.get(), filter, opts.get(), nullptr));
  std::vector<std::string> ids;
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) ids.push_back(readText(doc, "room_id").value_or(""));
  bson_error_t error;
  if (mongoc_cursor_error(cursor.get(), &error)) throw unavailable("find", error);
  return ids;
}

void MongoRoomStore::sweepPending() {
  Bson pending;
  bson_t exists;
  bson_append_document_begin(pending.get(), "webhook_pending.0", -1, &exists);
  bson_append_bool(&exists, "$exists", -1, true);
  bson_append_document_end(pending.get(), &exists);
  for (const std::string& id : roomIds(pending.get(), 100)) {
    std::lock_guard lock(roomLock(id));
    materialize(id);
  }
}

// A delivery's lease is a document of its own in kLeases, keyed like the delivery: inserting a
// document under a taken _id fails, and deleting one reports whether it was there, on MongoDB
// and on FerretDB alike. A findAndModify compare-and-set on the delivery itself would not do:
// FerretDB 1.24 runs it as a read and then a write, and two processes both won (8 concurrent
// claims of one delivery: 115 winners in 30 rounds; 30 with an insert).
bool MongoRoomStore::takeLease(const std::string& key, std::string_view owner, int64_t now_ms, int64_t lease_ms) {
  RoomsCollection leases(handles_->pool.get(), database_, kLeases);
  for (int round = 0; round < 2; ++round) {
    Bson lease;
    appendText(lease.get(), "_id", key);
    appendText(lease.get(), "owner", owner);
    bson_append_int64(lease.get(), "until", -1, now_ms + lease_ms);
    bson_error_t error;
    if (mongoc_collection_insert_one(leases.get(), lease.get(), nullptr, nullptr, &error)) return true;
    if (!isDuplicateKey(error)) throw unavailable("insert lease", error);
    if (round > 0) return false;
    // Held: by a live process, or by one that died holding it (then it has run out).
    Bson expired;
    appendText(expired.get(), "_id", key);
    bson_t ran_out;
    bson_append_document_begin(expired.get(), "until", -1, &ran_out);
    bson_append_int64(&ran_out, "$lte", -1, now_ms);
    bson_append_document_end(expired.get(), &ran_out);
    Bson reply;
    if (!mongoc_collection_delete_one(leases.get(), expired.get(), nullptr, reply.reply(), &error)) {
      throw unavailable("delete lease", error);
    }
    bson_iter_t iter;
    if (!bson_iter_init_find(&iter, reply.get(), "deletedCount") || bson_iter_as_int64(&iter) != 1) return false;
  }
  return false;
}

void MongoRoomStore::dropLease(const std::string& key, std::string_view owner) {
  RoomsCollection leases(handles_->pool.get(), database_, kLeases);
  Bson mine;
  appendText(mine.get(), "_id", key);
  appendText(mine.get(), "owner", owner);
  bson_error_t error;
  if (!mongoc_collection_delete_one(leases.get(), mine.get(), nullptr, nullptr, &error)) {
    throw unavailable("delete lease", error);
  }
}

std::vector<OutboxDelivery> MongoRoomStore::claim(int64_t now_ms, std::string_view owner, int64_t lease_ms,
                                                  size_t limit) {
  std::lock_guard claiming(claim_mutex_);
  sweepPending();
  RoomsCollection deliveries(handles_->pool.get(), database_, kDeliveries);
  // Leases still running: their queues wait.
  std::set<std::string> leased;
  {
    RoomsCollection leases(handles_->pool.get(), database_, kLeases);
    Bson filter;
    bson_t running;
    bson_append_document_begin(filter.get(), "until", -1, &running);
    bson_append_int64(&running, "$gt", -1, now_ms);
    bson_append_document_end(filter.get(), &running);
    CursorHandle cursor(mongoc_collection_find_with_opts(leases.get(), filter.get(), nullptr, nullptr));
    const bson_t* doc = nullptr;
    while (mongoc_cursor_next(cursor.get(), &doc)) leased.insert(readText(doc, "_id").value_or(""));
    bson_error_t error;
    if (mongoc_cursor_error(cursor.get(), &error)) throw unavailable("find leases", error);
  }
  // Each (endpoint, room) queue's head: its lowest pending sequence, with its attempt count.
  std::vector<std::pair<std::string, int64_t>> due;
  {
    Bson filter;
    appendText(filter.get(), "state", "pending");
    Bson opts;
    bson_t sort;
    bson_append_document_begin(opts.get(), "sort", -1, &sort);
    bson_append_int32(&sort, "endpoint", -1, 1);
    bson_append_int32(&sort, "room_id", -1, 1);
    bson_append_int32(&sort, "seq", -1, 1);
    bson_append_document_end(opts.get(), &sort);
    bson_t projection;
    bson_append_document_begin(opts.get(), "projection", -1, &projection);
    for (const char* field : {"endpoint", "room_id", "next_attempt_at", "attempts"}) {
      bson_append_int32(&projection, field, -1, 1);
    }
    bson_append_document_end(opts.get(), &projection);
    CursorHandle cursor(mongoc_collection_find_with_opts(deliveries.get(), filter.get(), opts.get(), nullptr));
    const bson_t* doc = nullptr;
    std::string last_queue;
    while (due.size() < limit && mongoc_cursor_next(cursor.get(), &doc)) {
      std::string queue = readText(doc, "endpoint").value_or("") + '\n' + readText(doc, "room_id").value_or("");
      if (queue == last_queue) continue;  // not a head
      last_queue = std::move(queue);
      std::string id = readText(doc, "_id").value_or("");
      if (readInt(doc, "next_attempt_at").value_or(0) > now_ms || leased.contains(id)) continue;
      due.emplace_back(std::move(id), readInt(doc, "attempts").value_or(0));
    }
    bson_error_t error;
    if (mongoc_cursor_error(cursor.get(), &error)) throw unavailable("find deliveries", error);
  }
  std::vector<OutboxDelivery> claimed;
  for (const auto& [id, attempts] : due) {
    if (!takeLease(id, owner, now_ms, lease_ms)) continue;
    // Another process may have finished this attempt between the scan and the lease: then the
    // delivery moved on (delivered, given up, or its attempt count and due time changed).
    Bson filter;
    appendText(filter.get(), "_id", id);
    CursorHandle cursor(mongoc_collection_find_with_opts(deliveries.get(), filter.get(), nullptr, nullptr));
    const bson_t* doc = nullptr;
    std::optional<OutboxDelivery> fresh;
    if (mongoc_cursor_next(cursor.get(), &doc)) fresh = readDelivery(doc);
    bson_error_t error;
    if (mongoc_cursor_error(cursor.get(), &error)) throw unavailable("find delivery", error);
    if (fresh && fresh->state == "pending" && fresh->attempts == attempts && fresh->next_attempt_at_ms <= now_ms) {
      claimed.push_back(std::move(*fresh));
    } else {
      dropLease(id, owner);
    }
  }
  return claimed;
}

bool MongoRoomStore::finish(const OutboxDelivery& d, std::string_view owner) {
  const std::string key = deliveryKey(d.event_id, d.endpoint);
  {
    RoomsCollection leases(handles_->pool.get(), database_, kLeases);
    Bson mine;
    appendText(mine.get(), "_id", key);
    appendText(mine.get(), "owner", owner);
    bson_error_t error;
    const int64_t held = mongoc_collection_count_documents(leases.get(), mine.get(), nullptr, nullptr, nullptr, &error);
    if (held < 0) throw unavailable("countDocuments leases", error);
    if (held == 0) return false;  // it ran out and another process took the delivery
  }
  RoomsCollection deliveries(handles_->pool.get(), database_, kDeliveries);
  Bson filter;
  appendText(filter.get(), "_id", key);
  Bson update;
  bson_t set;
  bson_append_document_begin(update.get(), "$set", -1, &set);
  appendText(&set, "state", d.state);
  bson_append_int32(&set, "attempts", -1, d.attempts);
  bson_append_int64(&set, "next_attempt_at", -1, d.next_attempt_at_ms);
  appendOptionalInt(&set, "last_attempt_at", d.last_attempt_at_ms);
  appendOptionalInt(&set, "last_status",
                    d.last_status ? std::optional<int64_t>(*d.last_status) : std::optional<int64_t>());
  appendText(&set, "last_error", d.last_error);
  appendOptionalInt(&set, "delivered_at", d.delivered_at_ms);
  if (d.state != "pending") {
    bson_append_int64(&set, "finished_at", -1, d.delivered_at_ms.value_or(d.last_attempt_at_ms.value_or(0)));
  }
  bson_append_document_end(update.get(), &set);
  if (!d.last_status) {
    bson_t unset;
    bson_append_document_begin(update.get(), "$unset", -1, &unset);
    appendText(&unset, "last_status", "");
    bson_append_document_end(update.get(), &unset);
  }
  const bool stored = findAndModifyDoc(deliveries, filter.get(), update.get()) != nullptr;
  // Only after the outcome is stored: a process that scanned before it then sees it moved on.
  dropLease(key, owner);
  return stored;
}

std::vector<OutboxDelivery> MongoRoomStore::deliveries(const DeliveryQuery& query) {
  std::vector<OutboxDelivery> result;
  if (query.limit <= 0) return result;
  Bson filter;
  if (query.state) appendText(filter.get(), "state", *query.state);
  if (query.room_id) appendText(filter.get(), "room_id", *query.room_id);
  if (query.before) {
    // Strictly before (created_at, event_id, endpoint) in descending order.
    const auto& b = *query.before;
    bson_t any_of;
    bson_t branch;
    bson_t condition;
    bson_append_array_begin(filter.get(), "$or", -1, &any_of);
    bson_append_document_begin(&any_of, "0", -1, &branch);
    bson_append_document_begin(&branch, "created_at", -1, &condition);
    bson_append_int64(&condition, "$lt", -1, b.created_at_ms);
    bson_append_document_end(&branch, &condition);
    bson_append_document_end(&any_of, &branch);
    bson_append_document_begin(&any_of, "1", -1, &branch);
    bson_append_int64(&branch, "created_at", -1, b.created_at_ms);
    bson_append_document_begin(&branch, "event_id", -1, &condition);
    appendText(&condition, "$lt", b.event_id);
    bson_append_document_end(&branch, &condition);
    bson_append_document_end(&any_of, &branch);
    bson_append_document_begin(&any_of, "2", -1, &branch);
    bson_append_int64(&branch, "created_at", -1, b.created_at_ms);
    appendText(&branch, "event_id", b.event_id);
    bson_append_document_begin(&branch, "endpoint", -1, &condition);
    appendText(&condition, "$lt", b.endpoint);
    bson_append_document_end(&branch, &condition);
    bson_append_document_end(&any_of, &branch);
    bson_append_array_end(filter.get(), &any_of);
  }
  Bson opts;
  bson_t sort;
  bson_append_document_begin(opts.get(), "sort", -1, &sort);
  bson_append_int32(&sort, "created_at", -1, -1);
  bson_append_int32(&sort, "event_id", -1, -1);
  bson_append_int32(&sort, "endpoint", -1, -1);
  bson_append_document_end(opts.get(), &sort);
  bson_append_int64(opts.get(), "limit", -1, query.limit);
  RoomsCollection deliveries(handles_->pool.get(), database_, kDeliveries);
  CursorHandle cursor(mongoc_collection_find_with_opts(deliveries.get(), filter.get(), opts.get(), nullptr));
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) result.push_back(readDelivery(doc));
  bson_error_t error;
  if (mongoc_cursor_error(cursor.get(), &error)) throw unavailable("find deliveries", error);
  return result;
}

OutboxCounts MongoRoomStore::counts() {
  RoomsCollection deliveries(handles_->pool.get(), database_, kDeliveries);
  auto count = [&](const char* state) {
    Bson filter;
    appendText(filter.get(), "state", state);
    bson_error_t error;
    const int64_t n =
        mongoc_collection_count_documents(deliveries.get(), filter.get(), nullptr, nullptr, nullptr, &error);
    if (n < 0) throw unavailable("countDocuments", error);
    return static_cast<size_t>(n);
  };
  return {count("pending"), count("delivered"), count("failed")};
}

size_t MongoRoomStore::prune(int64_t before_ms) {
  RoomsCollection deliveries(handles_->pool.get(), database_, kDeliveries);
  Bson filter;
  bson_t not_pending;
  bson_append_document_begin(filter.get(), "state", -1, &not_pending);
  appendText(&not_pending, "$ne", "pending");
  bson_append_document_end(filter.get(), &not_pending);
  bson_t older;
  bson_append_document_begin(filter.get(), "finished_at", -1, &older);
  bson_append_int64(&older, "$lt", -1, before_ms);
  bson_append_document_end(filter.get(), &older);
  Bson reply;
  bson_error_t error;
  if (!mongoc_collection_delete_many(deliveries.get(), filter.get(), nullptr, reply.reply(), &error)) {
    throw unavailable("deleteMany deliveries", error);
  }
  return static_cast<size_t>(readInt(reply.get(), "deletedCount").value_or(0));
}

}  // namespace liveroom

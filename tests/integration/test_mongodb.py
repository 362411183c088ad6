"""The MongoDB store against real FerretDB: the create/join/update/end/list cycle with
`--store mongodb`, the documents in `livestreams` (spec field names, only the host token's
hash, indexes), restart persistence, two processes sharing one database (join cache TTL),
and consistency when MongoDB dies: the create that cannot be stored deletes its live input
again and answers 503 store_unavailable, /readyz follows the store, and the server recovers
when FerretDB comes back."""

from __future__ import annotations

import base64
import hashlib

import pytest

from liveroom_harness import (
    BsonDate, MongoWire, assert_error, assert_public_view, require_mongo, wait_until,
)

pytestmark = pytest.mark.mongodb


def mongo_server(server, fake_cloudflare, uri, *args):
    return server("--store", "mongodb", "--mongodb-uri", uri, *args, cf=fake_cloudflare)


def test_mongodb_room_cycle(server, fake_cloudflare, mongo):
    srv = mongo_server(server, fake_cloudflare, mongo.uri())
    assert srv.get("/readyz").status == 200
    assert srv.list_rooms().json() == {"rooms": [], "next_cursor": None}

    room = srv.create(title="Lớp học online", host="user_123")
    bc = srv.create(title="Concert", host="band", mode="broadcast")
    rid, tok = room["room_id"], room["host_token"]

    j = srv.join(rid)
    assert j.status == 200, j.describe()
    assert_public_view(j.json(), [tok, room["whip_url"]])
    assert j.json()["whep_url"] == room["playback"]["whep_url"]

    u = srv.update(rid, "  Lớp học online 2  ", tok)
    assert u.status == 200 and u.json()["title"] == "Lớp học online 2", u.describe()
    assert srv.join(rid).json()["title"] == "Lớp học online 2"
    assert_error(srv.update(rid, "x", bc["host_token"]), 403, "forbidden")

    ids = [x["room_id"] for x in srv.list_rooms().json()["rooms"]]
    assert set(ids) == {rid, bc["room_id"]}
    assert srv.ingest(bc["room_id"], bc["host_token"]).status == 200

    e = srv.end(rid, tok)
    assert e.status == 200 and e.json()["status"] == "ended", e.describe()
    assert srv.end(rid, tok).json() == e.json()
    assert_error(srv.join(rid), 410, "room_ended")
    assert_error(srv.update(rid, "x", tok), 410, "room_ended")
    assert [x["room_id"] for x in srv.list_rooms(status="ended").json()["rooms"]] == [rid]
    assert [x["room_id"] for x in srv.list_rooms(status="active").json()["rooms"]] == [bc["room_id"]]
    assert [x["room_id"] for x in srv.list_rooms(host="band").json()["rooms"]] == [bc["room_id"]]
    assert_error(srv.join("live_AAAAAAAAAAAAAAAA"), 404, "room_not_found")


def test_mongodb_paging(server, fake_cloudflare, mongo):
    srv = mongo_server(server, fake_cloudflare, mongo.uri())
    created = [srv.create(title=f"r{i}", host="pager") for i in range(25)]
    first = srv.list_rooms(limit=10).json()
    newer = [srv.create(host="pager") for _ in range(3)]
    seen = [x["room_id"] for x in first["rooms"]]
    cursor = first["next_cursor"]
    while cursor:
        doc = srv.list_rooms(limit=10, cursor=cursor).json()
        seen += [x["room_id"] for x in doc["rooms"]]
        cursor = doc["next_cursor"]
    assert len(seen) == len(set(seen)) == 25
    assert set(seen) == {r["room_id"] for r in created}
    assert not set(seen) & {r["room_id"] for r in newer}
    assert_error(srv.list_rooms(cursor="not a cursor!"), 400, "invalid_field", "cursor")


def _hash_forms(token: str) -> set:
    d = hashlib.sha256(token.encode()).digest()
    return {d, d.hex(), d.hex().upper(), base64.b64encode(d).decode(),
            base64.urlsafe_b64encode(d).decode(), base64.urlsafe_b64encode(d).decode().rstrip("=")}


def test_mongodb_documents(server, fake_cloudflare, mongo):
    uri = mongo.uri()
    wire = MongoWire.from_uri(uri)
    if wire is None:
        require_mongo("cannot inspect this MongoDB URI with the minimal wire client")
    srv = mongo_server(server, fake_cloudflare, uri)
    room = srv.create(title="Lớp học online", host="user_123")
    inp = fake_cloudflare.last_created()

    docs = wire.find(mongo.db, "livestreams", {"room_id": room["room_id"]})
    assert len(docs) == 1, docs
    doc = docs[0]
    for k in ("room_id", "session_id", "whip_url", "host", "status", "created_at", "title", "mode",
              "live", "ended_at", "host_token_hash"):
        assert k in doc, f"document lacks {k}: {sorted(doc)}"
    assert doc["session_id"] == inp["uid"]
    assert doc["whip_url"] == inp["webRTC"]["url"]
    assert doc["host"] == "user_123" and doc["title"] == "Lớp học online"
    assert doc["status"] == "active" and doc["mode"] == "webrtc" and doc["live"] is False
    assert doc["ended_at"] is None
    assert isinstance(doc["created_at"], (BsonDate, str)), doc["created_at"]
    assert room["host_token"] not in repr(doc), "the host token is stored in clear"
    assert doc["host_token_hash"] in _hash_forms(room["host_token"]), \
        f"host_token_hash {doc['host_token_hash']!r} is not the SHA-256 of the token"

    assert srv.end(room["room_id"], room["host_token"]).status == 200
    doc = wire.find(mongo.db, "livestreams", {"room_id": room["room_id"]})[0]
    assert doc["status"] == "ended" and doc["ended_at"] is not None, doc

    idx = wire.list_indexes(mongo.db, "livestreams")
    keys = {tuple(i["key"].keys()): i for i in idx}
    assert ("room_id",) in keys and keys[("room_id",)].get("unique") is True, idx
    assert ("status", "created_at") in keys, idx


def test_mongodb_database_comes_from_uri(server, fake_cloudflare, mongo):
    uri = mongo.uri("dbname")
    wire = MongoWire.from_uri(uri)
    if wire is None:
        require_mongo("cannot inspect this MongoDB URI with the minimal wire client")
    srv = mongo_server(server, fake_cloudflare, uri)
    room = srv.create()
    assert wire.find(mongo.db, "livestreams", {"room_id": room["room_id"]}), \
        f"room not in database {mongo.db} named by the URI"


def test_mongodb_restart_keeps_rooms(server, fake_cloudflare, mongo):
    srv = mongo_server(server, fake_cloudflare, mongo.uri())
    a = srv.create()
    b = srv.create(mode="broadcast")
    assert srv.end(a["room_id"], a["host_token"]).status == 200
    views = {r: srv.room(r).json() for r in (a["room_id"], b["room_id"])}
    srv.restart()
    for rid, v in views.items():
        assert srv.room(rid).json() == v
    assert_error(srv.join(a["room_id"]), 410, "room_ended")
    assert srv.ingest(b["room_id"], b["host_token"]).status == 200


def test_env_twins_select_mongodb(server, fake_cloudflare, mongo):
    uri = mongo.uri()
    srv = server(env={**fake_cloudflare.env(), "LIVEROOM_STORE": "mongodb", "LIVEROOM_MONGODB_URI": uri})
    room = srv.create()
    wire = MongoWire.from_uri(uri)
    if wire is not None:
        assert wire.find(mongo.db, "livestreams", {"room_id": room["room_id"]}), "LIVEROOM_STORE ignored"
    # and nothing went to a SQLite file in the data dir
    assert not any(p.suffix in (".db", ".sqlite", ".sqlite3") for p in srv.data_dir.rglob("*")), \
        list(srv.data_dir.rglob("*"))


def test_two_processes_share_the_store(server, fake_cloudflare, mongo):
    uri = mongo.uri()
    a = mongo_server(server, fake_cloudflare, uri)
    b = mongo_server(server, fake_cloudflare, uri, "--cache-ttl-ms", "200")
    room = a.create()
    jb = b.join(room["room_id"])  # B has never seen it: read from the store
    assert jb.status == 200, jb.describe()
    assert a.end(room["room_id"], room["host_token"]).status == 200
    # B may serve its cached view for up to its TTL, then must see the end.
    wait_until(lambda: b.join(room["room_id"]).status == 410, 10,
               "process B to notice the room ended in process A (cache TTL 200 ms)")
    assert b.room(room["room_id"]).json()["status"] == "ended"
    # Either process can end/update with the host token of a room created by the other.
    room2 = b.create()
    u = a.update(room2["room_id"], "from A", room2["host_token"])
    assert u.status == 200, u.describe()
    wait_until(lambda: b.join(room2["room_id"]).json().get("title") == "from A", 10,
               "process B to see A's update")


# ---- consistency with a FerretDB this test kills ------------------------------------

@pytest.mark.ferretdb_process
def test_store_outage_deletes_the_new_input_and_recovers(server, fake_cloudflare, own_ferretdb):
    fdb = own_ferretdb()
    srv = mongo_server(server, fake_cloudflare, fdb.uri("liveroom_consistency"))
    assert srv.get("/readyz").status == 200
    first = srv.create(title="before the outage")

    fdb.kill()
    creates_before = len(fake_cloudflare.creates())
    r = srv.post("/api/livestream/create", {"title": "during the outage", "host": "user_123"}, timeout=90)
    assert_error(r, 503, "store_unavailable")
    new_creates = fake_cloudflare.creates()[creates_before:]
    if new_creates:  # the provider was called first: its input must have been deleted again
        made = [i for i in fake_cloudflare.created if i["meta"].get("name") == "during the outage"]
        assert made, "create reached Cloudflare but no input is recorded"
        for inp in made:
            assert fake_cloudflare.deletes(inp["uid"]), \
                f"orphaned live input {inp['uid']}: no DELETE after the store write failed"
            assert inp["uid"] not in fake_cloudflare.inputs
    r = srv.get("/readyz", timeout=90)
    assert r.status == 503, r.describe()
    # An unknown room while the store is down is not "not found".
    assert_error(srv.join("live_QQQQQQQQQQQQQQQQ"), 503, "store_unavailable")
    assert srv.get("/healthz").status == 200, "healthz is process liveness, not store health"

    fdb.start()  # same port, same SQLite directory
    wait_until(lambda: srv.get("/readyz", timeout=30).status == 200, 60, "readyz to recover")
    j = srv.join(first["room_id"])
    assert j.status == 200, j.describe()
    assert j.json()["title"] == "before the outage"
    ids = [x["room_id"] for x in srv.list_rooms().json()["rooms"]]
    assert ids == [first["room_id"]], f"rooms after recovery: {ids}"
    assert srv.create(title="after").get("room_id")
    assert srv.end(first["room_id"], first["host_token"]).status == 200


@pytest.mark.ferretdb_process
def test_end_during_store_outage_is_retriable(server, fake_cloudflare, own_ferretdb):
    fdb = own_ferretdb()
    srv = mongo_server(server, fake_cloudflare, fdb.uri("liveroom_end_outage"))
    room = srv.create()
    fdb.kill()
    r = srv.end(room["room_id"], room["host_token"])
    assert r.status == 503, r.describe()
    assert_error(r, 503, "store_unavailable")
    fdb.start()
    wait_until(lambda: srv.get("/readyz", timeout=30).status == 200, 60, "readyz to recover")
    # The input may already be gone at Cloudflare; ending again must still succeed.
    r = srv.end(room["room_id"], room["host_token"])
    assert r.status == 200, r.describe()
    assert_error(srv.join(room["room_id"]), 410, "room_ended")

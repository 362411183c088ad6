"""The rooms HTTP API against the real binary (SQLite store, fake Cloudflare Stream):
create (shape per mode, the Cloudflare request it makes, title/host/mode validation),
join (public fields only, never calls the provider, 404/400/410), update (auth, cache
invalidation), end (auth, provider delete, idempotent), rooms list (filters, limits,
cursor paging stable under inserts), rooms/{id}, rooms/{id}/ingest, health, the generic
HTTP contract (400/405/413/415/404, CORS), --api-key and Cloudflare's legacy auth."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from liveroom_harness import (
    CF_ACCOUNT, CF_EMAIL, CF_LEGACY_KEY, CF_TOKEN, ROOM_ID_RE, FakeCloudflare, assert_error,
    assert_no_secrets, assert_public_view, assert_timestamp, is_json_content_type,
)

CREATE = "/api/livestream/create"
VI_TITLE = "Lớp học online"


def create_raw(srv, body, **kw):
    return srv.post(CREATE, body, **kw)


def room_secrets(room: dict, fake: FakeCloudflare | None = None) -> list[str]:
    """Every secret string of a created room."""
    vals = [room["host_token"]]
    if room.get("whip_url"):
        vals.append(room["whip_url"])
        vals.append(urlpath_secret(room["whip_url"]))
    ing = room.get("ingest") or {}
    if ing.get("rtmps"):
        vals.append(ing["rtmps"]["stream_key"])
    if ing.get("srt"):
        vals.append(ing["srt"]["passphrase"])
    return vals


def urlpath_secret(url: str) -> str:
    return urllib.parse.urlsplit(url).path.strip("/").split("/")[0]


# ======================================================================================
# create
# ======================================================================================

def test_create_webrtc_room_shape_and_cloudflare_request(cf_server, fake_cloudflare):
    r = create_raw(cf_server, {"title": VI_TITLE, "host": "user_123"})
    assert r.status == 201, r.describe()
    assert is_json_content_type(r.header("Content-Type")), r.headers
    room = r.json()
    inp = fake_cloudflare.last_created()

    assert ROOM_ID_RE.match(room["room_id"]), room["room_id"]
    assert room["title"] == VI_TITLE
    assert room["host"] == "user_123"
    assert room["mode"] == "webrtc"
    assert room["provider"] == "cloudflare"
    assert room["status"] == "active"
    assert room["live"] is False
    assert_timestamp(room["created_at"], "created_at")
    assert isinstance(room["host_token"], str) and len(room["host_token"]) >= 16, room
    assert room["whip_url"] == inp["webRTC"]["url"]
    assert room["ingest"]["whip_url"] == inp["webRTC"]["url"]
    assert room["ingest"]["rtmps"] is None, room["ingest"]
    assert room["ingest"]["srt"] is None, room["ingest"]
    assert room["playback"]["whep_url"] == inp["webRTCPlayback"]["url"]
    assert room["playback"]["hls_url"] is None
    assert room["playback"]["dash_url"] is None
    # host_token, whip_url never twice-used as the same value
    assert room["host_token"] not in room["whip_url"]

    creates = fake_cloudflare.creates()
    assert len(creates) == 1, [c.path for c in creates]
    c = creates[0]
    assert c.path.endswith(f"/accounts/{CF_ACCOUNT}/stream/live_inputs"), c.path
    assert c.headers.get("authorization") == f"Bearer {CF_TOKEN}", c.headers
    assert is_json_content_type(c.headers.get("content-type")), c.headers
    assert isinstance(c.json, dict), c.body
    assert c.json.get("meta", {}).get("name") == VI_TITLE, c.json


def test_create_broadcast_room_shape_and_cloudflare_request(cf_server, fake_cloudflare):
    room = cf_server.create(title="Concert", host="band", mode="broadcast")
    inp = fake_cloudflare.last_created()
    uid = inp["uid"]
    host = urllib.parse.urlsplit(inp["webRTC"]["url"]).netloc
    assert host.startswith("customer-") and host.endswith(".cloudflarestream.com")

    assert room["mode"] == "broadcast"
    assert room["whip_url"] is None, room
    assert room["ingest"]["whip_url"] is None, room["ingest"]
    assert room["ingest"]["rtmps"] == {"url": inp["rtmps"]["url"], "stream_key": inp["rtmps"]["streamKey"]}
    assert room["ingest"]["srt"] == {"url": inp["srt"]["url"], "stream_id": inp["srt"]["streamId"],
                                     "passphrase": inp["srt"]["passphrase"]}
    assert room["playback"]["whep_url"] is None, room["playback"]
    assert room["playback"]["hls_url"] == f"https://{host}/{uid}/manifest/video.m3u8"
    assert room["playback"]["dash_url"] == f"https://{host}/{uid}/manifest/video.mpd"

    body = fake_cloudflare.creates()[-1].json
    assert body["meta"]["name"] == "Concert", body
    assert body["recording"]["mode"] == "automatic", body
    assert body["deleteRecordingAfterDays"] == 45, body


def test_rooms_differ(cf_server):
    a = cf_server.create()
    b = cf_server.create()
    assert a["room_id"] != b["room_id"]
    assert a["host_token"] != b["host_token"]
    assert a["whip_url"] != b["whip_url"]
    assert a["playback"]["whep_url"] != b["playback"]["whep_url"]


@pytest.mark.parametrize("raw,expected", [
    ("  hello  ", "hello"),
    ("\t\n hello world \r\n", "hello world"),
    ("  " + "a" * 200 + "  ", "a" * 200),
])
def test_title_is_trimmed(cf_server, fake_cloudflare, raw, expected):
    room = cf_server.create(title=raw)
    assert room["title"] == expected
    assert fake_cloudflare.creates()[-1].json["meta"]["name"] == expected
    assert cf_server.join(room["room_id"]).json()["title"] == expected


@pytest.mark.parametrize("title", [
    "a" * 200,
    ("Lớp học online ộ " * 20)[:200],   # 200 characters, ~300 bytes of UTF-8
    "ộ" * 200,                           # 200 characters, 600 bytes
    "😀" * 200,                          # 200 characters outside the BMP, 800 bytes
])
def test_title_of_200_characters_is_accepted(cf_server, title):
    assert len(title) == 200
    room = cf_server.create(title=title)
    assert room["title"] == title
    assert cf_server.join(room["room_id"]).json()["title"] == title


@pytest.mark.parametrize("title", ["a" * 201, "ộ" * 201, ("Lớp học online ộ " * 20)[:201]])
def test_title_of_201_characters_is_rejected(cf_server, fake_cloudflare, title):
    assert len(title.strip()) == 201
    assert_error(create_raw(cf_server, {"title": title, "host": "u1"}), 400, "invalid_field", "title")
    assert fake_cloudflare.creates() == []


@pytest.mark.parametrize("body", [
    {"host": "u1"},
    {"title": "", "host": "u1"},
    {"title": "   ", "host": "u1"},
    {"title": "\t\n", "host": "u1"},
    {"title": None, "host": "u1"},
    {"title": 42, "host": "u1"},
    {"title": ["a"], "host": "u1"},
    {"title": {"a": 1}, "host": "u1"},
    {"title": True, "host": "u1"},
], ids=["missing", "empty", "spaces", "whitespace", "null", "number", "array", "object", "bool"])
def test_bad_title(cf_server, fake_cloudflare, body):
    assert_error(create_raw(cf_server, body), 400, "invalid_field", "title")
    assert fake_cloudflare.creates() == []


@pytest.mark.parametrize("raw", [
    b'{"title": "abc\xff\xfe", "host": "u1"}',        # invalid bytes
    b'{"title": "abc\xc0\xaf", "host": "u1"}',        # overlong encoding of '/'
    b'{"title": "abc\xed\xa0\x80", "host": "u1"}',    # UTF-8-encoded surrogate
    b'{"title": "abc\xe1\xbb", "host": "u1"}',        # truncated sequence
    b'{"title": "abc\\ud800", "host": "u1"}',         # lone surrogate escape
], ids=["ff-fe", "overlong", "surrogate-bytes", "truncated", "lone-surrogate-escape"])
def test_title_with_invalid_utf8_is_rejected(cf_server, fake_cloudflare, raw):
    r = cf_server.call("POST", CREATE, body=raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, ("invalid_json", "invalid_field"))
    assert fake_cloudflare.creates() == []


@pytest.mark.parametrize("host", [
    "a", "A.b_c-d@e9", "x" * 64, "user_123", "someone@example.com", "Cô Lan", "Thầy Nguyễn Văn Hùng",
    "李老师", "田中さん", "Lan 🎓", "مريم", "user 1", "<script>", "李" * 64,
], ids=["one", "ascii-marks", "64", "spec", "email", "vi", "vi-long", "zh", "ja", "emoji", "arabic", "space",
        "html", "64-cjk"])
def test_valid_hosts(cf_server, host):
    room = cf_server.create(host=host)
    assert room["host"] == host
    # Listed by the same name, in any script.
    listed = cf_server.list_rooms(host=host).json()["rooms"]
    assert [r["room_id"] for r in listed] == [room["room_id"]]


def test_host_is_trimmed_of_unicode_spaces(cf_server):
    assert cf_server.create(host="\u3000 Cô Lan\u00a0\t")["host"] == "Cô Lan"


@pytest.mark.parametrize("host", [
    "", "   ", "x" * 65, "李" * 65, "us\ner", "a\u0000b", "a\u001b[31m", "a\u0085b", "admin\u202enimda",
    "x\u2066y\u2069", "a\u2028b", "a\ufffe", None, 7, ["u"],
], ids=["empty", "spaces", "65", "65-cjk", "newline", "nul", "escape", "c1", "bidi-override", "bidi-isolate",
        "line-separator", "noncharacter", "null", "number", "array"])
def test_bad_hosts(cf_server, fake_cloudflare, host):
    assert_error(create_raw(cf_server, {"title": "t", "host": host}), 400, "invalid_field", "host")
    assert fake_cloudflare.creates() == []


@pytest.mark.parametrize("raw", [
    b'{"title": "t", "host": "C\xc3"}',               # truncated sequence
    b'{"title": "t", "host": "\xc0\xafetc"}',        # overlong '/'
    b'{"title": "t", "host": "\xed\xa0\x80"}',      # surrogate bytes
    b'{"title": "t", "host": "a\\ud800"}',          # lone surrogate escape
], ids=["truncated", "overlong", "surrogate-bytes", "lone-surrogate-escape"])
def test_host_with_invalid_utf8_is_rejected(cf_server, fake_cloudflare, raw):
    r = cf_server.call("POST", CREATE, body=raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, ("invalid_json", "invalid_field"))
    assert fake_cloudflare.creates() == []


def test_missing_host(cf_server, fake_cloudflare):
    assert_error(create_raw(cf_server, {"title": "t"}), 400, "invalid_field", "host")
    assert fake_cloudflare.creates() == []


def test_mode_default_and_explicit(cf_server):
    assert cf_server.create()["mode"] == "webrtc"
    assert cf_server.create(mode="webrtc")["mode"] == "webrtc"
    assert cf_server.create(mode="broadcast")["mode"] == "broadcast"


@pytest.mark.parametrize("mode", ["bogus", "WebRTC_", "", "rtmp", 5, ["webrtc"], {"m": 1}, True])
def test_bad_mode(cf_server, fake_cloudflare, mode):
    r = create_raw(cf_server, {"title": "t", "host": "h", "mode": mode})
    assert_error(r, 400, "invalid_field", "mode")
    assert fake_cloudflare.creates() == []


def test_unknown_fields_are_ignored(cf_server):
    r = create_raw(cf_server, {"title": "t", "host": "h", "foo": 1, "nested": {"a": [1, 2, {"b": None}]},
                               "room_id": "live_chosenByClient1", "status": "ended", "host_token": "mine"})
    assert r.status == 201, r.describe()
    room = r.json()
    assert room["room_id"] != "live_chosenByClient1"
    assert room["status"] == "active"
    assert room["host_token"] != "mine"


@pytest.mark.parametrize("raw", [b"[]", b'"title"', b"123", b"null", b"true",
                                 b'[{"title": "t", "host": "h"}]'])
def test_json_that_is_not_an_object(cf_server, fake_cloudflare, raw):
    r = cf_server.call("POST", CREATE, body=raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, ("invalid_json", "invalid_field"))
    assert fake_cloudflare.creates() == []


@pytest.mark.parametrize("raw", [b"", b"{", b'{"title": "t", "host": "h"', b"{'title': 't'}",
                                 b'{"title": "t", "host": "h"} trailing', b'{"title": "t",, "host": "h"}'])
def test_malformed_json(cf_server, fake_cloudflare, raw):
    r = cf_server.call("POST", CREATE, body=raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")
    assert fake_cloudflare.creates() == []


def test_created_at_orders_rooms(cf_server):
    a = cf_server.create()
    b = cf_server.create()
    assert assert_timestamp(a["created_at"]) <= assert_timestamp(b["created_at"])


# ======================================================================================
# join
# ======================================================================================

@pytest.mark.parametrize("mode", ["webrtc", "broadcast"])
def test_join_returns_public_fields_only(cf_server, fake_cloudflare, mode):
    room = cf_server.create(mode=mode)
    inp = fake_cloudflare.last_created()
    r = cf_server.join(room["room_id"])
    assert r.status == 200, r.describe()
    assert is_json_content_type(r.header("Content-Type")), r.headers
    view = r.json()
    all_secrets = room_secrets(room) + list(FakeCloudflare.secrets_of(inp).values())
    assert_public_view(view, all_secrets)
    assert_no_secrets(r, all_secrets)
    assert view["room_id"] == room["room_id"]
    assert view["title"] == room["title"]
    assert view["host"] == room["host"]
    assert view["mode"] == mode
    assert view["status"] == "active"
    assert view["live"] is False
    assert view["ended_at"] is None
    assert view["created_at"] == room["created_at"]
    assert view["playback"] == room["playback"]
    if mode == "webrtc":
        assert view["whep_url"] == inp["webRTCPlayback"]["url"]
    else:
        assert view["whep_url"] is None


def test_join_unknown_room(cf_server):
    assert_error(cf_server.join("live_AAAAAAAAAAAAAAAA"), 404, "room_not_found")


@pytest.mark.parametrize("query", [
    "", "?", "?room_id=", "?room=live_AAAAAAAAAAAA", "?room_id=bad%20id",
    "?room_id=%27%3B%20DROP%20TABLE%20rooms%3B--", "?room_id=%3Cscript%3E", "?room_id=..%2F..%2Fetc%2Fpasswd",
], ids=["none", "empty-query", "empty", "other-param", "space", "sql", "html", "traversal"])
def test_join_missing_or_invalid_room_id(cf_server, query):
    r = cf_server.get("/api/livestream/join" + query)
    assert_error(r, 400, "invalid_field", "room_id")


def test_join_ended_room_is_410(cf_server):
    room = cf_server.create()
    assert cf_server.end(room["room_id"], room["host_token"]).status == 200
    assert_error(cf_server.join(room["room_id"]), 410, "room_ended")


def test_joins_never_call_the_provider(server, fake_cloudflare):
    # A 1 ms cache TTL makes most joins go to the store; none may go to Cloudflare.
    srv = server("--cache-ttl-ms", "1", cf=fake_cloudflare)
    rooms = [srv.create(), srv.create(mode="broadcast")]
    before = len(fake_cloudflare.room_calls())  # (the orphan sweep's listing at start is no join)
    for i in range(60):
        room = rooms[i % 2]
        assert srv.join(room["room_id"]).status == 200
    assert srv.room(rooms[0]["room_id"]).status == 200
    assert srv.list_rooms().status == 200
    assert_error(srv.join("live_ZZZZZZZZZZZZZZZZ"), 404, "room_not_found")
    new = fake_cloudflare.room_calls()[before:]
    assert not new, f"joins/reads called Cloudflare: {[(c.method, c.path) for c in new]}"


# ======================================================================================
# update
# ======================================================================================

def test_update_title_is_visible_immediately(cf_server, fake_cloudflare):
    room = cf_server.create(title="Old title")
    rid, tok = room["room_id"], room["host_token"]
    assert cf_server.join(rid).json()["title"] == "Old title"  # warm the cache
    r = cf_server.update(rid, "  New title ộ  ", tok)
    assert r.status == 200, r.describe()
    view = r.json()
    assert_public_view(view, room_secrets(room))
    assert view["title"] == "New title ộ"
    assert view["room_id"] == rid and view["status"] == "active"
    assert cf_server.join(rid).json()["title"] == "New title ộ"
    assert cf_server.room(rid).json()["title"] == "New title ộ"
    listed = [x for x in cf_server.list_rooms().json()["rooms"] if x["room_id"] == rid]
    assert listed and listed[0]["title"] == "New title ộ"


def test_update_auth(cf_server):
    a = cf_server.create(title="A")
    b = cf_server.create(title="B")
    rid = a["room_id"]
    assert_error(cf_server.update(rid, "x", None), 401, "unauthorized")
    r = cf_server.post("/api/livestream/update", {"room_id": rid, "title": "x"},
                       headers={"Authorization": f"Basic {a['host_token']}"})
    assert_error(r, 401, "unauthorized")
    assert_error(cf_server.update(rid, "x", "wrong-token"), 403, "forbidden")
    assert_error(cf_server.update(rid, "x", b["host_token"]), 403, "forbidden")  # other room's token
    assert cf_server.join(rid).json()["title"] == "A"


@pytest.mark.parametrize("title", ["", "   ", "a" * 201, None, 3])
def test_update_validates_title(cf_server, title):
    room = cf_server.create(title="Keep")
    assert_error(cf_server.update(room["room_id"], title, room["host_token"]), 400, "invalid_field", "title")
    assert cf_server.join(room["room_id"]).json()["title"] == "Keep"


def test_update_missing_room_id(cf_server):
    room = cf_server.create()
    r = cf_server.post("/api/livestream/update", {"title": "x"}, token=room["host_token"])
    assert_error(r, 400, "invalid_field", "room_id")


def test_update_unknown_room(cf_server):
    room = cf_server.create()
    assert_error(cf_server.update("live_AAAAAAAAAAAAAAAA", "x", room["host_token"]), 404, "room_not_found")


def test_update_ended_room_is_410(cf_server):
    room = cf_server.create(title="Done")
    assert cf_server.end(room["room_id"], room["host_token"]).status == 200
    assert_error(cf_server.update(room["room_id"], "again", room["host_token"]), 410, "room_ended")
    assert cf_server.room(room["room_id"]).json()["title"] == "Done"


# ======================================================================================
# end
# ======================================================================================

def test_end_auth_then_success(cf_server, fake_cloudflare):
    room = cf_server.create()
    other = cf_server.create()
    rid = room["room_id"]
    uid = fake_cloudflare.input_for_whep(room["playback"]["whep_url"])["uid"]

    assert_error(cf_server.end(rid, None), 401, "unauthorized")
    r = cf_server.post("/api/livestream/end", {"room_id": rid},
                       headers={"Authorization": room["host_token"]})  # no "Bearer "
    assert_error(r, 401, "unauthorized")
    assert_error(cf_server.end(rid, "not-the-token"), 403, "forbidden")
    assert_error(cf_server.end(rid, other["host_token"]), 403, "forbidden")
    assert_error(cf_server.end(rid, room["host_token"] + "x"), 403, "forbidden")
    assert fake_cloudflare.deletes() == [], "a refused end must not delete the live input"
    assert cf_server.join(rid).status == 200

    r = cf_server.end(rid, room["host_token"])
    assert r.status == 200, r.describe()
    body = r.json()
    assert body["room_id"] == rid and body["status"] == "ended", body
    ended_at = assert_timestamp(body["ended_at"], "ended_at")
    assert ended_at >= assert_timestamp(room["created_at"])
    assert_no_secrets(r, room_secrets(room))

    dels = fake_cloudflare.deletes(uid)
    assert len(dels) >= 1, [(c.method, c.path) for c in fake_cloudflare.calls()]
    assert dels[0].path.endswith(f"/accounts/{CF_ACCOUNT}/stream/live_inputs/{uid}"), dels[0].path
    assert dels[0].headers.get("authorization") == f"Bearer {CF_TOKEN}"
    assert uid not in fake_cloudflare.inputs
    # Only this room's input was deleted.
    assert len(fake_cloudflare.deletes()) == len(dels)
    assert cf_server.join(other["room_id"]).status == 200

    assert_error(cf_server.join(rid), 410, "room_ended")
    view = cf_server.room(rid)
    assert view.status == 200, view.describe()
    v = view.json()
    assert_public_view(v)
    assert v["status"] == "ended" and v["ended_at"] == body["ended_at"]
    assert v["whep_url"] is None


def test_end_is_idempotent(cf_server):
    room = cf_server.create(mode="broadcast")
    first = cf_server.end(room["room_id"], room["host_token"])
    assert first.status == 200, first.describe()
    for _ in range(2):
        again = cf_server.end(room["room_id"], room["host_token"])
        assert again.status == 200, again.describe()
        assert again.json() == first.json()


def test_end_unknown_room(cf_server):
    room = cf_server.create()
    assert_error(cf_server.end("live_AAAAAAAAAAAAAAAA", room["host_token"]), 404, "room_not_found")


@pytest.mark.parametrize("body", [{}, {"room_id": ""}, {"room_id": 5}, {"room_id": None},
                                  {"room_id": "not a room id!"}])
def test_end_bad_room_id(cf_server, fake_cloudflare, body):
    room = cf_server.create()
    r = cf_server.post("/api/livestream/end", body, token=room["host_token"])
    assert_error(r, 400, "invalid_field", "room_id")
    assert fake_cloudflare.deletes() == []


# ======================================================================================
# rooms list
# ======================================================================================

def test_rooms_list_empty(cf_server):
    r = cf_server.list_rooms()
    assert r.status == 200, r.describe()
    assert r.json() == {"rooms": [], "next_cursor": None}


def _check_newest_first(listing: list[dict], created: list[dict]):
    order = {r["room_id"]: i for i, r in enumerate(created)}
    stamps = [assert_timestamp(x["created_at"]) for x in listing]
    assert stamps == sorted(stamps, reverse=True), "rooms are not newest first"
    for a, b in zip(listing, listing[1:]):
        if a["created_at"] != b["created_at"]:
            assert order[a["room_id"]] > order[b["room_id"]]


def test_rooms_paging_over_25_rooms(cf_server, fake_cloudflare):
    created = [cf_server.create(title=f"room {i}", host="pager") for i in range(25)]
    secrets_all = [s for r in created for s in room_secrets(r)]

    r = cf_server.list_rooms()
    assert r.status == 200
    doc = r.json()
    assert len(doc["rooms"]) == 20, "default limit is 20"
    assert doc["next_cursor"]

    pages, cursor = [], None
    while True:
        r = cf_server.list_rooms(limit=10, cursor=cursor)
        assert r.status == 200, r.describe()
        assert_no_secrets(r, secrets_all)
        doc = r.json()
        pages.append(doc["rooms"])
        cursor = doc["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 10
    assert [len(p) for p in pages] == [10, 10, 5]
    listing = [x for p in pages for x in p]
    ids = [x["room_id"] for x in listing]
    assert len(ids) == len(set(ids)) == 25, "duplicates or missing rooms across pages"
    assert set(ids) == {r["room_id"] for r in created}
    _check_newest_first(listing, created)
    for v in listing:
        assert_public_view(v)
    # Most recent first: the last created room leads the first page.
    if created[-1]["created_at"] != created[-2]["created_at"]:
        assert ids[0] == created[-1]["room_id"]


def test_rooms_paging_is_stable_under_inserts(cf_server):
    created = [cf_server.create(title=f"r{i}", host="stable") for i in range(25)]
    r1 = cf_server.list_rooms(limit=10)
    page1 = r1.json()
    newer = [cf_server.create(title=f"new{i}", host="stable") for i in range(5)]
    seen = [x["room_id"] for x in page1["rooms"]]
    cursor = page1["next_cursor"]
    while cursor:
        doc = cf_server.list_rooms(limit=10, cursor=cursor).json()
        seen += [x["room_id"] for x in doc["rooms"]]
        cursor = doc["next_cursor"]
    assert len(seen) == len(set(seen)), "a room was listed twice"
    assert set(seen) == {r["room_id"] for r in created}, \
        "paging that started before the inserts must list exactly the rooms that existed then"
    assert not set(seen) & {r["room_id"] for r in newer}
    # A fresh listing starts with the new rooms.
    fresh = cf_server.all_rooms(limit=100)
    assert {x["room_id"] for x in fresh[:5]} == {r["room_id"] for r in newer}


def test_rooms_filters(cf_server):
    a1 = cf_server.create(host="alice")
    a2 = cf_server.create(host="alice")
    b1 = cf_server.create(host="bob.b@x")
    assert cf_server.end(a1["room_id"], a1["host_token"]).status == 200

    def ids(**kw):
        r = cf_server.list_rooms(**kw)
        assert r.status == 200, r.describe()
        return {x["room_id"] for x in r.json()["rooms"]}

    assert ids() == {a1["room_id"], a2["room_id"], b1["room_id"]}
    assert ids(status="active") == {a2["room_id"], b1["room_id"]}
    assert ids(status="ended") == {a1["room_id"]}
    assert ids(host="alice") == {a1["room_id"], a2["room_id"]}
    assert ids(host="bob.b@x") == {b1["room_id"]}
    assert ids(host="alice", status="active") == {a2["room_id"]}
    assert ids(host="alice", status="ended") == {a1["room_id"]}
    assert ids(host="nobody") == set()
    ended = cf_server.list_rooms(status="ended").json()["rooms"][0]
    assert ended["status"] == "ended" and ended["ended_at"] and ended["whep_url"] is None


def test_rooms_filter_paging(cf_server):
    mine = [cf_server.create(host="carol") for _ in range(5)]
    for _ in range(4):
        cf_server.create(host="dave")
    got = cf_server.all_rooms(limit=2, host="carol")
    ids = [x["room_id"] for x in got]
    assert len(ids) == len(set(ids)) == 5, ids
    assert set(ids) == {r["room_id"] for r in mine}
    _check_newest_first(got, mine)


@pytest.mark.parametrize("limit,count", [(1, 1), (100, 3)])
def test_rooms_limit_bounds_ok(cf_server, limit, count):
    for _ in range(3):
        cf_server.create()
    r = cf_server.list_rooms(limit=limit)
    assert r.status == 200, r.describe()
    assert len(r.json()["rooms"]) == count


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "99999999999999999999"])
def test_rooms_bad_limit(cf_server, limit):
    r = cf_server.get("/api/livestream/rooms?limit=" + urllib.parse.quote(limit))
    assert_error(r, 400, "invalid_field", "limit")


@pytest.mark.parametrize("status", ["bogus", "ACTIVE", "live", "all"])
def test_rooms_bad_status(cf_server, status):
    assert_error(cf_server.list_rooms(status=status), 400, "invalid_field", "status")


@pytest.mark.parametrize("cursor", ["not a cursor!", "%%%", "{}", "\u00e9\u00e9", "x" * 3000])
def test_rooms_bad_cursor(cf_server, cursor):
    cf_server.create()
    assert_error(cf_server.list_rooms(cursor=cursor), 400, "invalid_field", "cursor")


# ======================================================================================
# rooms/{id} and rooms/{id}/ingest
# ======================================================================================

@pytest.mark.parametrize("mode", ["webrtc", "broadcast"])
def test_room_by_id(cf_server, fake_cloudflare, mode):
    room = cf_server.create(mode=mode)
    inp = fake_cloudflare.last_created()
    r = cf_server.room(room["room_id"])
    assert r.status == 200, r.describe()
    view = r.json()
    all_secrets = room_secrets(room) + list(FakeCloudflare.secrets_of(inp).values())
    assert_public_view(view, all_secrets)
    assert_no_secrets(r, all_secrets)
    join = cf_server.join(room["room_id"]).json()
    for k in ("room_id", "title", "host", "mode", "status", "created_at", "ended_at", "whep_url", "playback"):
        assert view[k] == join[k], k
    assert_error(cf_server.room("live_AAAAAAAAAAAAAAAA"), 404, "room_not_found")


@pytest.mark.parametrize("mode", ["webrtc", "broadcast"])
def test_room_ingest(cf_server, mode):
    room = cf_server.create(mode=mode)
    other = cf_server.create()
    r = cf_server.ingest(room["room_id"], room["host_token"])
    assert r.status == 200, r.describe()
    body = r.json()
    # The host's own studio link again (token in the fragment), for her other devices.
    assert body.pop("studio_url") == room["studio_url"]
    ingest = body["ingest"] if "ingest" in body and "whip_url" not in body else body
    assert ingest == room["ingest"], f"ingest {body} differs from create's {room['ingest']}"
    assert "host_token" not in json.dumps(body)
    assert_error(cf_server.ingest(room["room_id"], None), 401, "unauthorized")
    assert_error(cf_server.ingest(room["room_id"], "bad"), 403, "forbidden")
    assert_error(cf_server.ingest(room["room_id"], other["host_token"]), 403, "forbidden")
    assert_error(cf_server.ingest("live_AAAAAAAAAAAAAAAA", room["host_token"]), 404, "room_not_found")


def test_room_ingest_ended_is_410(cf_server):
    room = cf_server.create()
    assert cf_server.end(room["room_id"], room["host_token"]).status == 200
    assert_error(cf_server.ingest(room["room_id"], room["host_token"]), 410, "room_ended")


# ======================================================================================
# health
# ======================================================================================

def test_health_and_readiness(cf_server):
    assert cf_server.get("/healthz").status == 200
    assert cf_server.get("/readyz").status == 200


# ======================================================================================
# generic HTTP contract
# ======================================================================================

def test_body_over_64_kib_is_413_and_creates_nothing(cf_server, fake_cloudflare):
    body = json.dumps({"title": "big", "host": "h", "pad": "x" * (64 * 1024)}).encode()
    assert len(body) > 64 * 1024
    r = cf_server.call("POST", CREATE, body=body, headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")
    assert fake_cloudflare.creates() == []
    assert cf_server.list_rooms().json()["rooms"] == []
    assert cf_server.get("/healthz").status == 200


def test_body_of_exactly_64_kib_is_accepted(cf_server):
    base = {"title": "edge", "host": "h", "pad": ""}
    pad = 64 * 1024 - len(json.dumps(base).encode())
    base["pad"] = "x" * pad
    body = json.dumps(base).encode()
    assert len(body) == 64 * 1024
    r = cf_server.call("POST", CREATE, body=body, headers={"Content-Type": "application/json"})
    assert r.status == 201, r.describe()


def test_chunked_body_over_64_kib_is_413(cf_server, fake_cloudflare):
    payload = json.dumps({"title": "big", "host": "h", "pad": "y" * (70 * 1024)}).encode()

    def chunks():
        for i in range(0, len(payload), 8192):
            part = payload[i:i + 8192]
            yield b"%x\r\n" % len(part) + part + b"\r\n"
        yield b"0\r\n\r\n"

    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", cf_server.port, timeout=30)
    try:
        try:
            conn.putrequest("POST", CREATE)
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for c in chunks():
                conn.send(c)
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = conn.getresponse()
        assert resp.status == 413, (resp.status, resp.read()[:300])
    finally:
        conn.close()
    assert fake_cloudflare.creates() == []


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                   "application/jsonp", "application/xml"])
def test_wrong_content_type_is_415(cf_server, fake_cloudflare, ctype):
    body = json.dumps({"title": "t", "host": "h"})
    r = cf_server.call("POST", CREATE, body=body, headers={"Content-Type": ctype})
    assert_error(r, 415, "unsupported_media_type")
    assert fake_cloudflare.creates() == []


def test_wrong_content_type_on_update_and_end(cf_server):
    room = cf_server.create()
    for path, body in (("/api/livestream/update", {"room_id": room["room_id"], "title": "x"}),
                       ("/api/livestream/end", {"room_id": room["room_id"]})):
        r = cf_server.call("POST", path, body=json.dumps(body),
                           headers={"Content-Type": "text/plain", "Authorization": f"Bearer {room['host_token']}"})
        assert_error(r, 415, "unsupported_media_type")
    view = cf_server.join(room["room_id"]).json()
    assert view["status"] == "active" and view["title"] == room["title"]


@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "application/json;charset=UTF-8",
                                   "Application/JSON"])
def test_json_content_type_variants_accepted(cf_server, ctype):
    r = cf_server.call("POST", CREATE, body=json.dumps({"title": "t", "host": "h"}),
                       headers={"Content-Type": ctype})
    assert r.status == 201, r.describe()


@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "/api/livestream/create", "POST"),
    ("PUT", "/api/livestream/create", "POST"),
    ("POST", "/api/livestream/join?room_id=live_AAAAAAAAAAAAAAAA", "GET"),
    ("DELETE", "/api/livestream/join?room_id=live_AAAAAAAAAAAAAAAA", "GET"),
    ("GET", "/api/livestream/end", "POST"),
    ("GET", "/api/livestream/update", "POST"),
    ("DELETE", "/api/livestream/rooms", "GET"),
    ("POST", "/api/livestream/rooms", "GET"),
    ("PATCH", "/api/livestream/rooms/live_AAAAAAAAAAAAAAAA", "GET"),
    ("POST", "/healthz", "GET"),
])
def test_wrong_method_is_405_with_allow(cf_server, method, path, allowed):
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    r = cf_server.call(method, path, body=body, headers={"Content-Type": "application/json"} if body else None)
    assert_error(r, 405, "method_not_allowed")
    allow = r.header("Allow")
    assert allow, f"405 without Allow header: {r.headers}"
    assert allowed in [m.strip().upper() for m in allow.split(",")], allow


@pytest.mark.parametrize("path", ["/api/livestream/nope", "/api/nope", "/definitely-not-here",
                                  "/api/livestream/rooms/live_AAAAAAAAAAAAAAAA/nope",
                                  "/api/livestream/create/extra"])
def test_unknown_path_is_404(cf_server, path):
    r = cf_server.get(path)
    assert_error(r, 404, ("not_found", "room_not_found"))


def test_unknown_api_path_code_is_not_found(cf_server):
    assert_error(cf_server.get("/api/livestream/nope"), 404, "not_found")


def test_keep_alive_connection_serves_several_requests(cf_server):
    import http.client
    room = cf_server.create()
    conn = http.client.HTTPConnection("127.0.0.1", cf_server.port, timeout=10)
    try:
        for _ in range(5):
            conn.request("GET", "/api/livestream/join?room_id=" + room["room_id"])
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
    finally:
        conn.close()


# ---- CORS ----------------------------------------------------------------------------

def test_cors_default_star_on_every_reply(cf_server):
    h = {"Origin": "https://anywhere.example"}
    for r in (cf_server.get("/healthz", headers=h), cf_server.get("/api/livestream/nope", headers=h),
              cf_server.get("/api/livestream/join?room_id=live_AAAAAAAAAAAAAAAA", headers=h),
              cf_server.call("POST", CREATE, body=b"{", headers={**h, "Content-Type": "application/json"}),
              cf_server.call("POST", CREATE, body=json.dumps({"title": "t", "host": "h"}),
                             headers={**h, "Content-Type": "application/json"})):
        assert r.header("Access-Control-Allow-Origin") == "*", f"{r.describe()} headers: {dict(r.headers)}"


@pytest.mark.parametrize("path,method", [(CREATE, "POST"), ("/api/livestream/join", "GET"),
                                         ("/api/livestream/end", "POST"), ("/api/livestream/update", "POST"),
                                         ("/api/livestream/rooms", "GET")])
def test_cors_preflight(cf_server, path, method):
    r = cf_server.call("OPTIONS", path, headers={
        "Origin": "https://app.example",
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert r.status == 204, r.describe()
    assert r.header("Access-Control-Allow-Origin") == "*", dict(r.headers)
    methods = [m.strip().upper() for m in (r.header("Access-Control-Allow-Methods") or "").split(",")]
    assert method in methods, dict(r.headers)
    hdrs = [m.strip().lower() for m in (r.header("Access-Control-Allow-Headers") or "").split(",")]
    assert "authorization" in hdrs and "content-type" in hdrs, dict(r.headers)


def test_cors_configured_origin(server, fake_cloudflare):
    srv = server("--cors-origin", "https://app.example", cf=fake_cloudflare)
    h = {"Origin": "https://app.example"}
    r = srv.get("/healthz", headers=h)
    assert r.header("Access-Control-Allow-Origin") == "https://app.example", dict(r.headers)
    r = srv.call("OPTIONS", CREATE, headers={**h, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "content-type"})
    assert r.status == 204
    assert r.header("Access-Control-Allow-Origin") == "https://app.example", dict(r.headers)
    r = srv.post(CREATE, {"title": "t", "host": "h"}, headers=h)
    assert r.status == 201 and r.header("Access-Control-Allow-Origin") == "https://app.example"
    r = srv.get("/nope", headers=h)
    assert r.status == 404 and r.header("Access-Control-Allow-Origin") == "https://app.example"
    # Another origin is never allowed (the header is absent or names the configured origin).
    for req in (lambda o: srv.get("/healthz", headers=o),
                lambda o: srv.call("OPTIONS", CREATE, headers={**o, "Access-Control-Request-Method": "POST"})):
        r = req({"Origin": "https://evil.example"})
        assert r.header("Access-Control-Allow-Origin") in (None, "https://app.example"), dict(r.headers)


def test_cors_several_configured_origins(server, fake_cloudflare):
    srv = server("--cors-origin", "https://a.example,https://b.example", cf=fake_cloudflare)
    for origin in ("https://a.example", "https://b.example"):
        r = srv.get("/healthz", headers={"Origin": origin})
        assert r.header("Access-Control-Allow-Origin") == origin, dict(r.headers)
    r = srv.get("/healthz", headers={"Origin": "https://c.example"})
    assert r.header("Access-Control-Allow-Origin") in (None, "https://a.example", "https://b.example")


# ---- --api-key -----------------------------------------------------------------------

def test_api_key_guards_create(server, fake_cloudflare):
    srv = server("--api-key", "k_live_0123456789", cf=fake_cloudflare)
    body = {"title": "t", "host": "h"}
    assert_error(srv.post(CREATE, body), 401, "unauthorized")
    assert_error(srv.post(CREATE, body, headers={"Authorization": "k_live_0123456789"}), 401, "unauthorized")
    assert_error(srv.post(CREATE, body, token="k_live_wrong"), 403, "forbidden")
    assert_error(srv.post(CREATE, body, token="k_live_01234567890"), 403, "forbidden")
    assert fake_cloudflare.creates() == [], "refused creates must not reach Cloudflare"
    room = srv.create(token="k_live_0123456789")
    # Reads stay public, and the room's own token (not the api key) ends it.
    assert srv.join(room["room_id"]).status == 200
    assert srv.list_rooms().status == 200
    assert_error(srv.post(CREATE, body, token=room["host_token"]), 403, "forbidden")
    assert_error(srv.end(room["room_id"], "k_live_0123456789"), 403, "forbidden")
    assert srv.end(room["room_id"], room["host_token"]).status == 200


# ---- Cloudflare wiring ---------------------------------------------------------------

def test_legacy_cloudflare_auth_headers(server, fake_cloudflare):
    srv = server(cf=fake_cloudflare, legacy_auth=True)
    room = srv.create()
    c = fake_cloudflare.creates()[-1]
    assert c.headers.get("x-auth-email") == CF_EMAIL, c.headers
    assert c.headers.get("x-auth-key") == CF_LEGACY_KEY, c.headers
    assert "authorization" not in c.headers, c.headers
    assert srv.end(room["room_id"], room["host_token"]).status == 200
    d = fake_cloudflare.deletes()[-1]
    assert d.headers.get("x-auth-email") == CF_EMAIL and d.headers.get("x-auth-key") == CF_LEGACY_KEY


def test_api_base_with_path_prefix(server, fake_cloudflare):
    # The real base is https://api.cloudflare.com/client/v4: its path must be kept.
    env = fake_cloudflare.env(base_suffix="/client/v4")
    srv = server(env=env)
    room = srv.create()
    c = fake_cloudflare.creates()[-1]
    assert c.path == f"/client/v4/accounts/{CF_ACCOUNT}/stream/live_inputs", c.path
    assert srv.end(room["room_id"], room["host_token"]).status == 200
    assert fake_cloudflare.deletes()[-1].path.startswith(f"/client/v4/accounts/{CF_ACCOUNT}/"), \
        fake_cloudflare.deletes()[-1].path


def test_token_wins_over_legacy_pair(server, fake_cloudflare):
    env = {**fake_cloudflare.env(), "CLOUDFLARE_EMAIL": CF_EMAIL, "CLOUDFLARE_API_KEY": CF_LEGACY_KEY}
    srv = server(env=env)
    srv.create()
    c = fake_cloudflare.creates()[-1]
    assert c.headers.get("authorization") == f"Bearer {CF_TOKEN}", c.headers


# ---- concurrency ---------------------------------------------------------------------

def test_concurrent_creates_and_joins(cf_server, fake_cloudflare):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda i: create_raw(cf_server, {"title": f"c{i}", "host": "crowd"}), range(24)))
    assert all(r.status == 201 for r in replies), [r.describe() for r in replies if r.status != 201]
    rooms = [r.json() for r in replies]
    assert len({r["room_id"] for r in rooms}) == 24
    assert len({r["host_token"] for r in rooms}) == 24
    assert len(fake_cloudflare.creates()) == 24
    with ThreadPoolExecutor(16) as pool:
        joins = list(pool.map(lambda i: cf_server.join(rooms[i % 24]["room_id"]), range(200)))
    assert all(j.status == 200 for j in joins), [j.describe() for j in joins if j.status != 200][:3]
    for i, j in enumerate(joins):
        assert j.json()["room_id"] == rooms[i % 24]["room_id"]
    assert {x["room_id"] for x in cf_server.all_rooms(host="crowd")} == {r["room_id"] for r in rooms}


def test_concurrent_ends_agree(cf_server):
    from concurrent.futures import ThreadPoolExecutor
    room = cf_server.create()
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda _: cf_server.end(room["room_id"], room["host_token"]), range(6)))
    assert all(r.status == 200 for r in replies), [r.describe() for r in replies]
    bodies = {json.dumps(r.json(), sort_keys=True) for r in replies}
    assert len(bodies) == 1, f"concurrent ends answered different bodies: {bodies}"
    assert cf_server.room(room["room_id"]).json()["ended_at"] == replies[0].json()["ended_at"]

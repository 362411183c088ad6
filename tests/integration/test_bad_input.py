"""Hostile and malformed input: garbage on the socket, truncated requests, oversized
headers/URLs, broken framing (Content-Length, chunked), NUL bytes, wrong JSON types for
every field of every endpoint, deeply nested and huge JSON. Each gets a 4xx or a closed
connection (never a 5xx, never a crash), and afterwards the server still answers /healthz
and the rooms created before are intact."""

from __future__ import annotations

import json
import os
import re

import pytest

from liveroom_harness import assert_error, raw_exchange

STATUS_RE = re.compile(rb"^HTTP/1\.[01] (\d{3})")


class Victim:
    def __init__(self, srv, rooms):
        self.srv, self.rooms = srv, rooms
        self.allowed_new: set[str] = set()  # rooms a test may legitimately create


@pytest.fixture
def victim(cf_server):
    """A server with two rooms; after the test they must be unchanged."""
    srv = cf_server
    rooms = [srv.create(title="Lớp học online", host="user_123"),
             srv.create(title="Concert", host="band", mode="broadcast")]
    before = {r["room_id"]: srv.room(r["room_id"]).json() for r in rooms}
    v = Victim(srv, rooms)
    yield v
    assert srv.proc.poll() is None, f"server died (exit {srv.proc.returncode})"
    assert srv.get("/healthz").status == 200
    for rid, view in before.items():
        r = srv.room(rid)
        assert r.status == 200 and r.json() == view, f"room {rid} changed: {r.describe()}"
        assert srv.join(rid).status == 200
    now = {x["room_id"] for x in srv.all_rooms()}
    assert now - set(before) <= v.allowed_new, f"hostile input created rooms {now - set(before) - v.allowed_new}"
    assert set(before) <= now


def _assert_4xx_or_closed(resp: bytes, what: str):
    if not resp:
        return  # closed without answering: acceptable
    m = STATUS_RE.match(resp)
    assert m, f"{what}: not an HTTP reply: {resp[:200]!r}"
    status = int(m.group(1))
    assert 400 <= status < 500, f"{what}: expected 4xx or a closed connection, got {resp[:300]!r}"


def _post(body: bytes, path: bytes = b"/api/livestream/create") -> bytes:
    return (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


RAW_CASES = {
    "garbage": b"\x00\xff\xfe\x01garbage\r\n\r\n",
    "random-4k": os.urandom(4096),
    "tls-client-hello": bytes.fromhex("16030100a5010000a10303") + os.urandom(64),
    "no-version": b"GET /healthz\r\n\r\n",
    "bad-method-token": b"G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "space-in-target": b"GET /heal thz HTTP/1.1\r\nHost: x\r\n\r\n",
    "truncated-headers": b"GET /healthz HTTP/1.1\r\nHost:",
    "truncated-body": b"POST /api/livestream/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100\r\n\r\n{\"title\": \"t",
    "nul-in-path": b"GET /api/livestream/join?room_id=live_\x00AAAAAAAAAAAA HTTP/1.1\r\nHost: x\r\n\r\n",
    "nul-in-header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Evil: a\x00b\r\n\r\n",
    "header-without-colon": b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n",
    "negative-length": b"POST /api/livestream/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Content-Length: -5\r\n\r\n{}",
    "non-numeric-length": b"POST /api/livestream/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: abc\r\n\r\n{}",
    "conflicting-lengths": b"POST /api/livestream/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
    "huge-length": b"POST /api/livestream/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 99999999999999999999999\r\n\r\n{}",
    "length-and-chunked": b"POST /api/livestream/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "bad-chunk-size": b"POST /api/livestream/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "huge-chunk-size": b"POST /api/livestream/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
    "huge-header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (200 * 1024) + b"\r\n\r\n",
    "many-headers": b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(20000)) + b"\r\n",
    "huge-url": b"GET /api/livestream/join?room_id=" + b"A" * (200 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad-percent-encoding": b"GET /api/livestream/join?room_id=%zz%0 HTTP/1.1\r\nHost: x\r\n\r\n",
    "nul-json-body": _post(b'{"title": "a\x00b", "host": "h1"}'),
    "raw-nul-body": _post(b"\x00" * 8),
    "nul-in-json-key": _post(b'{"ti\x00tle": "a", "host": "h1"}'),
}


@pytest.mark.parametrize("name", list(RAW_CASES))
def test_raw_socket_abuse(victim, name):
    srv = victim.srv
    resp = raw_exchange(srv.port, RAW_CASES[name], timeout=10)
    _assert_4xx_or_closed(resp, name)


def test_many_hostile_connections_in_a_row(victim):
    srv = victim.srv
    for _ in range(3):
        for name, data in RAW_CASES.items():
            _assert_4xx_or_closed(raw_exchange(srv.port, data, timeout=10), name)
    assert srv.get("/healthz").status == 200


def test_idle_half_request_does_not_block_others(victim):
    import socket
    srv, rooms = victim.srv, victim.rooms
    # Open connections that send half a request and then stay silent.
    idle = []
    try:
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"POST /api/livestream/create HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
            idle.append(s)
        assert srv.join(rooms[0]["room_id"]).status == 200
        assert srv.get("/healthz").status == 200
    finally:
        for s in idle:
            s.close()


# ---- JSON shapes per field ----------------------------------------------------------

WRONG_TYPES = [None, 0, 1.5, True, [], ["x"], {}, {"a": "b"}, -1, 1e308]


@pytest.mark.parametrize("value", WRONG_TYPES, ids=[repr(v) for v in WRONG_TYPES])
@pytest.mark.parametrize("field", ["title", "host", "mode"])
def test_create_wrong_types(victim, field, value):
    srv = victim.srv
    body = {"title": "t", "host": "h", "mode": "webrtc"}
    body[field] = value
    if field == "mode" and value is None:
        pytest.skip("mode null may mean the default")
    r = srv.post("/api/livestream/create", body)
    assert_error(r, 400, "invalid_field", field)


@pytest.mark.parametrize("value", WRONG_TYPES, ids=[repr(v) for v in WRONG_TYPES])
@pytest.mark.parametrize("endpoint,field", [("update", "room_id"), ("update", "title"), ("end", "room_id")])
def test_update_end_wrong_types(victim, endpoint, field, value):
    srv, rooms = victim.srv, victim.rooms
    room = rooms[0]
    body = {"room_id": room["room_id"], "title": "new title"} if endpoint == "update" else {"room_id": room["room_id"]}
    body[field] = value
    r = srv.post(f"/api/livestream/{endpoint}", body, token=room["host_token"])
    assert_error(r, 400, "invalid_field", field)


@pytest.mark.parametrize("raw", [
    b"[" * 30000 + b"]" * 30000,                                 # balanced, deep, < 64 KiB
    b"[" * 60000,                                                # unbalanced
    b'{"title": ' + b"{\"a\":" * 10000 + b"1" + b"}" * 10000 + b', "host": "h"}',
    b'{"title": "t", "host": "h", "x": ' + b"[" * 20000 + b"]" * 20000 + b"}",
    b'{"title": 1e999999, "host": "h"}',
    b'{"title": "t" "host": "h"}',
    b'{"title": "\\u0000", "host": "h\\u0000"}',
    b"\xef\xbb\xbf\xef\xbb\xbf{}",
    b'{"title": "t", "host": "h", "x": "' + b"\\u0041" * 10000 + b'"',
    b"\x00" * 64,
], ids=["deep-array", "unbalanced", "deep-object-title", "deep-extra-field", "huge-exponent",
        "missing-comma", "nul-escapes", "double-bom", "unterminated", "nul-bytes"])
def test_hostile_json(victim, fake_cloudflare, raw):
    srv = victim.srv
    creates = len(fake_cloudflare.creates())
    r = srv.call("POST", "/api/livestream/create", body=raw, headers={"Content-Type": "application/json"})
    assert 400 <= r.status < 500, r.describe()
    assert_error(r, r.status)
    assert len(fake_cloudflare.creates()) == creates, "hostile JSON reached Cloudflare"


def test_duplicate_keys_do_not_crash(victim):
    srv = victim.srv
    r = srv.call("POST", "/api/livestream/create", body=b'{"title": "a", "title": "b", "host": "h", "host": "i"}',
                 headers={"Content-Type": "application/json"})
    assert r.status in (201, 400), r.describe()
    if r.status == 201:
        victim.allowed_new.add(r.json()["room_id"])


def test_nul_escape_in_title_is_not_a_5xx(victim):
    srv = victim.srv
    r = srv.post("/api/livestream/create", {"title": "a\u0000b", "host": "h"})
    assert r.status in (201, 400), r.describe()
    if r.status == 201:
        victim.allowed_new.add(r.json()["room_id"])


def test_query_string_abuse(victim):
    srv, rooms = victim.srv, victim.rooms
    rid = rooms[0]["room_id"]
    for q in ("?room_id=" + rid + "&room_id=live_AAAAAAAAAAAAAAAA",
              "?room_id=" + rid + "%00",
              "?room_id=%E0%A4%A",
              "?room_id=" + "%" * 10,
              "?" + "&" * 5000,
              "?room_id=" + rid + "&" + "x=1&" * 2000):
        r = srv.get("/api/livestream/join" + q)
        assert r.status < 500, r.describe()
    for q in ("?limit=1&limit=1000", "?status=active%00", "?host=%00", "?cursor=%FF%FE"):
        r = srv.get("/api/livestream/rooms" + q)
        assert r.status < 500, r.describe()


def test_bearer_header_abuse(victim):
    srv, rooms = victim.srv, victim.rooms
    room = rooms[0]
    for auth in ("Bearer", "Bearer ", "Bearer  " + room["host_token"] + " trailing", "bearer",
                 "Bearer " + "x" * 5000, "Bearer \u00e9t\u00e9".encode("utf-8").decode("latin-1")):
        r = srv.post("/api/livestream/end", {"room_id": room["room_id"]}, headers={"Authorization": auth})
        assert r.status in (400, 401, 403), f"{auth[:40]!r}: {r.describe()}"
    assert srv.join(room["room_id"]).status == 200


def test_json_body_on_get_is_ignored_or_refused(victim):
    srv, rooms = victim.srv, victim.rooms
    r = srv.call("GET", "/api/livestream/join?room_id=" + rooms[0]["room_id"],
                 body=json.dumps({"x": 1}), headers={"Content-Type": "application/json"})
    assert r.status in (200, 400), r.describe()

"""Rooms end by themselves, who sees which room, and how often one address may create
(issue 10, items 5 and 6), through the real binary.

- Named timers (--room-idle-timeout, --room-empty-timeout, --room-max-duration, with s/m/h/d
  units): a room that never went live, one whose broadcaster (a real aiortc WebRTC peer) left,
  and any room past its maximum end exactly like POST /end, with `ended_reason`; timers count
  from stored times, so a restart does not reset them.
- `visibility`: unlisted rooms are reachable by id and link but listed only to API-key holders.
- Create is rate-limited per client address (429 + Retry-After).

Waits poll with generous limits (the timer scan runs every 5 s); nothing asserts on wall time.
"""

from __future__ import annotations

import time

import pytest

from liveroom_harness import LiveroomServer, assert_error, run_cli, wait_until
from webrtc_peer import Publisher, peer_python


def wait_ended(srv, rid: str, timeout: float = 30.0) -> dict:
    wait_until(lambda: srv.room(rid).json()["status"] == "ended", timeout, f"room {rid} to end by itself")
    return srv.room(rid).json()


def test_a_room_that_never_goes_live_ends_after_the_idle_timeout(server):
    srv = server("--room-idle-timeout", "2s")
    room = srv.create(title="Lớp học online", host="Cô Lan")
    assert srv.room(room["room_id"]).json()["ended_reason"] is None
    view = wait_ended(srv, room["room_id"])
    assert view["ended_reason"] == "idle"
    assert view["ended_at"] is not None and view["live"] is False
    assert_error(srv.join(room["room_id"]), 410, "room_ended")
    assert "ended (idle)" in srv.log_text()


def test_timers_survive_a_restart(server):
    srv = server("--room-idle-timeout", "1h")
    room = srv.create()
    time.sleep(1.5)  # the room is now older than the timeout the server will restart with
    srv.stop()
    srv.extra_args = ["--room-idle-timeout", "1s"]
    srv.start()
    assert wait_ended(srv, room["room_id"])["ended_reason"] == "idle"  # counted from created_at


def test_a_room_whose_broadcaster_left_ends_after_the_empty_timeout(server, tmp_path):
    peer_python()
    srv = server("--room-empty-timeout", "2s", "--room-idle-timeout", "0")
    room = srv.create(title="Lớp học online", host="Cô Lan")
    rid = room["room_id"]
    publisher = Publisher(room["whip_url"], tmp_path / "publisher.log")
    try:
        publisher.wait_connected(30)
        wait_until(lambda: srv.room(rid).json()["live"] is True, 15, "the room to go live")
        time.sleep(3)  # live longer than the empty timeout: nothing ends while on air
        assert srv.room(rid).json()["status"] == "active"
    finally:
        publisher.stop()  # the broadcaster leaves (DELETE)
    view = wait_ended(srv, rid)
    assert view["ended_reason"] == "empty"


def test_any_room_ends_at_its_maximum_duration_and_its_broadcaster_is_cut(server, tmp_path):
    peer_python()
    srv = server("--room-max-duration", "4s")
    room = srv.create()
    rid = room["room_id"]
    publisher = Publisher(room["whip_url"], tmp_path / "publisher.log", None, "--no-delete")
    try:
        publisher.wait_connected(30)
        view = wait_ended(srv, rid)
        assert view["ended_reason"] == "max_duration"
        assert view["live"] is False
        # Like POST /end: the media session is closed, so the broadcaster's connection goes.
        wait_until(lambda: any(ev.get("event") == "stats" and ev.get("state") != "connected"
                               for ev in publisher.events), 20, "the broadcaster's connection to close")
    finally:
        publisher.stop()


@pytest.mark.parametrize("value", ["5x", "-1s", "1.5.2h"])
def test_bad_durations_exit_2(value, tmp_path):
    r = run_cli(["serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path), "--webrtc-port", "0",
                 "--room-idle-timeout", value])
    assert r.returncode == 2, r.stderr
    assert b"--room-idle-timeout" in r.stderr


def test_unlisted_rooms_are_reachable_by_id_but_listed_only_to_key_holders(server):
    srv = server("--api-key", "k-secret")
    public = srv.create(title="Assembly", headers={"Authorization": "Bearer k-secret"})
    r = srv.post("/api/livestream/create", {"title": "Lớp 5A", "host": "Cô Lan", "visibility": "unlisted"},
                 token="k-secret")
    assert r.status == 201, r.describe()
    unlisted = r.json()
    assert unlisted["visibility"] == "unlisted"
    ids = [x["room_id"] for x in srv.list_rooms().json()["rooms"]]
    assert ids == [public["room_id"]]
    # By its id and link it works as any room.
    assert srv.join(unlisted["room_id"]).json()["visibility"] == "unlisted"
    assert srv.room(unlisted["room_id"]).status == 200
    # The API key lists it.
    listed = srv.get("/api/livestream/rooms", token="k-secret").json()["rooms"]
    assert {x["room_id"] for x in listed} == {public["room_id"], unlisted["room_id"]}
    only = srv.get("/api/livestream/rooms?visibility=unlisted", token="k-secret").json()["rooms"]
    assert [x["room_id"] for x in only] == [unlisted["room_id"]]
    assert_error(srv.get("/api/livestream/rooms?visibility=unlisted"), 403, "forbidden")
    assert_error(srv.get("/api/livestream/rooms?visibility=secret", token="k-secret"), 400, "invalid_field")
    bad = srv.post("/api/livestream/create", {"title": "t", "host": "h", "visibility": "hidden"}, token="k-secret")
    assert_error(bad, 400, "invalid_field", "visibility")


def test_without_an_api_key_unlisted_rooms_are_never_listed(server):
    srv = server()
    r = srv.post("/api/livestream/create", {"title": "t", "host": "h", "visibility": "unlisted"})
    assert r.status == 201
    assert srv.list_rooms().json()["rooms"] == []
    assert srv.join(r.json()["room_id"]).status == 200


def test_create_is_rate_limited_per_address(server):
    srv = server("--creates-per-minute", "3")
    for _ in range(3):
        assert srv.post("/api/livestream/create", {"title": "t", "host": "h"}).status == 201
    r = srv.post("/api/livestream/create", {"title": "t", "host": "h"})
    assert_error(r, 429, "rate_limited")
    assert int(r.header("Retry-After")) >= 1
    # Another address has its own allowance.
    import http.client
    import json
    import socket
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10, source_address=("127.0.0.2", 0))
    conn.request("POST", "/api/livestream/create", body=json.dumps({"title": "t", "host": "h"}),
                 headers={"Content-Type": "application/json"})
    assert conn.getresponse().status == 201
    conn.close()


def test_behind_a_trusted_proxy_the_limits_count_the_forwarded_clients(server):
    import http.client
    import json as _json
    srv = server("--creates-per-minute", "1", "--trusted-proxy", "127.0.0.2")

    def create_via_proxy(client: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10, source_address=("127.0.0.2", 0))
        conn.request("POST", "/api/livestream/create", body=_json.dumps({"title": "t", "host": "h"}),
                     headers={"Content-Type": "application/json", "X-Forwarded-For": client})
        status = conn.getresponse().status
        conn.close()
        return status

    assert create_via_proxy("203.0.113.7") == 201
    assert create_via_proxy("203.0.113.8") == 201  # another student behind the same proxy
    assert create_via_proxy("203.0.113.7") == 429
    # A client that is not the proxy cannot pretend to be someone else.
    assert srv.post("/api/livestream/create", {"title": "t", "host": "h"},
                    headers={"X-Forwarded-For": "198.51.100.1"}).status == 201
    assert srv.post("/api/livestream/create", {"title": "t", "host": "h"},
                    headers={"X-Forwarded-For": "198.51.100.2"}).status == 429


def test_a_bad_trusted_proxy_exits_2(tmp_path):
    r = run_cli(["serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path), "--webrtc-port", "0",
                 "--trusted-proxy", "10.0.0.0/40"])
    assert r.returncode == 2 and b"--trusted-proxy" in r.stderr, r.stderr

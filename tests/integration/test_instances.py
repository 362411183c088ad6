"""Several instances on one store (issue 13, item 4), through the real binary, on one SQLite data
directory and on one MongoDB database (the runner's FerretDB):

- with the embedded media server, a real WebRTC publisher and viewer (aiortc) on the instance
  whose URLs the room names: the other instance restarting leaves that room on air, refuses a
  second broadcaster (409) and sends viewers to the owner (307), both show the room's viewer
  count, and ending the room through the other instance closes the media sessions on the owning
  one within seconds;
- with Cloudflare (the local fake), create, join, update and end go through either instance
  interchangeably, a room's event stream on one instance shows changes made through the other,
  and both instances deliver one webhook receiver every event exactly once, in each room's order.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from liveroom_harness import call, wait_until
from test_events import EventReader
from test_webhooks import receivers, webhook_args  # noqa: F401 - the fixture is used by name
from webrtc_peer import Publisher, Viewer, peer_python


@pytest.fixture(params=["sqlite", "mongodb"])
def shared_store(request, tmp_path):
    """server() keyword arguments and flags that put instances on one store: one SQLite data
    directory, or one MongoDB database (each instance then keeps its own data directory)."""
    if request.param == "sqlite":
        return [], {"data_dir": tmp_path / "shared-data"}
    uri = request.getfixturevalue("mongo").uri()
    return ["--store", "mongodb", "--mongodb-uri", uri], {}


def sessions(port: int, role: str) -> float | None:
    text = call(port, "GET", "/metrics").text
    m = re.search(rf'^liveroom_webrtc_sessions{{role="{role}"}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else None


def assert_each_event_once_in_order(hook, room_ids: list[str]) -> dict[str, list[str]]:
    """Every accepted delivery: one per webhook-id, each room's sequence 1..n in arrival order.
    Returns each room's event types in order."""
    accepted = hook.accepted()
    twice = [i for i, n in Counter(e["id"] for e in accepted).items() if n > 1]
    assert not twice, f"delivered more than once: {twice}"
    types = {}
    for rid in room_ids:
        got = [e for e in accepted if e["payload"]["data"]["room_id"] == rid]
        seqs = [e["payload"]["data"]["sequence"] for e in got]
        assert seqs == list(range(1, len(got) + 1)), f"{rid}: sequences as they arrived {seqs}"
        types[rid] = [e["payload"]["type"] for e in got]
    return types


def test_an_end_through_another_instance_closes_the_owning_instances_media(server, tmp_path, shared_store,
                                                                         receivers):  # noqa: F811
    peer_python()
    flags, where = shared_store
    hook = receivers().start()
    a = server(*flags, *webhook_args(hook.url), **where)
    b = server(*flags, *webhook_args(hook.url), **where)
    room = a.create(title="Lớp học trên hai máy", host="cô Hà")
    rid = room["room_id"]
    assert room["whip_url"].startswith(a.base_url)  # its media is on A
    publisher = Publisher(room["whip_url"], tmp_path / "publisher.log")
    viewer = None
    try:
        publisher.wait_connected(30)
        wait_until(lambda: b.room(rid).json()["live"] is True, 15, "B to see the room live (the store)")
        # B (re)starting takes only its own previous run's rooms off air, not A's.
        b.restart()
        assert b.room(rid).json()["live"] is True and a.room(rid).json()["live"] is True
        # The media is on A: a second broadcaster through B is refused, a viewer through B is sent to A.
        whip_path = room["whip_url"][len(a.base_url):]
        whep_path = room["playback"]["whep_url"][len(a.base_url):]
        offer = "v=0\r\n"  # not looked at: the room decides first
        r = b.post(whip_path, None, body=offer, headers={"Content-Type": "application/sdp"})
        assert r.status == 409 and r.json()["error"]["code"] == "publisher_exists", r.describe()
        r = b.post(whep_path, None, body=offer, headers={"Content-Type": "application/sdp"})
        assert r.status == 307 and r.header("location") == room["playback"]["whep_url"], r.describe()
        viewer = Viewer(room["playback"]["whep_url"], tmp_path / "viewer.log")
        viewer.wait_event("first_frame", 30)
        assert sessions(a.port, "publisher") == 1 and sessions(a.port, "viewer") == 1
        # The room's viewer count, on both instances (A stores it every 2 s; B reads the store).
        wait_until(lambda: a.room(rid).json()["viewers"] == 1 and b.room(rid).json()["viewers"] == 1
                   and b.join(rid).json()["viewers"] == 1, 15, "both instances to show 1 viewer")
        assert sessions(b.port, "publisher") == 0

        assert b.end(rid, room["host_token"]).status == 200
        wait_until(lambda: sessions(a.port, "publisher") == 0 and sessions(a.port, "viewer") == 0, 10,
                   "A to close the room's sessions after B ended it")
        assert "its room was ended through another instance; closing its sessions" in a.log_text()
        assert a.room(rid).json()["status"] == "ended"
        assert a.join(rid).status == 410
    finally:
        for p in (viewer, publisher):
            if p is not None:
                p.stop()
    # Both instances deliver the outbox: each event once, in order, whoever recorded it.
    wait_until(lambda: "room.ended" in [e["payload"]["type"] for e in hook.for_room(rid)], 30,
               "room.ended at the receiver")
    time.sleep(3)  # a second delivery of anything would arrive by now
    types = assert_each_event_once_in_order(hook, [rid])[rid]
    assert types[:2] == ["room.created", "room.live"] and "room.viewers" in types, types
    assert types.index("room.ended") > types.index("room.viewers"), types


def test_instances_serve_every_call_interchangeably_and_deliver_each_event_once(server, fake_cloudflare,
                                                                               shared_store, receivers):  # noqa: F811
    flags, where = shared_store
    hook = receivers().start()
    a = server(*flags, *webhook_args(hook.url), "--cache-ttl-ms", "200", cf=fake_cloudflare, **where)
    b = server(*flags, *webhook_args(hook.url), "--cache-ttl-ms", "200", cf=fake_cloudflare, **where)
    rooms = []
    for i in range(6):
        made_by, other = (a, b) if i % 2 == 0 else (b, a)
        room = made_by.create(title=f"Lớp {i}", host=f"giáo viên {i}")
        assert other.join(room["room_id"]).json()["title"] == f"Lớp {i}"
        rooms.append((room, made_by, other))
    watched = rooms[0][0]["room_id"]
    events = EventReader(a.port, watched)  # following a room on A, changed through B
    try:
        events.wait("room")
        for room, made_by, other in rooms:
            assert other.update(room["room_id"], f"{room['title']} — đổi", room["host_token"]).status == 200
        assert events.wait("title", 15)["title"] == "Lớp 0 — đổi"
        for room, made_by, other in rooms:
            wait_until(lambda: made_by.join(room["room_id"]).json()["title"] == f"{room['title']} — đổi", 10,
                       "the instance that made the room to see the other's update")
            assert made_by.end(room["room_id"], room["host_token"]).status == 200
            wait_until(lambda: other.join(room["room_id"]).status == 410, 10,
                       "the other instance to see the end")
        assert events.wait("ended", 15)["status"] == "ended"
    finally:
        events.close()
    ids = [r[0]["room_id"] for r in rooms]
    wait_until(lambda: all(len(hook.for_room(rid)) >= 3 for rid in ids), 30, "3 events of each room")
    time.sleep(3)
    types = assert_each_event_once_in_order(hook, ids)
    assert all(t == ["room.created", "room.updated", "room.ended"] for t in types.values()), types

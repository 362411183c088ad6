"""Pushed status (issue 10, item 10): GET /api/livestream/rooms/{id}/events streams a room's
changes as Server-Sent Events, through the real binary — title, live (a real aiortc broadcaster),
viewers, ended (the stream then closes) — also when the change is made by another liveroom
process on the same store; bad Last-Event-ID, many subscribers and subscribers that never read
do no harm.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from liveroom_harness import LiveroomServer, assert_error, wait_until
from webrtc_peer import Publisher, Viewer, peer_python


class EventReader:
    """One SSE client on a raw socket: parses events as they arrive."""

    def __init__(self, port: int, room_id: str, headers: dict | None = None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(f"GET /api/livestream/rooms/{room_id}/events HTTP/1.1\r\nHost: x\r\n"
                          f"Accept: text/event-stream\r\n{extra}\r\n".encode())
        self.head = ""
        self.events: list[tuple[str, dict]] = []
        self.closed = False
        self.buf = b""
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                return
            self.buf += chunk
            if not self.head and b"\r\n\r\n" in self.buf:
                head, self.buf = self.buf.split(b"\r\n\r\n", 1)
                self.head = head.decode("latin-1")
            while self.head and b"\n\n" in self.buf:
                block, self.buf = self.buf.split(b"\n\n", 1)
                name, data = "message", []
                for line in block.decode().split("\n"):
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        data.append(line[6:])
                if data:
                    with self.lock:
                        self.events.append((name, json.loads("\n".join(data))))

    def wait(self, name: str, timeout: float = 20.0, where=lambda view: True) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for ev, view in self.events:
                    if ev == name and where(view):
                        return view
            time.sleep(0.02)
        raise AssertionError(f"no {name!r} event; got {[e for e, _ in self.events]}; head {self.head[:200]!r}")

    def close(self):
        self.sock.close()


def test_a_rooms_changes_are_pushed_and_the_stream_ends_with_the_room(server):
    srv = server()
    room = srv.create(title="Lớp học online", host="Cô Lan")
    rid = room["room_id"]
    r = EventReader(srv.port, rid)
    try:
        first = r.wait("room")
        assert "HTTP/1.1 200" in r.head and "text/event-stream" in r.head
        assert first["title"] == "Lớp học online" and first["watch_url"].endswith(f"/watch/{rid}")
        assert "host_token" not in json.dumps(first) and room["host_token"] not in json.dumps(first)
        srv.update(rid, "Lớp 5A", room["host_token"])
        assert r.wait("title")["title"] == "Lớp 5A"
        srv.end(rid, room["host_token"])
        ended = r.wait("ended")
        assert ended["status"] == "ended" and ended["ended_reason"] == "host"
        wait_until(lambda: r.closed, 10, "the stream to close after the room ended")
    finally:
        r.close()
    # An ended room: its state once, then the stream closes; an unknown room: 404.
    late = EventReader(srv.port, rid)
    assert late.wait("room")["status"] == "ended"
    wait_until(lambda: late.closed, 10, "the stream of an ended room to close")
    assert_error(srv.get("/api/livestream/rooms/live_doesnotexist123/events"), 404, "room_not_found")


def test_live_and_viewers_come_from_the_media(server, tmp_path):
    peer_python()
    srv = server()
    room = srv.create()
    rid = room["room_id"]
    r = EventReader(srv.port, rid)
    publisher = Publisher(room["whip_url"], tmp_path / "publisher.log")
    viewer = None
    try:
        r.wait("room")
        publisher.wait_connected(30)
        assert r.wait("live", 20, lambda v: v["live"])["live"] is True
        viewer = Viewer(room["playback"]["whep_url"], tmp_path / "viewer.log")
        assert r.wait("viewers", 30, lambda v: v["viewers"] == 1)["viewers"] == 1
        viewer.stop()
        r.wait("viewers", 30, lambda v: v["viewers"] == 0)
        publisher.stop()
        assert r.wait("live", 20, lambda v: not v["live"])["live"] is False
    finally:
        if viewer:
            viewer.stop()
        publisher.stop()
        r.close()


def test_a_change_made_by_another_process_on_the_same_store_arrives(tmp_path):
    data = tmp_path / "shared"
    a = LiveroomServer(args=[], env={}, data_dir=data, log_path=tmp_path / "a.log").start()
    b = LiveroomServer(args=[], env={}, data_dir=data, log_path=tmp_path / "b.log").start()
    try:
        room = a.create(title="one store, two servers")
        rid = room["room_id"]
        r = EventReader(a.port, rid)  # following the room on A
        r.wait("room")
        b.update(rid, "changed through B", room["host_token"])
        assert r.wait("title", 15)["title"] == "changed through B"
        b.end(rid, room["host_token"])
        assert r.wait("ended", 15)["status"] == "ended"
        r.close()
    finally:
        a.stop()
        b.stop()


def test_bad_last_event_id_many_subscribers_and_subscribers_that_never_read(server):
    srv = server()
    room = srv.create()
    rid = room["room_id"]
    # A reconnecting browser sends Last-Event-ID; whatever it holds, the state comes first.
    for bad in ["", "abc", "-1", "99999999999999999999999", "\u00e9\u00e8"]:
        r = EventReader(srv.port, rid, {"Last-Event-ID": bad.encode().decode("latin-1")})
        assert r.wait("room")["room_id"] == rid
        r.close()
    readers = [EventReader(srv.port, rid) for _ in range(100)]
    # Clients that never read: tiny windows, nothing consumed.
    stuck = []
    for _ in range(5):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        s.connect(("127.0.0.1", srv.port))
        s.sendall(f"GET /api/livestream/rooms/{rid}/events HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        stuck.append(s)
    try:
        for r in readers:
            r.wait("room")
        long_title = "Lớp học " + "x" * 180
        for i in range(60):  # ~16 KB of events per subscriber
            srv.update(rid, f"{long_title} {i}", room["host_token"])
        for r in readers:
            r.wait("title", 30, lambda v: v["title"].endswith(" 59"))
        assert srv.get("/healthz").status == 200
    finally:
        for r in readers:
            r.close()
        for s in stuck:
            s.close()

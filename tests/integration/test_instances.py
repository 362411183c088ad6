"""Several instances on one store (issue 13, item 4; the part done so far), through the real
binary: two liveroom processes on one SQLite data directory (one store, one media secret), a
real WebRTC publisher and viewer (aiortc) on the instance whose URLs the room names; the other
instance restarting leaves that room on air, refuses a second broadcaster (409) and sends viewers
to the owner (307), both show the room's viewer count, and ending the room through the other instance closes the media sessions on
the owning one within seconds.
"""

from __future__ import annotations

import re

from liveroom_harness import call, wait_until
from webrtc_peer import Publisher, Viewer, peer_python


def sessions(port: int, role: str) -> float | None:
    text = call(port, "GET", "/metrics").text
    m = re.search(rf'^liveroom_webrtc_sessions{{role="{role}"}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else None


def test_an_end_through_another_instance_closes_the_owning_instances_media(server, tmp_path):
    peer_python()
    shared = tmp_path / "shared-data"
    a = server(data_dir=shared)
    b = server(data_dir=shared)
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

"""A room's `live` flag after the server stops while its broadcaster is on air (local media
provider), with a real WebRTC broadcaster (aiortc, webrtc_peer.py) that stays connected until
the test tells it to leave.

- SIGTERM: the server shuts down cleanly (exit 0) and, restarted on the same data dir, shows
  the room not live: a broadcaster whose server went away is not on air.
- SIGKILL: nothing runs at exit, yet the restarted server shows the room not live either:
  rooms of the local provider cannot be live across a restart (their media sessions died
  with the process), so the server clears the flag when it starts.

Both check the public room view (`/api/livestream/rooms/<id>`), the join view and the room
list. The broadcaster is stopped only after the restarted server has answered (and sends no
DELETE), so nothing from the client side clears the flag.
"""

from __future__ import annotations

import signal

import pytest

from liveroom_harness import wait_until
from webrtc_peer import Publisher, peer_python


def live_everywhere(srv, rid: str) -> list[bool]:
    """The room's `live` as the room view, the join view and the room list show it."""
    room = srv.room(rid)
    join = srv.join(rid)
    assert room.status == 200 and join.status == 200, (room.describe(), join.describe())
    listed = [r for r in srv.all_rooms() if r["room_id"] == rid]
    assert len(listed) == 1, f"room {rid} listed {len(listed)} times"
    return [room.json()["live"], join.json()["live"], listed[0]["live"]]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_room_not_live_after_server_restart(server, tmp_path, sig):
    peer_python()  # a clear failure (how to install it) when the aiortc venv is missing
    srv = server()  # the harness adds --webrtc-ip 127.0.0.1: every candidate is loopback
    room = srv.create(title="on air", host="issue9")
    rid = room["room_id"]

    publisher = Publisher(room["whip_url"], tmp_path / "publisher.log", None, "--no-delete")
    try:
        publisher.wait_connected(30)
        wait_until(lambda: srv.room(rid).json()["live"] is True, 15, "the room to go live")
        assert live_everywhere(srv, rid) == [True, True, True]

        srv.proc.send_signal(sig)
        code = srv.proc.wait(15)
        if sig == signal.SIGTERM:
            assert code == 0, f"liveroom exited {code} on SIGTERM:\n{srv.log_text()[-3000:]}"
        srv.stop()  # closes the log (the process is gone)
        srv.start()  # same port, same data dir
        assert live_everywhere(srv, rid) == [False, False, False], \
            f"room {rid} still live after a {sig.name} and a restart:\n{srv.log_text()[-3000:]}"
        # The room itself is intact: still active, still playable once a broadcaster returns.
        view = srv.room(rid).json()
        assert view["status"] == "active" and view["playback"]["whep_url"], view
    finally:
        publisher.stop()

"""Restarts that lose nothing (issue 13, item 3), through the real binary: at SIGTERM liveroom
refuses new connections at once, answers the requests it already read (a create whose provider
call is under way still gets its reply, host token and all, and the room is there after a
restart), cuts what takes longer than --shutdown-timeout, and exits by itself within a bound.
(SIGTERM with broadcasters and viewers on air: test_live_after_stop.py; webhooks queued at a
stop or a crash: test_webhooks.py.)
"""

from __future__ import annotations

import signal
import socket
import threading
import time

from liveroom_harness import wait_until


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def create_in_background(srv, title: str) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        try:
            out["reply"] = srv.post("/api/livestream/create", {"title": title, "host": "cô Hà"}, timeout=30)
        except Exception as e:  # noqa: BLE001 - reported by the test
            out["error"] = e

    t = threading.Thread(target=run)
    t.start()
    return t, out


def test_sigterm_during_a_create_answers_it_with_its_host_token_and_keeps_the_room(server, fake_cloudflare):
    fake_cloudflare.create_delay = 2.0
    srv = server(cf=fake_cloudflare)
    t, out = create_in_background(srv, "Lớp học — buổi cuối")
    wait_until(lambda: len(fake_cloudflare.creates()) == 1, 10, "the create to reach Cloudflare")
    stopped_at = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: refused(srv.port), 5, "new connections to be refused")
    assert srv.proc.poll() is None, "liveroom left before answering the create"
    t.join(30)
    reply = out.get("reply")
    assert reply is not None, out
    assert reply.status == 201, reply.describe()
    room = reply.json()
    assert room["host_token"].startswith("lrh_") and room["ingest"]["whip_url"]
    assert reply.header("connection") == "close"
    assert srv.proc.wait(timeout=30) == 0
    took = time.monotonic() - stopped_at
    assert took < 15, f"liveroom took {took:.1f} s to stop"
    log = srv.log_text()
    assert "answering the requests in flight" in log and "still unanswered" not in log

    # The room was stored before its reply went out: after a restart it is there, and the host
    # token from the reply ends it.
    fake_cloudflare.create_delay = 0.0
    srv.restart()
    assert srv.room(room["room_id"]).status == 200
    assert srv.end(room["room_id"], room["host_token"]).status == 200


def test_a_request_past_the_shutdown_timeout_is_cut_and_liveroom_still_exits(server, fake_cloudflare):
    fake_cloudflare.create_failure = "hang"  # Cloudflare never answers (liveroom's own timeout: 10 s)
    srv = server("--shutdown-timeout", "1", cf=fake_cloudflare)
    t, out = create_in_background(srv, "never answered")
    wait_until(lambda: len(fake_cloudflare.creates()) == 1, 10, "the create to reach Cloudflare")
    srv.proc.send_signal(signal.SIGTERM)
    t.join(10)
    assert not t.is_alive(), "the request was not cut at --shutdown-timeout"
    assert "reply" not in out or out["reply"].status >= 500, out
    try:
        assert srv.proc.wait(timeout=30) == 0
    finally:
        fake_cloudflare.release.set()
    assert "1 request(s) still unanswered after --shutdown-timeout 1 s" in srv.log_text()


def test_idle_keep_alive_connections_do_not_hold_the_stop(server):
    srv = server()
    sock = socket.create_connection(("127.0.0.1", srv.port))
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200" in sock.recv(4096).split(b"\r\n", 1)[0]
    started = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=15) == 0
    assert time.monotonic() - started < 10
    sock.close()

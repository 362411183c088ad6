"""Outgoing webhooks (issue 13, item 1) through the real binary: room events signed per Standard
Webhooks and checked by the reference library (PyPI standardwebhooks, in a receiver process),
in order per room with a per-room sequence, each once; a receiver that is down, answers 500, or
comes back after a crash of liveroom gets everything afterwards; GET
/api/livestream/webhooks/deliveries shows the outbox; bad settings are refused in words.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from liveroom_harness import assert_error, assert_no_secrets, free_port, wait_until
from webrtc_peer import VENV_PYTHON

from test_cloudflare_webhook import SECRET as CF_SECRET, notification, send as send_cloudflare
from test_contract_store import anvil, contract_args, registry  # noqa: F401 - fixtures used by name

HERE = Path(__file__).resolve().parent
# whsec_ + base64 of 32 bytes.
SECRET = "whsec_bGl2ZXJvb20tdGVzdC13ZWJob29rLXNlY3JldC0zMmI="
API_KEY = "test-api-key-webhooks"
DELIVERIES = "/api/livestream/webhooks/deliveries"


class Receiver:
    """tests/integration/webhook_receiver.py in the venv python, on a fixed port."""

    def __init__(self, tmp_path: Path, secret: str = SECRET, port: int | None = None):
        self.port = port or free_port()
        self.secret = secret
        self.log = tmp_path / f"received-{self.port}.jsonl"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/liveroom?token=receiver-query-token"

    def start(self, fail: int = 0, hold: float = 0.0) -> "Receiver":
        if not VENV_PYTHON.exists():
            raise AssertionError(f"{VENV_PYTHON} not found: run `scripts/setup --test`")
        args = [str(VENV_PYTHON), str(HERE / "webhook_receiver.py"), str(self.port), self.secret, str(self.log)]
        if fail:
            args += ["--fail", str(fail)]
        elif hold:
            args += ["--hold", str(hold)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"the receiver did not start: {line} {self.proc.stderr.read()[-2000:]}"
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def entries(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def accepted(self) -> list[dict]:
        return [e for e in self.entries() if e["status"] == 204]

    def for_room(self, room_id: str) -> list[dict]:
        return [e for e in self.accepted() if e["payload"]["data"]["room_id"] == room_id]


@pytest.fixture
def receivers(tmp_path):
    made: list[Receiver] = []

    def make(**kw) -> Receiver:
        r = Receiver(tmp_path, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()


def webhook_args(*urls: str, retry_max: str = "2s") -> list[str]:
    args = ["--webhook-secret", SECRET, "--webhook-retry-max", retry_max]
    for url in urls:
        args += ["--webhook-url", url]
    return args


def wait_for_events(receiver: Receiver, room_id: str, n: int, timeout: float = 30) -> list[dict]:
    wait_until(lambda: len(receiver.for_room(room_id)) >= n, timeout, f"{n} events of {room_id} at the receiver")
    return receiver.for_room(room_id)


def test_room_events_arrive_signed_in_order_numbered_per_room(server, fake_cloudflare, receivers):
    hook = receivers().start()
    srv = server("--cloudflare-webhook-secret", CF_SECRET, "--api-key", API_KEY, *webhook_args(hook.url),
                 cf=fake_cloudflare)
    room = srv.create(title="Lớp học trực tuyến", token=API_KEY)
    room_id, token = room["room_id"], room["host_token"]
    uid = fake_cloudflare.last_created()["uid"]
    secrets = [token, *fake_cloudflare.secrets_of(fake_cloudflare.last_created()).values()]
    assert srv.update(room_id, "Lớp học — buổi 2", token).status == 200
    assert send_cloudflare(srv, notification("connected", uid)).status == 200
    assert send_cloudflare(srv, notification("connected", uid)).status == 200  # no change, no event
    assert send_cloudflare(srv, notification("disconnected", uid)).status == 200
    assert srv.end(room_id, token).status == 200

    got = wait_for_events(hook, room_id, 5)
    time.sleep(1)  # nothing more comes
    got = hook.for_room(room_id)
    assert [e["payload"]["type"] for e in got] == ["room.created", "room.updated", "room.live", "room.offline",
                                                   "room.ended"]
    for n, e in enumerate(got, start=1):
        assert e["verified"] is True, e
        assert e["content_type"] == "application/json"
        assert e["id"] == f"evt_{room_id}_{n}"
        data = e["payload"]["data"]
        assert data["sequence"] == n and data["event_id"] == e["id"] and data["room_id"] == room_id
        assert abs(int(e["timestamp"]) - time.time()) < 120
        assert_no_secrets(json.dumps(e["payload"]), secrets)
    assert got[0]["payload"]["data"]["room"]["title"] == "Lớp học trực tuyến"
    assert got[1]["payload"]["data"]["room"]["title"] == "Lớp học — buổi 2"
    assert got[2]["payload"]["data"]["room"]["live"] is True
    assert got[3]["payload"]["data"]["room"]["live"] is False
    assert got[4]["payload"]["data"]["room"]["status"] == "ended"
    assert got[4]["payload"]["data"]["room"]["ended_reason"] == "host"
    assert len({e["id"] for e in hook.entries()}) == len(hook.entries()), "each event once"

    # The outbox as the app reconciles against it.
    assert_error(srv.get(DELIVERIES), 401, "unauthorized")
    r = srv.get(DELIVERIES + f"?room_id={room_id}", token=API_KEY)
    assert r.status == 200, r.describe()
    body = r.json()
    assert [d["sequence"] for d in body["deliveries"]] == [5, 4, 3, 2, 1]
    assert {d["state"] for d in body["deliveries"]} == {"delivered"}
    assert body["deliveries"][0]["endpoint"] == f"http://127.0.0.1:{hook.port}/hooks/liveroom"
    assert body["deliveries"][0]["last_status"] == 204 and body["deliveries"][0]["attempts"] == 1
    assert body["deliveries"][0]["payload"]["type"] == "room.ended"
    assert body["pending"] == 0 and body["failed"] == 0 and body["delivered"] == 5
    page = srv.get(DELIVERIES + f"?room_id={room_id}&limit=2", token=API_KEY).json()
    assert [d["sequence"] for d in page["deliveries"]] == [5, 4]
    rest = srv.get(DELIVERIES + f"?room_id={room_id}&cursor={page['next_cursor']}", token=API_KEY).json()
    assert [d["sequence"] for d in rest["deliveries"]] == [3, 2, 1] and rest["next_cursor"] is None
    assert_error(srv.get(DELIVERIES + "?state=lost", token=API_KEY), 400, "invalid_field")
    assert_error(srv.get(DELIVERIES + "?cursor=bm90LWEtY3Vyc29y", token=API_KEY), 400, "invalid_field")
    assert_error(srv.get(DELIVERIES + "?limit=0", token=API_KEY), 400, "invalid_field")
    log = srv.log_text()
    for secret in (SECRET, SECRET.removeprefix("whsec_"), "receiver-query-token", token):
        assert secret not in log


@pytest.fixture(params=["sqlite", "mongodb", pytest.param("contract", marks=pytest.mark.chain)])
def store_args(request):
    """The store a test's servers use: SQLite, MongoDB (the runner's FerretDB), or a RoomRegistry
    on a fresh local chain (its outbox in the index file under the data dir)."""
    if request.param == "sqlite":
        return []
    if request.param == "contract":
        return contract_args(request.getfixturevalue("registry"))
    return ["--store", "mongodb", "--mongodb-uri", request.getfixturevalue("mongo").uri()]


def test_a_receiver_that_is_down_gets_everything_afterwards_once(server, fake_cloudflare, receivers, store_args):
    hook = receivers()  # not started yet: connections are refused
    srv = server(*store_args, *webhook_args(hook.url), cf=fake_cloudflare)
    rooms = [srv.create(title=f"Lớp {i}") for i in range(3)]
    for room in rooms:
        assert srv.update(room["room_id"], "đổi tên", room["host_token"]).status == 200
    assert srv.end(rooms[0]["room_id"], rooms[0]["host_token"]).status == 200

    def pending_tried() -> bool:
        body = srv.get(DELIVERIES).json()
        return body["pending"] == 7 and all(d["attempts"] >= 2 for d in body["deliveries"]
                                            if d["sequence"] == 1)
    wait_until(pending_tried, 20, "every room's first event tried twice while the receiver is down")
    first = srv.get(DELIVERIES + f"?room_id={rooms[1]['room_id']}").json()["deliveries"][-1]
    assert first["state"] == "pending" and first["last_status"] is None
    assert "127.0.0.1" in first["last_error"] and first["next_attempt_at"] is not None
    assert first["attempts"] >= 2
    # The second event waits behind the first: never tried.
    assert srv.get(DELIVERIES + f"?room_id={rooms[1]['room_id']}").json()["deliveries"][0]["attempts"] == 0

    hook.start()
    expected = {rooms[0]["room_id"]: ["room.created", "room.updated", "room.ended"],
                rooms[1]["room_id"]: ["room.created", "room.updated"],
                rooms[2]["room_id"]: ["room.created", "room.updated"]}
    for room_id, types in expected.items():
        got = wait_for_events(hook, room_id, len(types), timeout=30)
        assert [e["payload"]["type"] for e in got] == types
        assert all(e["verified"] for e in got)
    time.sleep(1)
    ids = [e["id"] for e in hook.entries()]
    assert len(ids) == 7 and len(set(ids)) == 7, ids
    assert srv.get(DELIVERIES).json()["pending"] == 0


def test_a_receiver_answering_500_is_retried_until_it_takes_the_event(server, fake_cloudflare, receivers):
    hook = receivers().start(fail=2)
    srv = server(*webhook_args(hook.url), cf=fake_cloudflare)
    room = srv.create()
    got = wait_for_events(hook, room["room_id"], 1)
    statuses = [e["status"] for e in hook.entries()]
    assert statuses == [500, 500, 204]
    assert len({e["timestamp"] for e in hook.entries()}) >= 2, "each attempt is signed at its own time"
    d = srv.get(DELIVERIES).json()["deliveries"][0]
    assert d["state"] == "delivered" and d["attempts"] == 3 and d["last_error"] is None
    assert got[0]["id"] == f"evt_{room['room_id']}_1"


def test_events_outlive_a_crash_of_liveroom(server, fake_cloudflare, receivers, store_args):
    hook = receivers()
    srv = server(*store_args, *webhook_args(hook.url), cf=fake_cloudflare)
    room = srv.create()
    assert srv.update(room["room_id"], "trước khi sập", room["host_token"]).status == 200
    srv.kill()  # SIGKILL: nothing flushed, nothing said
    hook.start()
    srv.restart()
    got = wait_for_events(hook, room["room_id"], 2)
    assert [e["payload"]["type"] for e in got] == ["room.created", "room.updated"]
    assert srv.end(room["room_id"], room["host_token"]).status == 200
    got = wait_for_events(hook, room["room_id"], 3)
    assert got[2]["payload"]["data"]["sequence"] == 3 and got[2]["payload"]["type"] == "room.ended"


def test_two_endpoints_each_get_every_event(server, fake_cloudflare, receivers):
    a, b = receivers().start(), receivers().start()
    srv = server(*webhook_args(a.url, b.url), cf=fake_cloudflare)
    room = srv.create()
    assert srv.end(room["room_id"], room["host_token"]).status == 200
    for hook in (a, b):
        assert [e["payload"]["type"] for e in wait_for_events(hook, room["room_id"], 2)] == ["room.created",
                                                                                               "room.ended"]


def test_without_webhooks_the_deliveries_route_says_how_to_turn_them_on(server, fake_cloudflare):
    # Empty settings (as an env file may leave them) are "not set".
    srv = server(cf=fake_cloudflare, env={"LIVEROOM_WEBHOOK_URL": "", "LIVEROOM_WEBHOOK_SECRET": ""})
    r = srv.get(DELIVERIES)
    assert_error(r, 404, "not_found")
    assert "--webhook-url" in r.json()["error"]["message"]

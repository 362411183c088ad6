"""SIGKILL in the middle of things (issue 13, "Tests"): liveroom dies while a create waits for
Cloudflare, while an end waits for Cloudflare's delete, and while a webhook receiver holds a
delivery; each time a restart loses nothing and duplicates nothing a client could not tell apart:

- a create that never answered leaves no room; the live input Cloudflare made for it is this
  deployment's orphan, which the sweep deletes once it is old enough (10 minutes);
- an end that never answered leaves the room active (Cloudflare had deleted the input); ending it
  again answers 200, and the receiver gets room.ended once;
- a delivery whose sender died is sent again, with the same webhook-id and body, once the dead
  process's lease runs out (20 s), and the outbox shows it delivered.
"""

from __future__ import annotations

import threading

from liveroom_harness import wait_until
from test_webhooks import DELIVERIES, receivers, wait_for_events, webhook_args  # noqa: F401 - a fixture

HOUR = 3600


def in_background(fn):
    """Runs fn (a request that will never be answered: its server is killed) in a thread."""
    t = threading.Thread(target=lambda: _swallow(fn), daemon=True)
    t.start()
    return t


def _swallow(fn):
    try:
        fn()
    except Exception:  # noqa: BLE001 - the connection dies with the server, as intended
        pass


def test_sigkill_during_a_create_leaves_no_room_and_the_sweep_deletes_its_input(server, fake_cloudflare):
    srv = server(cf=fake_cloudflare)
    kept = srv.create(title="before the crash")
    fake_cloudflare.create_delay = 2.0  # Cloudflare makes the input, then answers late
    in_background(lambda: srv.create(title="cut off"))
    wait_until(lambda: len(fake_cloudflare.creates()) == 2, 10, "the second create to reach Cloudflare")
    srv.kill()  # SIGKILL while it waits for Cloudflare
    fake_cloudflare.create_delay = 0.0
    wait_until(lambda: len(fake_cloudflare.created) == 2, 10, "Cloudflare to finish making the input")
    orphan = fake_cloudflare.last_created()
    assert orphan["meta"]["name"] == "cut off"
    fake_cloudflare.age(orphan["uid"], HOUR)

    srv.restart()
    titles = [r["title"] for r in srv.list_rooms().json()["rooms"]]
    assert titles == ["before the crash"], titles
    assert srv.join(kept["room_id"]).status == 200
    # The orphan sweep at start: the input no room owns goes, the kept room's stays.
    wait_until(lambda: fake_cloudflare.deletes(orphan["uid"]), 20, "the orphan input to be deleted")
    assert orphan["uid"] not in fake_cloudflare.inputs
    assert len(fake_cloudflare.inputs) == 1


def test_sigkill_during_an_end_leaves_the_room_active_and_ending_again_works(server, fake_cloudflare, receivers):
    hook = receivers().start()
    srv = server(*webhook_args(hook.url), cf=fake_cloudflare)
    room = srv.create(title="Lớp học bị cắt ngang")
    rid, token = room["room_id"], room["host_token"]
    wait_for_events(hook, rid, 1)
    fake_cloudflare.delete_delay = 2.0  # Cloudflare deletes, then answers late
    in_background(lambda: srv.end(rid, token))
    wait_until(lambda: fake_cloudflare.deletes(), 10, "the end to reach Cloudflare")
    srv.kill()  # SIGKILL while it waits for the delete
    fake_cloudflare.delete_delay = 0.0
    wait_until(lambda: not fake_cloudflare.inputs, 10, "Cloudflare to finish deleting the input")

    srv.restart()
    assert srv.room(rid).json()["status"] == "active"  # the end never reached the store
    r = srv.end(rid, token)
    assert r.status == 200 and r.json()["status"] == "ended", r.describe()  # the input is gone: ended
    assert srv.join(rid).status == 410
    got = wait_for_events(hook, rid, 2)
    assert [e["payload"]["type"] for e in got] == ["room.created", "room.ended"]
    assert len({e["id"] for e in hook.accepted()}) == len(hook.accepted())


def test_sigkill_during_a_webhook_delivery_sends_it_again_once_with_the_same_id(server, fake_cloudflare, receivers):
    hook = receivers().start(hold=30)  # takes the first event and answers only 30 s later
    srv = server(*webhook_args(hook.url), cf=fake_cloudflare)
    room = srv.create(title="giao hàng dở dang")
    rid = room["room_id"]
    wait_until(lambda: [e for e in hook.entries() if e["status"] == "held"], 15, "the receiver to hold the event")
    held = [e for e in hook.entries() if e["status"] == "held"][0]
    srv.kill()  # SIGKILL while the delivery waits for its answer

    srv.restart()
    # The dead process's lease (20 s) runs out, then the delivery goes again.
    got = wait_for_events(hook, rid, 1, timeout=60)
    assert len(got) == 1
    assert got[0]["id"] == held["id"] == f"evt_{rid}_1"
    assert got[0]["payload"] == held["payload"]
    wait_until(lambda: srv.get(DELIVERIES).json()["deliveries"][0]["state"] == "delivered", 10,
               "the outbox to show the delivery done")
    assert srv.get(DELIVERIES).json()["pending"] == 0

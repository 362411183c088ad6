"""How liveroom behaves when Cloudflare Stream fails: rate limiting (429 + retry-after ->
bounded retries, then 503 provider_rate_limited with Retry-After), auth failures (502
provider_auth_failed carrying Cloudflare's error code), 5xx and non-JSON replies (502, no
retry of the non-idempotent create), an unreachable API (502 provider_unavailable), and the
end flow (a failed delete leaves the room active and can be retried; an input already gone
counts as deleted). No failure may leave a room behind."""

from __future__ import annotations

import pytest

from liveroom_harness import CF_ACCOUNT, assert_error, free_port, wait_until

CREATE = "/api/livestream/create"
BODY = {"title": "Lớp học online", "host": "user_123"}


def _no_rooms(srv):
    r = srv.list_rooms()
    assert r.status == 200, r.describe()
    assert r.json()["rooms"] == [], f"a failed create left a room: {r.describe()}"


def test_rate_limited_create_answers_503_with_retry_after(cf_server, fake_cloudflare):
    existing = cf_server.create()
    fake_cloudflare.create_failure = "429"
    before = len(fake_cloudflare.creates())
    r = cf_server.post(CREATE, BODY)
    assert_error(r, 503, "provider_rate_limited")
    ra = r.header("Retry-After")
    assert ra is not None, f"503 provider_rate_limited without Retry-After: {dict(r.headers)}"
    assert ra.strip().isdigit() and int(ra) >= 1, f"Retry-After {ra!r}"
    attempts = len(fake_cloudflare.creates()) - before
    assert 1 <= attempts <= 3, f"{attempts} create attempts for one request (at most 2 retries)"
    rooms = cf_server.list_rooms().json()["rooms"]
    assert [x["room_id"] for x in rooms] == [existing["room_id"]], "the rate-limited create left a room"
    # Viewers are not affected by the provider's rate limit.
    assert cf_server.join(existing["room_id"]).status == 200
    # Recovery.
    fake_cloudflare.create_failure = None
    assert cf_server.post(CREATE, BODY).status == 201


def test_rate_limit_retry_then_success(cf_server, fake_cloudflare):
    """One 429 then success: the server retries after retry-after and answers 201."""
    orig = fake_cloudflare.respond
    state = {"n": 0}

    def flaky(rec):
        if rec.method == "POST":
            state["n"] += 1
            if state["n"] == 1:
                return fake_cloudflare._json(429, fake_cloudflare._fixture("error.rate-limited.429.json"),
                                             {"retry-after": "1"})
        return orig(rec)

    fake_cloudflare.respond = flaky
    r = cf_server.post(CREATE, BODY)
    assert r.status == 201, r.describe()
    assert len(fake_cloudflare.creates()) == 2
    assert len(cf_server.list_rooms().json()["rooms"]) == 1


@pytest.mark.parametrize("failure,code", [("403", "9109"), ("403-permission", "10000")])
def test_auth_failure_is_502_provider_auth_failed(cf_server, fake_cloudflare, failure, code):
    fake_cloudflare.create_failure = failure
    r = cf_server.post(CREATE, BODY)
    assert_error(r, 502, "provider_auth_failed", mentions=code)
    _no_rooms(cf_server)


def test_wrong_token_really_sent_is_502_provider_auth_failed(server, fake_cloudflare):
    env = {**fake_cloudflare.env(), "CLOUDFLARE_API_TOKEN": "tok_wrong"}
    srv = server(env=env)
    assert_error(srv.post(CREATE, BODY), 502, "provider_auth_failed", mentions="9109")
    _no_rooms(srv)


def test_wrong_account_is_502(server, fake_cloudflare):
    env = {**fake_cloudflare.env(), "CLOUDFLARE_ACCOUNT_ID": "0123456789abcdef0123456789abcdef"}
    srv = server(env=env)
    assert_error(srv.post(CREATE, BODY), 502, ("provider_auth_failed", "provider_error"))
    _no_rooms(srv)


@pytest.mark.parametrize("failure", ["500", "html"])
def test_server_error_on_create_is_502_without_retry(cf_server, fake_cloudflare, failure):
    fake_cloudflare.create_failure = failure
    r = cf_server.post(CREATE, BODY)
    assert_error(r, 502, ("provider_error", "provider_unavailable"))
    _no_rooms(cf_server)
    # Creating a live input is not idempotent: a retry could leave an orphan behind.
    assert len(fake_cloudflare.creates()) == 1, \
        f"create was sent {len(fake_cloudflare.creates())} times after a {failure} reply"


def test_unreachable_provider_is_502_provider_unavailable(server):
    dead = free_port()  # nothing listens there
    env = {"CLOUDFLARE_ACCOUNT_ID": CF_ACCOUNT, "CLOUDFLARE_API_TOKEN": "tok_secret_123",
           "CLOUDFLARE_API_BASE": f"http://127.0.0.1:{dead}"}
    srv = server(env=env)  # starting needs no provider call
    assert srv.get("/readyz").status == 200
    assert_error(srv.post(CREATE, BODY), 502, "provider_unavailable")
    _no_rooms(srv)


def test_failed_delete_keeps_room_active_and_end_can_be_retried(cf_server, fake_cloudflare):
    room = cf_server.create()
    uid = fake_cloudflare.last_created()["uid"]
    rid, tok = room["room_id"], room["host_token"]
    fake_cloudflare.delete_failure = "500"
    r = cf_server.end(rid, tok)
    assert_error(r, 502, ("provider_error", "provider_unavailable"))
    assert len(fake_cloudflare.deletes(uid)) >= 2, \
        f"DELETE is idempotent and should be retried on 5xx; attempts: {len(fake_cloudflare.deletes(uid))}"
    j = cf_server.join(rid)
    assert j.status == 200 and j.json()["status"] == "active", j.describe()
    assert cf_server.room(rid).json()["status"] == "active"
    assert [x["room_id"] for x in cf_server.list_rooms(status="active").json()["rooms"]] == [rid]
    # The fake recovers; the host retries.
    fake_cloudflare.delete_failure = None
    r = cf_server.end(rid, tok)
    assert r.status == 200, r.describe()
    assert r.json()["status"] == "ended"
    assert uid not in fake_cloudflare.inputs
    assert_error(cf_server.join(rid), 410, "room_ended")


def test_delete_auth_failure_keeps_room_active(cf_server, fake_cloudflare):
    room = cf_server.create()
    fake_cloudflare.delete_failure = "403"
    assert_error(cf_server.end(room["room_id"], room["host_token"]), 502, "provider_auth_failed", mentions="9109")
    assert cf_server.join(room["room_id"]).status == 200
    fake_cloudflare.delete_failure = None
    assert cf_server.end(room["room_id"], room["host_token"]).status == 200


def test_input_already_deleted_counts_as_ended(cf_server, fake_cloudflare):
    room = cf_server.create(mode="broadcast")
    uid = fake_cloudflare.last_created()["uid"]
    fake_cloudflare.drop(uid)  # deleted out of band: DELETE answers 404
    r = cf_server.end(room["room_id"], room["host_token"])
    assert r.status == 200, r.describe()
    assert r.json()["status"] == "ended"
    assert len(fake_cloudflare.deletes(uid)) >= 1
    assert_error(cf_server.join(room["room_id"]), 410, "room_ended")


def test_failed_create_does_not_affect_other_rooms(cf_server, fake_cloudflare):
    a = cf_server.create()
    fake_cloudflare.create_failure = "500"
    assert cf_server.post(CREATE, BODY).status == 502
    fake_cloudflare.create_failure = None
    b = cf_server.create()
    ids = {x["room_id"] for x in cf_server.list_rooms().json()["rooms"]}
    assert ids == {a["room_id"], b["room_id"]}


def test_hanging_provider_times_out(cf_server, fake_cloudflare):
    """Cloudflare accepts the connection and never answers: the create gives up on its own
    (total timeout) with 502 provider_unavailable instead of hanging the client, and the
    server keeps serving other requests while it waits."""
    import threading
    existing = cf_server.create()
    fake_cloudflare.create_failure = "hang"
    before = len(fake_cloudflare.creates())
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", cf_server.post(CREATE, BODY, timeout=90)))
    t.start()
    wait_until(lambda: len(fake_cloudflare.creates()) > before, 10, "the create to reach Cloudflare")
    # While that create hangs, joins and reads are served.
    for _ in range(20):
        assert cf_server.join(existing["room_id"]).status == 200
    assert cf_server.get("/healthz").status == 200
    t.join(90)
    assert not t.is_alive(), "create never answered"
    assert_error(result["r"], 502, "provider_unavailable")
    fake_cloudflare.release.set()
    assert [x["room_id"] for x in cf_server.list_rooms().json()["rooms"]] == [existing["room_id"]]


def test_slow_provider_does_not_starve_joins(server, fake_cloudflare):
    """Many creates stuck at Cloudflare must not stop joins that need the store: a join of a
    room that is not cached has to be answered while those creates are still pending
    (ordering, not timing: the fake holds every create until the server gives up on it)."""
    import threading
    srv = server("--cache-ttl-ms", "1", cf=fake_cloudflare)
    rooms = [srv.create(title=f"r{i}") for i in range(3)]
    fake_cloudflare.create_failure = "hang"
    before = len(fake_cloudflare.creates())
    done = []
    lock = threading.Lock()

    def hang_create():
        r = srv.post(CREATE, BODY, timeout=120)
        with lock:
            done.append(r.status)

    threads = [threading.Thread(target=hang_create) for _ in range(40)]
    for t in threads:
        t.start()
    try:
        # Wait until the server has as many creates in flight at Cloudflare as it will take.
        wait_until(lambda: len(fake_cloudflare.creates()) - before >= 8, 20, "creates to reach Cloudflare")
        last, stable = -1, 0
        while stable < 5:  # no new create arrived for a few polls
            n = len(fake_cloudflare.creates())
            stable = stable + 1 if n == last else 0
            last = n
            threading.Event().wait(0.05)
        for room in rooms:
            r = srv.join(room["room_id"])
            with lock:
                answered = list(done)
            assert r.status == 200, r.describe()
            assert not answered, (
                f"the join was answered only after {len(answered)} hanging creates had failed "
                f"({len(fake_cloudflare.creates()) - before} creates held at Cloudflare): "
                "provider calls and store reads share a pool that slow Cloudflare calls exhaust")
    finally:
        fake_cloudflare.release.set()
        for t in threads:
            t.join(120)

"""Cloudflare Notifications webhook (POST /api/livestream/webhooks/cloudflare): the
fixture notifications flip a room's `live` flag, authenticated by cf-webhook-auth;
wrong or missing secrets, foreign inputs, garbage bodies and an unconfigured webhook
change nothing."""

import json

from liveroom_harness import CF_FIXTURES, assert_error

WEBHOOK = "/api/livestream/webhooks/cloudflare"
SECRET = "whsec_liveroom_test_123"


def notification(kind: str, input_id: str) -> bytes:
    body = json.loads((CF_FIXTURES / f"notification.live_input.{kind}.json").read_text())
    body["data"]["input_id"] = input_id
    body["text"] = body["text"].replace("9de18434b0ef65a93cac83ac4e76febb", input_id)
    return json.dumps(body).encode()


def send(srv, body: bytes, secret: str | None = SECRET):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["cf-webhook-auth"] = secret
    return srv.call("POST", WEBHOOK, body=body, headers=headers)


def test_notifications_drive_the_live_flag(server, fake_cloudflare):
    srv = server("--cloudflare-webhook-secret", SECRET, cf=fake_cloudflare)
    room = srv.create()
    uid = fake_cloudflare.last_created()["uid"]
    assert srv.join(room["room_id"]).json()["live"] is False

    r = send(srv, notification("connected", uid))
    assert r.status == 200, r.describe()
    assert r.json() == {"event_type": "live_input.connected", "room_id": room["room_id"], "applied": True}
    assert srv.join(room["room_id"]).json()["live"] is True  # the join cache was refreshed
    listed = srv.list_rooms(status="active").json()["rooms"]
    assert [x["live"] for x in listed if x["room_id"] == room["room_id"]] == [True]

    assert send(srv, notification("disconnected", uid)).status == 200
    assert srv.join(room["room_id"]).json()["live"] is False

    assert send(srv, notification("connected", uid)).status == 200
    r = send(srv, notification("errored", uid))
    assert r.status == 200 and r.json()["applied"] is True
    assert srv.join(room["room_id"]).json()["live"] is False
    assert "ERR_GOP_OUT_OF_RANGE" in srv.log_text()
    assert SECRET not in srv.log_text()


def test_secret_is_required_and_checked(server, fake_cloudflare):
    srv = server(env={"CLOUDFLARE_WEBHOOK_SECRET": SECRET}, cf=fake_cloudflare)
    room = srv.create()
    uid = fake_cloudflare.last_created()["uid"]
    assert_error(send(srv, notification("connected", uid), secret=None), 401, "unauthorized")
    assert_error(send(srv, notification("connected", uid), secret="wrong"), 403, "forbidden")
    assert srv.join(room["room_id"]).json()["live"] is False


def test_unknown_inputs_and_ended_rooms_are_acknowledged_without_change(server, fake_cloudflare):
    srv = server("--cloudflare-webhook-secret", SECRET, cf=fake_cloudflare)
    r = send(srv, notification("connected", "0" * 32))
    assert r.status == 200 and r.json()["applied"] is False and r.json()["room_id"] is None

    room = srv.create()
    uid = fake_cloudflare.last_created()["uid"]
    assert srv.end(room["room_id"], room["host_token"]).status == 200
    r = send(srv, notification("connected", uid))
    assert r.status == 200 and r.json()["applied"] is False
    assert srv.room(room["room_id"]).json()["live"] is False


def test_bad_bodies_are_rejected(server, fake_cloudflare):
    srv = server("--cloudflare-webhook-secret", SECRET, cf=fake_cloudflare)
    assert_error(send(srv, b"{not json"), 400, "invalid_json")
    assert_error(send(srv, b'{"data": {"event_type": "live_input.connected"}}'), 400, "invalid_field")
    assert_error(send(srv, b'{"data": {"input_id": "../../x", "event_type": "live_input.connected"}}'), 400,
                 "invalid_field")
    assert_error(send(srv, b"[]"), 400, "invalid_json")
    assert srv.get("/healthz").status == 200


def test_unconfigured_webhook_is_not_found(cf_server, fake_cloudflare):
    room = cf_server.create()
    uid = fake_cloudflare.last_created()["uid"]
    assert_error(send(cf_server, notification("connected", uid)), 404, "not_found")
    assert cf_server.join(room["room_id"]).json()["live"] is False

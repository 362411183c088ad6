"""Secrets never reach the logs or the store in clear: a full create/join/update/ingest/end
cycle (webrtc and broadcast, plus refused and failing requests) at --log-level debug, then
the server log is searched for the WHIP secret, the host tokens, the RTMPS stream keys, the
SRT passphrases, the Cloudflare API token / legacy key and the --api-key. The data dir is
searched for the host tokens (only their hash may be stored)."""

from __future__ import annotations

import urllib.parse

from liveroom_harness import CF_LEGACY_KEY, CF_TOKEN, FakeCloudflare

API_KEY = "k_api_5ecret_9d1f0a7b"


def _cycle(srv, fake: FakeCloudflare, *, token: str | None) -> list[str]:
    """Runs every endpoint on a webrtc and a broadcast room; returns the secrets seen."""
    found: list[str] = []
    for mode in ("webrtc", "broadcast"):
        room = srv.create(title=f"secret test {mode}", host="user_123", mode=mode, token=token)
        inp = fake.last_created()
        found += [room["host_token"]] + list(FakeCloudflare.secrets_of(inp).values())
        if room["whip_url"]:
            found.append(room["whip_url"])
        rid, tok = room["room_id"], room["host_token"]
        assert srv.join(rid).status == 200
        assert srv.room(rid).status == 200
        assert srv.list_rooms(host="user_123").status == 200
        assert srv.update(rid, "renamed", tok).status == 200
        assert srv.ingest(rid, tok).status == 200
        # refused attempts with near-miss tokens
        assert srv.end(rid, tok[:-1]).status == 403
        assert srv.ingest(rid, tok + "0").status == 403
        assert srv.update(rid, "x", tok[::-1]).status == 403
        assert srv.end(rid, tok).status == 200
        assert srv.end(rid, tok).status == 200
        assert srv.join(rid).status == 410
    # a failing provider call (error paths log more)
    fake.delete_failure = "500"
    room = srv.create(title="failing end", host="user_123", token=token)
    inp = fake.last_created()
    found += [room["host_token"], room["whip_url"]] + list(FakeCloudflare.secrets_of(inp).values())
    assert srv.end(room["room_id"], room["host_token"]).status == 502
    fake.delete_failure = None
    fake.create_failure = "403"
    assert srv.post("/api/livestream/create", {"title": "t", "host": "h"}, token=token).status == 502
    fake.create_failure = None
    return found


def _assert_absent(text: str, secrets: dict[str, str], where: str):
    leaks = []
    for name, value in secrets.items():
        if value and value in text:
            i = text.index(value)
            leaks.append(f"{name}: ...{text[max(0, i - 120):i + len(value) + 40]!r}...")
    assert not leaks, f"secrets found in {where}:\n" + "\n".join(leaks)


def _named(values: list[str]) -> dict[str, str]:
    out = {}
    for i, v in enumerate(values):
        out[f"secret{i}"] = v
        # the secret part of a WHIP URL also appears URL-decoded/encoded identically; keep
        # the bare key of every `<32hex>k<uid>` value as well
        path = urllib.parse.urlsplit(v).path
        if path:
            out[f"secret{i}.path"] = path.strip("/").split("/")[0]
    return out


def test_no_secrets_in_debug_logs(server, fake_cloudflare):
    srv = server("--log-level", "debug", "--api-key", API_KEY, cf=fake_cloudflare)
    found = _cycle(srv, fake_cloudflare, token=API_KEY)
    srv.stop()
    log = srv.log_text()
    assert len(log.strip().splitlines()) >= 5, f"debug logging produced almost nothing:\n{log}"
    secrets = {"cloudflare_api_token": CF_TOKEN, "api_key": API_KEY, **_named(found)}
    _assert_absent(log, secrets, f"the server log {srv.log_path}")


def test_cloudflare_error_codes_are_logged(server, fake_cloudflare):
    srv = server("--log-level", "debug", cf=fake_cloudflare)
    fake_cloudflare.create_failure = "403"
    assert srv.post("/api/livestream/create", {"title": "t", "host": "h"}).status == 502
    srv.stop()
    log = srv.log_text()
    assert "9109" in log, f"Cloudflare's error code should surface in the log:\n{log[-3000:]}"
    assert CF_TOKEN not in log


def test_no_legacy_key_in_debug_logs(server, fake_cloudflare):
    srv = server("--log-level", "debug", cf=fake_cloudflare, legacy_auth=True)
    found = _cycle(srv, fake_cloudflare, token=None)
    srv.stop()
    secrets = {"cloudflare_legacy_key": CF_LEGACY_KEY, **_named(found)}
    _assert_absent(srv.log_text(), secrets, "the server log")


def test_host_tokens_are_not_stored_in_clear(server, fake_cloudflare):
    srv = server(cf=fake_cloudflare)
    tokens = [srv.create(mode=m)["host_token"] for m in ("webrtc", "broadcast", "webrtc")]
    srv.stop()  # flush the WAL
    files = [p for p in srv.data_dir.rglob("*") if p.is_file()]
    assert files, "no store files in the data dir"
    for p in files:
        data = p.read_bytes()
        for t in tokens:
            assert t.encode() not in data, f"host token stored in clear in {p}"


def test_startup_log_does_not_print_credentials(server, fake_cloudflare):
    srv = server("--log-level", "debug", "--api-key", API_KEY, cf=fake_cloudflare)
    srv.stop()
    log = srv.log_text()
    assert CF_TOKEN not in log and API_KEY not in log, log[-3000:]


def test_no_local_media_secrets_in_debug_logs(server):
    """The embedded media server's secrets: the publish key inside whip_url, the host token
    used as the OBS bearer token, the server's media-secret file and the full session ids
    (Location URLs are capabilities) stay out of a debug log through a publish/play cycle."""
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "sdp"
    offer = (fixtures / "chromium156-whip-offer-nontrickle-nowait.sdp").read_text()
    viewer_offer = (fixtures / "gst122-webrtcbin-whep-offer.sdp").read_text()
    srv = server("--log-level", "debug")
    room = srv.create(title="local secrets")
    sdp = {"Content-Type": "application/sdp"}
    found = [room["host_token"], room["whip_url"]]
    sessions = []
    r = srv.call("POST", urllib.parse.urlsplit(room["whip_url"]).path, body=offer, headers=sdp)
    assert r.status == 201, r.describe()
    sessions.append(r.headers["location"])
    assert srv.call("DELETE", urllib.parse.urlsplit(sessions[0]).path).status == 200
    r = srv.call("POST", f"/whip/{room['room_id']}", body=offer, headers=sdp, token=room["host_token"])
    assert r.status == 201, r.describe()
    sessions.append(r.headers["location"])
    r = srv.call("POST", f"/whip/{room['room_id']}", body=offer, headers=sdp, token="lrh_wrong" + "x" * 39)
    assert r.status in (401, 403), r.describe()
    r = srv.call("POST", urllib.parse.urlsplit(room["playback"]["whep_url"]).path, body=viewer_offer, headers=sdp)
    assert r.status == 201, r.describe()
    sessions.append(r.headers["location"])
    assert srv.end(room["room_id"], room["host_token"]).status == 200
    srv.stop()
    media_secret = (srv.data_dir / "media-secret").read_text().strip()
    assert len(media_secret) == 64
    secrets = {"media_secret": media_secret, **_named(found)}
    for i, loc in enumerate(sessions):
        secrets[f"session{i}"] = loc.rstrip("/").split("/")[-1]
    _assert_absent(srv.log_text(), secrets, "the server log")

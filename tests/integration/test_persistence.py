"""SQLite persistence: rooms created, updated and ended survive a restart of the server on
the same data directory (public views, ended state, listing order, host-token checks and
the live input uid used by a later end), and nothing is served from Cloudflare; a room
remembers its provider (no end through another one)."""

from __future__ import annotations

from liveroom_harness import assert_error


def test_rooms_survive_restart(cf_server, fake_cloudflare):
    srv = cf_server
    web = srv.create(title="Lớp học online", host="teacher")
    web_uid = fake_cloudflare.last_created()["uid"]
    bc = srv.create(title="Concert", host="band", mode="broadcast")
    gone = srv.create(title="Short", host="teacher")
    assert srv.update(web["room_id"], "Lớp học online — buổi 2", web["host_token"]).status == 200
    end1 = srv.end(gone["room_id"], gone["host_token"])
    assert end1.status == 200

    before = {rid: srv.room(rid).json() for rid in (web["room_id"], bc["room_id"], gone["room_id"])}
    listing_before = srv.all_rooms()
    assert any(srv.data_dir.iterdir()), "no store file in the data dir"

    # Reads of rooms never call Cloudflare (the orphan sweep's listing at start is not a read).
    srv.restart()
    calls_after_restart = len(fake_cloudflare.room_calls())

    for rid, view in before.items():
        r = srv.room(rid)
        assert r.status == 200, r.describe()
        assert r.json() == view, f"room {rid} changed across restart"
    assert srv.all_rooms() == listing_before
    j = srv.join(web["room_id"])
    assert j.status == 200 and j.json()["title"] == "Lớp học online — buổi 2"
    assert j.json()["whep_url"] == web["playback"]["whep_url"]
    assert srv.join(bc["room_id"]).json()["playback"] == bc["playback"]
    assert_error(srv.join(gone["room_id"]), 410, "room_ended")
    assert len(fake_cloudflare.room_calls()) == calls_after_restart, "reads after restart called Cloudflare"

    # Host tokens still work (only their hash is stored), wrong ones still do not.
    ing = srv.ingest(bc["room_id"], bc["host_token"])
    assert ing.status == 200, ing.describe()
    assert_error(srv.ingest(bc["room_id"], web["host_token"]), 403, "forbidden")
    # The repeated end of the ended room answers the same body as before the restart.
    again = srv.end(gone["room_id"], gone["host_token"])
    assert again.status == 200 and again.json() == end1.json()
    # Ending after the restart deletes the right live input.
    assert srv.end(web["room_id"], web["host_token"]).status == 200
    assert fake_cloudflare.deletes(web_uid), "end after restart did not delete the stored live input uid"


def test_restart_with_many_rooms_keeps_paging(cf_server):
    created = [cf_server.create(title=f"r{i}", host="bulk") for i in range(30)]
    cf_server.restart()
    ids = [x["room_id"] for x in cf_server.all_rooms(limit=7)]
    assert len(ids) == len(set(ids)) == 30
    assert set(ids) == {r["room_id"] for r in created}


def test_new_rooms_after_restart_do_not_collide(cf_server):
    first = cf_server.create()
    cf_server.restart()
    second = cf_server.create()
    assert second["room_id"] != first["room_id"]
    assert {x["room_id"] for x in cf_server.all_rooms()} == {first["room_id"], second["room_id"]}


def test_cloudflare_rooms_are_not_ended_without_cloudflare(server, fake_cloudflare):
    """A room remembers the provider that made it: restarted without the Cloudflare
    settings, liveroom still serves the room but will not end it (nor hand out its
    ingest secrets) through another provider: 503 naming the settings it needs."""
    cf = server(cf=fake_cloudflare)
    room = cf.create(title="On Cloudflare", host="teacher")
    gone = cf.create(title="Ended", host="teacher")
    assert room["provider"] == "cloudflare"
    assert cf.end(gone["room_id"], gone["host_token"]).status == 200
    cf.stop()
    deletes_before = len(fake_cloudflare.deletes())

    bare = server(data_dir=cf.data_dir)  # no CLOUDFLARE_* at all
    view = bare.join(room["room_id"])
    assert view.status == 200 and view.json()["provider"] == "cloudflare", view.describe()
    assert_error(bare.end(room["room_id"], room["host_token"]), 503, "stream_provider_unavailable",
                 mentions="runs on cloudflare")
    assert_error(bare.ingest(room["room_id"], room["host_token"]), 503, "stream_provider_unavailable",
                 mentions="cloudflare")
    assert_error(bare.end(room["room_id"], "not-the-token"), 403, "forbidden")
    assert bare.room(room["room_id"]).json()["status"] == "active"
    # Ending an already ended room stays idempotent whatever the provider.
    assert bare.end(gone["room_id"], gone["host_token"]).status == 200
    assert len(fake_cloudflare.deletes()) == deletes_before

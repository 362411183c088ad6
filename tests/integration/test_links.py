"""Links that work from another device (issue 10, item 2), through the real binary: every room
view carries `watch_url`, create also `studio_url` (host token in the fragment, never in a
query), built on --public-url when set, else on the request's Host; QR codes of both, decoded by
a real QR decoder (zbarimg, from Debian's zbar-tools, on the SVG rendered to PNG by rsvg-convert).

The Host headers below are only text the server builds links from: no traffic goes anywhere but
127.0.0.1.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.parse

import pytest

from liveroom_harness import assert_error

LAN_HOST = "192.168.1.5:8080"  # what a phone on the class's Wi-Fi would send


def as_phone(headers: dict | None = None) -> dict:
    return {"Host": LAN_HOST, **(headers or {})}


def decode_qr(svg: bytes, tmp_path) -> str:
    for tool in ("rsvg-convert", "zbarimg"):
        assert shutil.which(tool), f"{tool} is missing: run scripts/setup --test"
    png = tmp_path / "qr.png"
    subprocess.run(["rsvg-convert", "--width", "400", "--height", "400", "--background-color", "white",
                    "-o", str(png)], input=svg, check=True)
    out = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_create_answers_watch_and_studio_links_from_the_host_people_used(server):
    srv = server()
    r = srv.post("/api/livestream/create", {"title": "Lớp học online", "host": "Cô Lan"}, headers=as_phone())
    assert r.status == 201, r.describe()
    room = r.json()
    rid = room["room_id"]
    assert room["watch_url"] == f"http://{LAN_HOST}/watch/{rid}"
    studio = urllib.parse.urlsplit(room["studio_url"])
    assert (studio.scheme, studio.netloc, studio.path) == ("http", LAN_HOST, f"/studio/{rid}")
    assert studio.query == ""  # the token never goes in a query (logs, proxies, Referer)
    assert studio.fragment == f"token={room['host_token']}"

    # Every view of the room carries the watch link, and never the studio link or token.
    views = [srv.get(f"/api/livestream/join?room_id={rid}", headers=as_phone()).json(),
             srv.get(f"/api/livestream/rooms/{rid}", headers=as_phone()).json(),
             srv.list_rooms().json()["rooms"][0],
             srv.post("/api/livestream/update", {"room_id": rid, "title": "Lớp 2"}, token=room["host_token"],
                      headers=as_phone()).json()]
    for view in views:
        assert view["watch_url"].endswith(f"/watch/{rid}"), view
        assert "studio_url" not in view and room["host_token"] not in str(view)
    assert views[0]["watch_url"] == room["watch_url"]  # also from the join cache
    assert srv.get(f"/api/livestream/join?room_id={rid}", headers=as_phone()).json()["watch_url"] == room["watch_url"]


def test_public_url_wins_over_the_host(server):
    srv = server("--public-url", "https://lop.example.edu.vn/")
    room = srv.post("/api/livestream/create", {"title": "t", "host": "h"}, headers=as_phone()).json()
    assert room["watch_url"] == f"https://lop.example.edu.vn/watch/{room['room_id']}"
    assert room["studio_url"].startswith(f"https://lop.example.edu.vn/studio/{room['room_id']}#token=")


def test_a_host_header_that_is_not_a_host_never_becomes_a_link(server):
    srv = server()
    for bad in ("evil.example/phish", "a b", "x\"><script>"):
        room = srv.post("/api/livestream/create", {"title": "t", "host": "h"}, headers={"Host": bad}).json()
        assert room["watch_url"] == f"/watch/{room['room_id']}", bad  # relative: the page's own origin


def test_qr_codes_decode_to_the_links(server, tmp_path):
    srv = server()
    room = srv.post("/api/livestream/create", {"title": "Lớp học online", "host": "Cô Lan"},
                    headers=as_phone()).json()
    rid = room["room_id"]
    r = srv.get(f"/api/livestream/rooms/{rid}/qr.svg", headers=as_phone())
    assert r.status == 200, r.describe()
    assert r.header("Content-Type") == "image/svg+xml"
    assert decode_qr(r.body, tmp_path) == room["watch_url"]

    # The studio link's QR is for its host only (it carries the token).
    studio_qr = f"/api/livestream/rooms/{rid}/qr.svg?link=studio"
    assert_error(srv.get(studio_qr), 401, "unauthorized")
    assert_error(srv.get(studio_qr, token="lrh_wrong"), 403, "forbidden")
    r = srv.get(studio_qr, token=room["host_token"], headers=as_phone())
    assert r.status == 200, r.describe()
    assert r.header("Cache-Control") == "no-store"
    assert decode_qr(r.body, tmp_path) == room["studio_url"]

    assert_error(srv.get(f"/api/livestream/rooms/{rid}/qr.svg?link=other"), 400, "invalid_field")
    assert_error(srv.get("/api/livestream/rooms/live_doesnotexist123/qr.svg"), 404, "room_not_found")
    assert_error(srv.get("/api/livestream/rooms/bad!/qr.svg"), 404)
    srv.end(rid, room["host_token"])
    assert_error(srv.get(studio_qr, token=room["host_token"]), 410, "room_ended")


def test_browsers_get_readable_pages_for_paths_nothing_serves(server):
    srv = server()
    html = {"Accept": "text/html,application/xhtml+xml"}
    for path in ("/nope", "/watch/", "/watch/a/b", "/lop-hoc"):
        r = srv.get(path, headers=html)
        assert r.status == 404, (path, r.describe())
        assert r.header("Content-Type").startswith("text/html"), path
    assert_error(srv.get("/nope"), 404, "not_found")  # an API client still gets JSON
    r = srv.get("/watch/live_abc%29.", headers=html)  # a link pasted with punctuation
    assert r.status == 404 and b"<html" in r.body.lower()


def test_info_tells_the_pages_what_they_need(server):
    srv = server("--api-key", "k")
    info = srv.get("/api/livestream/info").json()
    assert info["create_requires_api_key"] is True
    assert info["stream_provider"] == "local"
    assert info["version"]
    assert server().get("/api/livestream/info").json()["create_requires_api_key"] is False

"""The OpenAPI 3.1 description (issue 13, item 6): served at /api/openapi.json, and every reply
the real server gives to a tour of every route — successes and each error a client can cause —
is checked against it (tests/integration/openapi_check.py, with the jsonschema reference
implementation): the path and method are described, the status is among the operation's
responses, and a JSON body validates against its schema. Every described operation must be
visited.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from liveroom_harness import call, free_port
from test_cloudflare_webhook import SECRET as CF_SECRET, notification
from test_webrtc_http import (CHROMIUM_PWD, CHROMIUM_UFRAG, CHROMIUM_WHIP, GST_WHEP, PATCH_1, SDP, SDPFRAG,
                              sdp_fixture, trickle_fragment, url_path)
from webrtc_peer import VENV_PYTHON

HERE = Path(__file__).resolve().parent
API_KEY = "test-api-key-openapi"
WEBHOOK_SECRET = "whsec_bGl2ZXJvb20tdGVzdC13ZWJob29rLXNlY3JldC0zMmI="


class Tour:
    """Calls the server and keeps each reply for the checker."""

    def __init__(self, port: int):
        self.port = port
        self.records: list[dict] = []

    def __call__(self, method: str, path: str, expect: int | None = None, **kw):
        r = call(self.port, method, path, **kw)
        self.records.append({"method": method, "path": path.split("?")[0], "status": r.status,
                             "content_type": r.header("content-type"), "body": r.body.decode("utf-8", "replace")})
        if expect is not None:
            assert r.status == expect, r.describe()
        return r

    def stream_head(self, path: str) -> None:
        """An event stream's status and headers (its body never ends)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    break
                head += chunk
        lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
        status = int(lines[0].split(" ")[1])
        ctype = next((l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("content-type:")), None)
        body = "" if ctype == "text/event-stream" else head.split(b"\r\n\r\n", 1)[1].decode()
        self.records.append({"method": "GET", "path": path, "status": status, "content_type": ctype, "body": body})


def test_every_route_answers_as_the_openapi_document_says(server, tmp_path):
    hook_port = free_port()  # nothing listens there: deliveries stay pending
    srv = server("--api-key", API_KEY, "--cloudflare-webhook-secret", CF_SECRET,
                 "--webhook-url", f"http://127.0.0.1:{hook_port}/hook", "--webhook-secret", WEBHOOK_SECRET)
    t = Tour(srv.port)
    doc_reply = t("GET", "/api/openapi.json", 200)
    doc = doc_reply.json()
    assert doc["openapi"].startswith("3.1") and doc["info"]["version"] == srv.get("/api/livestream/info").json()["version"]
    t("HEAD", "/api/openapi.json")
    t("POST", "/api/openapi.json", 405, body="")

    # Service and server facts.
    t("GET", "/healthz", 200)
    t("GET", "/readyz", 200)
    t("GET", "/api/livestream/info", 200)
    t("GET", "/metrics", 401)
    t("GET", "/metrics", 403, token="not-the-key")
    t("GET", "/metrics", 200, token=API_KEY)
    t("GET", "/webRTC/stats", 401)
    t("GET", "/webRTC/stats", 200, token=API_KEY)
    t("PUT", "/api/livestream/join", 405, body="")
    t("GET", "/api/livestream/nothing", 404)

    # Create, and the errors a client can cause.
    create = "/api/livestream/create"
    t("OPTIONS", create, 204)
    t("POST", create, 401, json_body={"title": "t", "host": "h"})
    t("POST", create, 403, json_body={"title": "t", "host": "h"}, token="wrong")
    t("POST", create, 400, body="{not json", headers={"Content-Type": "application/json"}, token=API_KEY)
    t("POST", create, 400, json_body={"title": "", "host": "h"}, token=API_KEY)
    t("POST", create, 415, body="title=t", headers={"Content-Type": "text/plain"}, token=API_KEY)
    t("POST", create, 413, json_body={"title": "x" * 100_000, "host": "h"}, token=API_KEY)
    room = t("POST", create, 201, json_body={"title": "Lớp học — OpenAPI", "host": "cô Hà"}, token=API_KEY).json()
    rid, token = room["room_id"], room["host_token"]
    t("POST", create, 422, json_body={"title": "Broadcast", "host": "h", "mode": "broadcast"}, token=API_KEY)

    # Reading rooms.
    t("GET", f"/api/livestream/join?room_id={rid}", 200)
    t("GET", "/api/livestream/join", 400)
    t("GET", "/api/livestream/join?room_id=live_doesnotexist000000", 404)
    t("GET", "/api/livestream/rooms", 200)
    t("GET", "/api/livestream/rooms?status=active&limit=1", 200)
    t("GET", "/api/livestream/rooms?status=gone", 400)
    t("GET", f"/api/livestream/rooms/{rid}", 200)
    t("GET", "/api/livestream/rooms/live_doesnotexist000000", 404)
    t("GET", f"/api/livestream/rooms/{rid}/ingest", 401)
    t("GET", f"/api/livestream/rooms/{rid}/ingest", 403, token="lrh_wrong")
    t("GET", f"/api/livestream/rooms/{rid}/ingest", 200, token=token)
    t("GET", f"/api/livestream/rooms/{rid}/qr.svg", 200)
    t("GET", f"/api/livestream/rooms/{rid}/qr.svg?link=studio", 200, token=token)
    t("GET", f"/api/livestream/rooms/{rid}/qr.svg?link=other", 400)
    t("GET", "/api/livestream/rooms/live_doesnotexist000000/qr.svg", 404)
    t.stream_head(f"/api/livestream/rooms/{rid}/events")
    t("GET", "/api/livestream/rooms/live_doesnotexist000000/events", 404)

    # Update.
    update = "/api/livestream/update"
    t("POST", update, 200, json_body={"room_id": rid, "title": "Lớp học — buổi 2"}, token=token)
    t("POST", update, 401, json_body={"room_id": rid, "title": "x"})
    t("POST", update, 403, json_body={"room_id": rid, "title": "x"}, token="lrh_wrong")
    t("POST", update, 404, json_body={"room_id": "live_doesnotexist000000", "title": "x"}, token=token)
    t("POST", update, 400, json_body={"room_id": rid}, token=token)

    # Media: WHIP, WHEP, the session resource.
    whip, whep = url_path(room["whip_url"]), url_path(room["playback"]["whep_url"])
    t("OPTIONS", whip, 204)
    t("POST", whip, 415, body="v=0", headers={"Content-Type": "text/plain"})
    t("POST", whip, 400, body="not sdp", headers={"Content-Type": SDP})
    t("POST", "/" + "0" * 32 + "k" + "1" * 32 + "/webRTC/publish", 404, body=sdp_fixture(CHROMIUM_WHIP),
      headers={"Content-Type": SDP})
    pub = t("POST", whip, 201, body=sdp_fixture(CHROMIUM_WHIP), headers={"Content-Type": SDP})
    t("POST", whip, 409, body=sdp_fixture(CHROMIUM_WHIP), headers={"Content-Type": SDP})
    alias = f"/whip/{rid}"
    t("OPTIONS", alias, 204)
    t("POST", alias, 401, body=sdp_fixture(CHROMIUM_WHIP), headers={"Content-Type": SDP})
    t("POST", alias, 403, body=sdp_fixture(CHROMIUM_WHIP), headers={"Content-Type": SDP}, token="lrh_wrong")
    t("OPTIONS", whep, 204)
    view = t("POST", whep, 201, body=sdp_fixture(GST_WHEP), headers={"Content-Type": SDP})
    t("POST", "/" + "2" * 32 + "/webRTC/play", 404, body=sdp_fixture(GST_WHEP), headers={"Content-Type": SDP})
    session = url_path(pub.header("location"))
    t("OPTIONS", session, 204)
    t("PATCH", session, 204, body=trickle_fragment(PATCH_1, CHROMIUM_UFRAG, CHROMIUM_PWD),
      headers={"Content-Type": SDPFRAG, "If-Match": pub.header("etag")})
    t("PATCH", session, 412, body=trickle_fragment(PATCH_1, CHROMIUM_UFRAG, CHROMIUM_PWD),
      headers={"Content-Type": SDPFRAG, "If-Match": '"0000000000000000"'})
    t("PATCH", session, 415, body="x", headers={"Content-Type": "text/plain"})
    t("DELETE", url_path(view.header("location")), 200)
    t("DELETE", session, 200)
    t("DELETE", session, 404)
    t("PATCH", "/webRTC/sessions/" + "3" * 32, 404, body=trickle_fragment(PATCH_1, CHROMIUM_UFRAG, CHROMIUM_PWD),
      headers={"Content-Type": SDPFRAG})

    # Webhooks in and out.
    hook = "/api/livestream/webhooks/cloudflare"
    t("POST", hook, 401, body=notification("connected", "9" * 32), headers={"Content-Type": "application/json"})
    t("POST", hook, 200, body=notification("connected", "9" * 32),
      headers={"Content-Type": "application/json", "cf-webhook-auth": CF_SECRET})
    deliveries = "/api/livestream/webhooks/deliveries"
    t("GET", deliveries, 401)
    t("GET", deliveries, 403, token="wrong")
    t("GET", deliveries, 200, token=API_KEY)
    t("GET", deliveries + "?state=lost", 400, token=API_KEY)

    # End, and what an ended room answers.
    end = "/api/livestream/end"
    t("POST", end, 401, json_body={"room_id": rid})
    t("POST", end, 403, json_body={"room_id": rid}, token="lrh_wrong")
    t("POST", end, 404, json_body={"room_id": "live_doesnotexist000000"}, token=token)
    t("POST", end, 200, json_body={"room_id": rid}, token=token)
    t("POST", end, 200, json_body={"room_id": rid}, token=token)
    t("GET", f"/api/livestream/join?room_id={rid}", 410)
    t("GET", f"/api/livestream/rooms/{rid}", 200)
    t("POST", update, 410, json_body={"room_id": rid, "title": "x"}, token=token)
    t("GET", f"/api/livestream/rooms/{rid}/qr.svg?link=studio", 410, token=token)
    t("POST", whep, 410, body=sdp_fixture(GST_WHEP), headers={"Content-Type": SDP})

    doc_path, records_path = tmp_path / "openapi.json", tmp_path / "records.json"
    doc_path.write_bytes(doc_reply.body)
    records_path.write_text(json.dumps(t.records, ensure_ascii=False))
    if not VENV_PYTHON.exists():
        raise AssertionError(f"{VENV_PYTHON} not found: run `scripts/setup --test`")
    done = subprocess.run([str(VENV_PYTHON), str(HERE / "openapi_check.py"), str(doc_path), str(records_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"replies that the OpenAPI document does not describe:\n{done.stdout}\n{done.stderr}"


def test_the_committed_document_is_the_served_one(server):
    srv = server()
    served = srv.get("/api/openapi.json")
    assert served.status == 200 and served.header("content-type") == "application/json"
    committed = json.loads((HERE.parents[1] / "src" / "api" / "openapi.json").read_text("utf-8"))
    committed["info"]["version"] = served.json()["info"]["version"]
    assert served.json() == committed

"""Shared machinery of the integration tests (imported by conftest.py and the test files).

- `call()`: a tiny HTTP/1.1 client over http.client that sends exactly what it is given
  (any method, raw body bytes, any Content-Type) and returns status, headers and body.
- `FakeCloudflare`: a local ThreadingHTTPServer speaking Cloudflare Stream's live-input API
  with the bodies from ../shared/fixtures/cloudflare/, recording every request, with
  switches that make creates/deletes fail the way Cloudflare fails.
- `LiveroomServer`: one `build/liveroom serve` child process (log captured to a file,
  waits for /healthz, stop/restart on the same port and data dir).
- `FerretDB`: a FerretDB child process the tests own (so they can kill it).
- `MongoWire`: a minimal MongoDB wire-protocol client (OP_MSG + BSON) used to look at the
  documents the server wrote, without any pip package.
- Assertion helpers for the error envelope, timestamps and the public room view.
"""

from __future__ import annotations

import copy
import datetime as _dt
import http.client
import functools
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable

REPO = Path(__file__).resolve().parents[2]
LIVEROOM_BIN = Path(os.environ.get("LIVEROOM_BIN", str(REPO / "build" / "liveroom")))
FIXTURES_DIR = Path(os.environ.get("LIVEROOM_FIXTURES_DIR", str(REPO.parent / "shared" / "fixtures")))
CF_FIXTURES = FIXTURES_DIR / "cloudflare"
FERRETDB_BIN = Path(os.environ.get("LIVEROOM_FERRETDB_BIN", str(REPO / ".cache" / "bin" / "ferretdb")))

# The binary the tests run: conftest points this at a private copy of LIVEROOM_BIN taken at
# session start, so a rebuild during the run cannot swap binaries between tests.
ACTIVE_BIN: Path = LIVEROOM_BIN

CF_ACCOUNT = "acc123"
CF_TOKEN = "tok_secret_123"
CF_EMAIL = "ops@example.com"
CF_LEGACY_KEY = "legacy_key_7f3a9c1e55"

ROOM_ID_RE = re.compile(r"^live_[A-Za-z0-9]{12,}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

PUBLIC_VIEW_KEYS = {
    "room_id", "title", "host", "mode", "provider", "status", "live", "viewers",
    "created_at", "ended_at", "whep_url", "playback",
}
# Key names that must never appear anywhere (at any depth) in a public body.
SECRET_KEYS = {
    "whip_url", "ingest", "stream_key", "streamKey", "passphrase", "host_token",
    "host_token_hash", "session_id", "rtmps", "srt", "webRTC", "token",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    method: str = ""
    path: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception as e:  # noqa: BLE001 - show the body in the failure
            raise AssertionError(
                f"{self.method} {self.path}: body is not JSON ({e}): {self.body[:500]!r}") from None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def describe(self) -> str:
        return f"{self.method} {self.path} -> {self.status} {self.body[:800]!r}"


def call(port: int, method: str, path: str, *, body: bytes | str | None = None,
         json_body: Any = None, headers: dict[str, str] | None = None,
         token: str | None = None, timeout: float = 30.0, host: str = "127.0.0.1") -> Reply:
    """One HTTP request on a fresh connection. `json_body` is encoded as UTF-8 JSON
    (non-ASCII kept raw) with Content-Type application/json unless headers say otherwise."""
    hdrs = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        if not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = "application/json"
    if isinstance(body, str):
        body = body.encode("utf-8")
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        send_error = None
        try:
            conn.request(method, path, body=body, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError) as e:
            # The server may answer (e.g. 413) and close before reading the whole body.
            send_error = e
        try:
            resp = conn.getresponse()
            data = resp.read()
        except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError) as e:
            raise AssertionError(f"{method} {path}: no HTTP response ({send_error or e!r})") from None
        return Reply(resp.status, resp.headers, data, method, path)
    finally:
        conn.close()


def _complete_response(buf: bytes) -> bool:
    """True once `buf` holds one whole HTTP response framed by Content-Length."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", buf[:head_end])
    if not m:
        return False
    return len(buf) - (head_end + 4) >= int(m.group(1))


def raw_exchange(port: int, data: bytes, *, shutdown_write: bool = True,
                 timeout: float = 10.0, chunks: Iterable[bytes] | None = None) -> bytes:
    """Send raw bytes on a socket and read what comes back until the server closes the
    connection or `timeout` passes. Returns everything read (possibly b"")."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        try:
            s.sendall(data)
            for c in chunks or ():
                s.sendall(c)
            if shutdown_write:
                s.shutdown(socket.SHUT_WR)
        except OSError:  # the server may close first (EPIPE, ECONNRESET, ENOTCONN)
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                s.settimeout(max(0.05, deadline - time.monotonic()))
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
            if _complete_response(out):
                break
    finally:
        s.close()
    return out


# --------------------------------------------------------------------------------------
# Assertions
# --------------------------------------------------------------------------------------

def is_json_content_type(value: str | None) -> bool:
    return bool(value) and value.split(";")[0].strip().lower() == "application/json"


def assert_error(r: Reply, status: int, code: str | Iterable[str] | None = None,
                 mentions: str | Iterable[str] | None = None) -> dict:
    """Status and the `{"error": {"code", "message"}}` envelope; `mentions`: text (any of
    them, case-insensitive) the message must contain, e.g. the field name."""
    assert r.status == status, f"expected {status}, got {r.describe()}"
    assert is_json_content_type(r.header("Content-Type")), \
        f"error reply Content-Type {r.header('Content-Type')!r}: {r.describe()}"
    doc = r.json()
    assert isinstance(doc, dict) and isinstance(doc.get("error"), dict), f"no error envelope: {r.describe()}"
    err = doc["error"]
    assert isinstance(err.get("code"), str) and err["code"], f"no error.code: {r.describe()}"
    assert isinstance(err.get("message"), str) and err["message"].strip(), f"no error.message: {r.describe()}"
    if code is not None:
        codes = {code} if isinstance(code, str) else set(code)
        assert err["code"] in codes, f"expected code {sorted(codes)}, got {r.describe()}"
    if mentions is not None:
        words = [mentions] if isinstance(mentions, str) else list(mentions)
        msg = err["message"].lower()
        assert any(w.lower() in msg for w in words), \
            f"error message should mention {words}: {r.describe()}"
    return err


def assert_timestamp(value: Any, what: str = "timestamp") -> _dt.datetime:
    assert isinstance(value, str) and TIMESTAMP_RE.match(value), \
        f"{what} {value!r} is not RFC 3339 UTC with milliseconds (2026-11-20T21:40:00.123Z)"
    return _dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")


def find_keys(obj: Any, names: set[str], prefix: str = "") -> list[str]:
    """Paths of every key in `names` found at any depth."""
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{prefix}.{k}" if prefix else k
            if k in names:
                found.append(p)
            found += find_keys(v, names, p)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += find_keys(v, names, f"{prefix}[{i}]")
    return found


def assert_no_secrets(r_or_body: Reply | bytes | str, secret_values: Iterable[str] = ()) -> None:
    """The body contains none of the secret key names and none of the secret strings."""
    if isinstance(r_or_body, Reply):
        raw = r_or_body.body
        doc = r_or_body.json()
    else:
        raw = r_or_body.encode() if isinstance(r_or_body, str) else r_or_body
        doc = json.loads(raw)
    leaked_keys = find_keys(doc, SECRET_KEYS)
    assert not leaked_keys, f"public body contains secret fields {leaked_keys}: {raw[:800]!r}"
    text = raw.decode("utf-8", "replace")
    for s in secret_values:
        if s:
            assert s not in text, f"public body contains the secret {s[:12]}...: {raw[:800]!r}"


def assert_public_view(view: dict, secret_values: Iterable[str] = ()) -> None:
    missing = PUBLIC_VIEW_KEYS - set(view)
    assert not missing, f"public view lacks {sorted(missing)}: {view}"
    assert ROOM_ID_RE.match(view["room_id"]), view
    assert view["mode"] in ("webrtc", "broadcast"), view
    assert view["provider"] in ("cloudflare", "local"), view
    assert view["status"] in ("active", "ended"), view
    assert isinstance(view["live"], bool), view
    assert view["viewers"] is None or (isinstance(view["viewers"], int)
                                       and not isinstance(view["viewers"], bool)
                                       and view["viewers"] >= 0), view
    assert_timestamp(view["created_at"], "created_at")
    if view["status"] == "active":
        assert view["ended_at"] is None, view
    else:
        assert_timestamp(view["ended_at"], "ended_at")
        assert view["whep_url"] is None, f"ended room still has a whep_url: {view}"
        pb = view["playback"]
        assert pb is None or all(pb.get(k) is None for k in ("whep_url", "hls_url", "dash_url")), \
            f"ended room still has playback URLs: {view}"
    assert isinstance(view["playback"], dict) or view["status"] == "ended", view
    if isinstance(view["playback"], dict):
        assert {"whep_url", "hls_url", "dash_url"} <= set(view["playback"]), view
    leaked = find_keys(view, SECRET_KEYS)
    assert not leaked, f"public view contains {leaked}: {view}"
    text = json.dumps(view, ensure_ascii=False)
    for s in secret_values:
        if s:
            assert s not in text, f"public view contains the secret {s[:12]}...: {view}"


# --------------------------------------------------------------------------------------
# Fake Cloudflare Stream
# --------------------------------------------------------------------------------------

@dataclass
class RecordedRequest:
    method: str
    path: str          # as received, without the query string
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any = None


def _utcnow_cf() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeCloudflare:
    """Cloudflare Stream live-input API on 127.0.0.1:<port>, answering with the fixtures.

    Switches (set them from tests):
      create_failure: None | "429" | "403" | "403-permission" | "500" | "html" | "hang" | "deep"
                      ("deep": a 200 whose result nests 200,000 arrays deep)
      delete_failure: None | "500" | "403"
      retry_after:    value of the retry-after header on 429 replies
      create_delay:   seconds a successful create takes (a slow Cloudflare)
      delete_delay:   seconds a delete takes before Cloudflare deletes (it deletes even when the
                      caller has gone meanwhile)
    """

    LIVE_INPUTS_RE = re.compile(r"^(?:/client/v4)?/accounts/([^/]+)/stream/live_inputs(?:/([^/]+))?/?$")

    def __init__(self, fixtures: Path = CF_FIXTURES):
        self.fixtures = fixtures
        self._create_tmpl = json.loads((fixtures / "live_input.create.200.json").read_text("utf-8"))
        self.lock = threading.Lock()
        self.inputs: dict[str, dict] = {}       # uid -> result object (what GET returns)
        self.created: list[dict] = []           # every input ever created, in order
        self.requests: list[RecordedRequest] = []
        self.create_failure: str | None = None
        self.delete_failure: str | None = None
        self.retry_after = "1"
        self.create_delay = 0.0
        self.delete_delay = 0.0
        self.release = threading.Event()        # frees requests held by the "hang" switch
        self.token = CF_TOKEN
        self.email = CF_EMAIL
        self.legacy_key = CF_LEGACY_KEY
        self.account = CF_ACCOUNT
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        line = self.rfile.readline()
                        size = int(line.split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n > 0 else b""

            def _handle(self):
                body = self._read_body()
                parsed = urllib.parse.urlsplit(self.path)
                try:
                    js = json.loads(body) if body else None
                except Exception:  # noqa: BLE001
                    js = None
                rec = RecordedRequest(self.command, parsed.path, parsed.query,
                                      {k.lower(): v for k, v in self.headers.items()}, body, js)
                with fake.lock:
                    fake.requests.append(rec)
                status, headers, payload = fake.respond(rec)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except OSError:  # the client (liveroom) gave up, e.g. on its timeout
                    self.close_connection = True

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _handle

        class Server(ThreadingHTTPServer):
            request_queue_size = 256
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    # -- wiring ---------------------------------------------------------------------

    def env(self, *, legacy: bool = False, base_suffix: str = "") -> dict[str, str]:
        """Environment that makes liveroom use this fake."""
        env = {"CLOUDFLARE_ACCOUNT_ID": self.account,
               "CLOUDFLARE_API_BASE": self.base_url + base_suffix}
        if legacy:
            env["CLOUDFLARE_EMAIL"] = self.email
            env["CLOUDFLARE_API_KEY"] = self.legacy_key
        else:
            env["CLOUDFLARE_API_TOKEN"] = self.token
        return env

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- inspection -----------------------------------------------------------------

    def calls(self, method: str | None = None, contains: str | None = None) -> list[RecordedRequest]:
        with self.lock:
            reqs = list(self.requests)
        return [r for r in reqs
                if (method is None or r.method == method) and (contains is None or contains in r.path)]

    def room_calls(self) -> list[RecordedRequest]:
        """Every call but listing the live inputs (which the orphan sweep does at start and every
        10 minutes, whatever the API is asked)."""
        return [r for r in self.calls() if not (r.method == "GET" and self.LIVE_INPUTS_RE.match(r.path)
                                                and self.LIVE_INPUTS_RE.match(r.path).group(2) is None)]

    def creates(self) -> list[RecordedRequest]:
        return [r for r in self.calls("POST") if self.LIVE_INPUTS_RE.match(r.path)
                and self.LIVE_INPUTS_RE.match(r.path).group(2) is None]

    def deletes(self, uid: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.calls("DELETE")
                if uid is None or r.path.rstrip("/").endswith("/live_inputs/" + uid)]

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def last_created(self) -> dict:
        with self.lock:
            assert self.created, "fake Cloudflare never created a live input"
            return self.created[-1]

    def input_for_whep(self, whep_url: str) -> dict:
        with self.lock:
            for inp in self.created:
                if inp["webRTCPlayback"]["url"] == whep_url:
                    return inp
        raise AssertionError(f"no live input has WHEP URL {whep_url}")

    def drop(self, uid: str) -> None:
        """Forget an input (as if deleted out of band): later GET/DELETE answer 404."""
        with self.lock:
            self.inputs.pop(uid, None)

    @staticmethod
    def secrets_of(inp: dict) -> dict[str, str]:
        whip_path = urllib.parse.urlsplit(inp["webRTC"]["url"]).path
        return {
            "whip_secret": whip_path.strip("/").split("/")[0],
            "rtmps_key": inp["rtmps"]["streamKey"],
            "rtmps_playback_key": inp["rtmpsPlayback"]["streamKey"],
            "srt_passphrase": inp["srt"]["passphrase"],
            "srt_playback_passphrase": inp["srtPlayback"]["passphrase"],
        }

    # -- behaviour ------------------------------------------------------------------

    def _fixture(self, name: str) -> bytes:
        return (self.fixtures / name).read_bytes()

    def _json(self, status: int, payload: bytes, extra: dict | None = None):
        headers = {"Content-Type": "application/json"}
        headers.update(extra or {})
        return status, headers, payload

    def _auth_error(self, rec: RecordedRequest):
        auth = rec.headers.get("authorization")
        email, key = rec.headers.get("x-auth-email"), rec.headers.get("x-auth-key")
        if auth is not None:
            if auth != f"Bearer {self.token}":
                return self._json(403, self._fixture("error.invalid-token.403.json"))
            return None
        if email is not None or key is not None:
            if email != self.email or key != self.legacy_key:
                return self._json(403, self._fixture("error.invalid-token.403.json"))
            return None
        return self._json(400, self._fixture("error.missing-auth.400.json"))

    def seed(self, meta: dict, age_s: float = 0.0) -> dict:
        """An input made outside liveroom's API calls (by hand, by another deployment, or left by a
        failed rollback), `age_s` seconds old."""
        inp = self._new_input({"meta": meta})
        created = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=age_s)
        inp["created"] = inp["modified"] = created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self.lock:
            self.inputs[inp["uid"]] = inp
        return inp

    def age(self, uid: str, age_s: float) -> None:
        created = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=age_s)
        with self.lock:
            self.inputs[uid]["created"] = created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _new_input(self, body: Any) -> dict:
        tmpl = copy.deepcopy(self._create_tmpl["result"])
        uid = secrets.token_hex(16)

        def secret() -> str:
            return secrets.token_hex(16) + "k" + uid

        host = urllib.parse.urlsplit(tmpl["webRTC"]["url"]).netloc  # customer-<CODE>...
        tmpl["uid"] = uid
        tmpl["rtmps"]["streamKey"] = secret()
        tmpl["rtmpsPlayback"]["streamKey"] = secret()
        tmpl["srt"]["streamId"] = uid
        tmpl["srt"]["passphrase"] = secret()
        tmpl["srtPlayback"]["streamId"] = "play" + uid
        tmpl["srtPlayback"]["passphrase"] = secret()
        tmpl["webRTC"]["url"] = f"https://{host}/{secret()}/webRTC/publish"
        tmpl["webRTCPlayback"]["url"] = f"https://{host}/{uid}/webRTC/play"
        now = _utcnow_cf()
        tmpl["created"] = tmpl["modified"] = now
        body = body if isinstance(body, dict) else {}
        tmpl["meta"] = body.get("meta") if isinstance(body.get("meta"), dict) else {}
        rec = dict(tmpl["recording"])
        rec["mode"] = "off"
        if isinstance(body.get("recording"), dict):
            rec.update(body["recording"])
        tmpl["recording"] = rec
        if "deleteRecordingAfterDays" in body:
            tmpl["deleteRecordingAfterDays"] = body["deleteRecordingAfterDays"]
        else:
            tmpl.pop("deleteRecordingAfterDays", None)
        return tmpl

    def respond(self, rec: RecordedRequest):
        m = self.LIVE_INPUTS_RE.match(rec.path)
        if not m:
            return self._json(404, self._fixture("error.not-found.404.json"))
        err = self._auth_error(rec)
        if err:
            return err
        account, uid = m.group(1), m.group(2)
        if account != self.account:
            return self._json(403, self._fixture("error.no-permission.403.json"))
        envelope = lambda result: json.dumps(  # noqa: E731
            {"result": result, "success": True, "errors": [], "messages": []},
            ensure_ascii=False).encode("utf-8")

        if uid is None and rec.method == "POST":
            f = self.create_failure
            if f == "429":
                return self._json(429, self._fixture("error.rate-limited.429.json"),
                                  {"retry-after": self.retry_after})
            if f == "403":
                return self._json(403, self._fixture("error.invalid-token.403.json"))
            if f == "403-permission":
                return self._json(403, self._fixture("error.no-permission.403.json"))
            if f == "500":
                return self._json(500, json.dumps({"success": False, "errors": [
                    {"code": 10002, "message": "Internal server error"}],
                    "messages": [], "result": None}).encode())
            if f == "hang":  # a reply that never comes (until the test ends)
                self.release.wait(120)
                return self._json(504, b'{"success": false, "errors": [], "messages": [], "result": null}')
            if f == "deep":
                depth = 200_000
                return 200, {"Content-Type": "application/json"}, \
                    b'{"success": true, "errors": [], "messages": [], "result": ' + \
                    b"[" * depth + b"]" * depth + b"}"
            if f == "html":
                return 502, {"Content-Type": "text/html"}, \
                    b"<html><body><h1>502 Bad Gateway</h1>cloudflare</body></html>"
            if self.create_delay:
                time.sleep(self.create_delay)
            inp = self._new_input(rec.json)
            with self.lock:
                self.inputs[inp["uid"]] = inp
                self.created.append(inp)
            return self._json(200, envelope(inp))
        if uid is None and rec.method == "GET":
            with self.lock:
                items = [{k: i[k] for k in ("uid", "created", "modified", "meta", "enabled")}
                         for i in self.inputs.values()]
            return self._json(200, envelope({"liveInputs": items, "range": len(items), "total": len(items)}))
        if uid is not None and rec.method == "GET":
            with self.lock:
                inp = self.inputs.get(uid)
            if inp is None:
                return self._json(404, self._fixture("error.not-found.404.json"))
            return self._json(200, envelope(inp))
        if uid is not None and rec.method == "DELETE":
            f = self.delete_failure
            if f == "500":
                return self._json(500, json.dumps({"success": False, "errors": [
                    {"code": 10002, "message": "Internal server error"}],
                    "messages": [], "result": None}).encode())
            if f == "403":
                return self._json(403, self._fixture("error.invalid-token.403.json"))
            if self.delete_delay:
                time.sleep(self.delete_delay)
            with self.lock:
                inp = self.inputs.pop(uid, None)
            if inp is None:
                return self._json(404, self._fixture("error.not-found.404.json"))
            return 200, {}, b""
        return self._json(405, json.dumps({"success": False, "errors": [
            {"code": 10405, "message": "Method not allowed"}], "messages": [], "result": None}).encode())


# --------------------------------------------------------------------------------------
# liveroom server process
# --------------------------------------------------------------------------------------

def pin_webrtc_ip(argv: list[str], env: dict[str, str] | None = None) -> list[str]:
    """`argv` of a `liveroom serve` plus `--webrtc-ip 127.0.0.1`, unless it (or `env`, as
    LIVEROOM_WEBRTC_IP) already names the addresses the media server advertises. Tests talk
    only to loopback: without it the server offers every interface address of the machine as
    an ICE candidate, and a client would send media there."""
    if "--help" in argv or "-h" in argv:
        return list(argv)
    out = list(argv)
    named = any(a == "--webrtc-ip" or a.startswith("--webrtc-ip=") for a in argv)
    if not named and "LIVEROOM_WEBRTC_IP" not in (env or {}):
        out += ["--webrtc-ip", "127.0.0.1"]
    # Every test client is 127.0.0.1: the per-address create limit (10 a minute by default) would
    # count a whole test file as one user. Tests of that limit name the flag themselves.
    if not any(a.startswith("--creates-per-minute") for a in argv) and "LIVEROOM_CREATES_PER_MINUTE" not in (env or {}):
        out += ["--creates-per-minute", "0"]
    return out


@functools.lru_cache(maxsize=None)
def _serve_help(binary: str) -> str:
    try:
        return subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def drop_unknown_defaults(binary: Path, argv: list[str], given: list[str]) -> list[str]:
    """`argv` without the harness's own default flags that `binary` does not know (an older
    liveroom measured for "before" figures); flags the test gave itself are kept."""
    help_text = _serve_help(str(binary))
    out: list[str] = []
    i = 0
    while i < len(argv):
        flag = argv[i]
        if flag in ("--creates-per-minute", "--media-workers") and flag not in given and help_text and \
                flag not in help_text:
            i += 2
            continue
        out.append(flag)
        i += 1
    return out


def child_env(extra: dict[str, str] | None) -> dict[str, str]:
    # ETH_* too (ETH_RPC_URL, ETH_PRIVATE_KEY, ...): a key exported in the developer's shell
    # must not reach a server under test or change which chain it talks to.
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("CLOUDFLARE_") or k.startswith("LIVEROOM_") or k.startswith("ETH_"))}
    env.update(extra or {})
    return env


class ServerStartError(AssertionError):
    pass


class LiveroomServer:
    def __init__(self, *, args: list[str], env: dict[str, str], data_dir: Path, log_path: Path,
                 port: int | None = None, pass_listen: bool = True, pass_data_dir: bool = True,
                 binary: Path | None = None, wrapper: list[str] | None = None):
        self.binary = binary or ACTIVE_BIN
        self.wrapper = list(wrapper or [])  # e.g. ["prlimit", "--nofile=256:256", "--"]
        self.extra_args = list(args)
        self.env = child_env(env)
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = port or free_port()
        self.pass_listen = pass_listen
        self.pass_data_dir = pass_data_dir
        self.proc: subprocess.Popen | None = None
        self._log_file = None
        data_dir.mkdir(parents=True, exist_ok=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [*self.wrapper, str(self.binary), "serve"]
        if self.pass_listen:
            cmd += ["--listen", f"127.0.0.1:{self.port}"]
        if self.pass_data_dir:
            cmd += ["--data-dir", str(self.data_dir)]
        # The embedded media server's UDP port: any free one, so servers never collide
        # (with each other, or with a `scripts/run` on 8189), unless the test picks one.
        if "--webrtc-port" not in self.extra_args and "LIVEROOM_WEBRTC_PORT" not in self.env:
            cmd += ["--webrtc-port", "0"]
        # One media worker (one UDP port, which the answers' candidates name) unless the test asks
        # for more: these tests check the HTTP and SDP contract; several workers are tested in
        # test_webrtc_http (test_media_workers_*), the unit tests and the browser tests.
        if "--media-workers" not in self.extra_args and "LIVEROOM_MEDIA_WORKERS" not in self.env:
            cmd += ["--media-workers", "1"]
        return drop_unknown_defaults(self.binary, pin_webrtc_ip(cmd + self.extra_args, self.env), self.extra_args)

    def start(self, wait: bool = True, timeout: float = 15.0) -> "LiveroomServer":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._log_file = open(self.log_path, "ab")
        # (the command line is not written here: it may hold secrets the log is checked for)
        self._log_file.write(b"\n===== liveroom serve starting\n")
        self._log_file.flush()
        self.proc = subprocess.Popen(self.command(), env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT,
                                     cwd=str(self.data_dir), start_new_session=True)
        if wait:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(
                    f"liveroom exited with {self.proc.returncode} before /healthz answered; "
                    f"command: {self.command()}\n--- log ---\n{self.log_text()[-6000:]}")
            try:
                r = call(self.port, "GET", "/healthz", timeout=1.0)
                if r.status == 200:
                    return
                last = f"status {r.status}"
            except (OSError, AssertionError) as e:
                last = repr(e)
            time.sleep(0.03)
        self.kill()
        raise ServerStartError(f"/healthz not 200 within {timeout}s (last: {last}); "
                               f"command: {self.command()}\n--- log ---\n{self.log_text()[-6000:]}")

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def restart(self, wait: bool = True) -> "LiveroomServer":
        self.stop()
        return self.start(wait=wait)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    # -- HTTP -----------------------------------------------------------------------

    def call(self, method: str, path: str, **kw) -> Reply:
        return call(self.port, method, path, **kw)

    def get(self, path: str, **kw) -> Reply:
        return call(self.port, "GET", path, **kw)

    def post(self, path: str, obj: Any = None, **kw) -> Reply:
        if obj is not None:
            kw["json_body"] = obj
        return call(self.port, "POST", path, **kw)

    def create(self, title: str = "Lớp học online", host: str = "user_123", mode: str | None = None,
               **kw) -> dict:
        body = {"title": title, "host": host}
        if mode is not None:
            body["mode"] = mode
        r = self.post("/api/livestream/create", body, **kw)
        assert r.status == 201, f"create failed: {r.describe()}"
        return r.json()

    def join(self, room_id: str) -> Reply:
        return self.get("/api/livestream/join?room_id=" + urllib.parse.quote(room_id, safe=""))

    def room(self, room_id: str) -> Reply:
        return self.get("/api/livestream/rooms/" + urllib.parse.quote(room_id, safe=""))

    def end(self, room_id: str, token: str | None) -> Reply:
        return self.post("/api/livestream/end", {"room_id": room_id}, token=token)

    def update(self, room_id: str, title: Any, token: str | None) -> Reply:
        return self.post("/api/livestream/update", {"room_id": room_id, "title": title}, token=token)

    def ingest(self, room_id: str, token: str | None) -> Reply:
        return self.get(f"/api/livestream/rooms/{urllib.parse.quote(room_id, safe='')}/ingest", token=token)

    def list_rooms(self, **params) -> Reply:
        q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return self.get("/api/livestream/rooms" + (f"?{q}" if q else ""))

    def all_rooms(self, limit: int = 100, **params) -> list[dict]:
        """Every room by following next_cursor (bounded)."""
        rooms, cursor = [], None
        for _ in range(1000):
            r = self.list_rooms(limit=limit, cursor=cursor, **params)
            assert r.status == 200, r.describe()
            doc = r.json()
            rooms += doc["rooms"]
            cursor = doc.get("next_cursor")
            if not cursor:
                return rooms
        raise AssertionError("rooms paging does not terminate")


def run_cli(args: list[str], env: dict[str, str] | None = None, timeout: float = 45.0,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Runs `liveroom *args`; a `serve` gets --webrtc-ip 127.0.0.1 unless it names one."""
    if args[:1] == ["serve"]:
        args = pin_webrtc_ip(args, env)
    return subprocess.run([str(ACTIVE_BIN), *args], env=child_env(env), cwd=cwd,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


# --------------------------------------------------------------------------------------
# FerretDB process + minimal MongoDB wire client
# --------------------------------------------------------------------------------------

class FerretDB:
    """A FerretDB (SQLite backend) owned by one test, so the test can kill and restart it."""

    def __init__(self, workdir: Path, binary: Path = FERRETDB_BIN, port: int | None = None):
        self.binary = binary
        self.workdir = workdir
        self.data_dir = workdir / "sqlite"
        self.state_dir = workdir / "state"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log_path = workdir / "ferretdb.log"
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [str(self.binary), "--handler=sqlite", f"--sqlite-url=file:{self.data_dir}/",
                f"--listen-addr=127.0.0.1:{self.port}", "--telemetry=disable",
                "--log-level=warn", f"--state-dir={self.state_dir}", "--debug-addr=-"]

    def start(self, timeout: float = 20.0) -> "FerretDB":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, cwd=str(self.workdir),
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"ferretdb exited {self.proc.returncode}: "
                                     f"{self.log_path.read_text('utf-8', 'replace')[-3000:]}")
            try:
                MongoWire("127.0.0.1", self.port, timeout=1.0).command("admin", {"ping": 1})
                return self
            except (OSError, AssertionError):
                time.sleep(0.05)
        self.kill()
        raise AssertionError(f"ferretdb did not answer ping within {timeout}s: "
                             f"{self.log_path.read_text('utf-8', 'replace')[-3000:]}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def uri(self, db: str) -> str:
        return f"mongodb://127.0.0.1:{self.port}/{db}"


def _bson_encode(doc: dict) -> bytes:
    out = b""
    for k, v in doc.items():
        key = k.encode() + b"\x00"
        if isinstance(v, bool):
            out += b"\x08" + key + (b"\x01" if v else b"\x00")
        elif isinstance(v, int):
            if -2**31 <= v < 2**31:
                out += b"\x10" + key + struct.pack("<i", v)
            else:
                out += b"\x12" + key + struct.pack("<q", v)
        elif isinstance(v, float):
            out += b"\x01" + key + struct.pack("<d", v)
        elif isinstance(v, str):
            s = v.encode() + b"\x00"
            out += b"\x02" + key + struct.pack("<i", len(s)) + s
        elif v is None:
            out += b"\x0a" + key
        elif isinstance(v, dict):
            out += b"\x03" + key + _bson_encode(v)
        elif isinstance(v, (list, tuple)):
            out += b"\x04" + key + _bson_encode({str(i): x for i, x in enumerate(v)})
        else:
            raise TypeError(type(v))
    return struct.pack("<i", len(out) + 5) + out + b"\x00"


@dataclass
class BsonDate:
    millis: int


def _bson_decode(data: bytes, pos: int = 0, as_list: bool = False):
    (length,) = struct.unpack_from("<i", data, pos)
    end = pos + length - 1
    pos += 4
    out: dict = {}
    while pos < end:
        t = data[pos]
        pos += 1
        z = data.index(b"\x00", pos)
        key = data[pos:z].decode()
        pos = z + 1
        if t == 0x01:
            (v,) = struct.unpack_from("<d", data, pos); pos += 8
        elif t in (0x02, 0x0D, 0x0E):
            (n,) = struct.unpack_from("<i", data, pos)
            v = data[pos + 4:pos + 4 + n - 1].decode("utf-8", "replace"); pos += 4 + n
        elif t in (0x03, 0x04):
            (n,) = struct.unpack_from("<i", data, pos)
            v = _bson_decode(data, pos, as_list=(t == 0x04)); pos += n
        elif t == 0x05:
            (n,) = struct.unpack_from("<i", data, pos)
            v = bytes(data[pos + 5:pos + 5 + n]); pos += 5 + n
        elif t == 0x07:
            v = data[pos:pos + 12].hex(); pos += 12
        elif t == 0x08:
            v = data[pos] != 0; pos += 1
        elif t == 0x09:
            (ms,) = struct.unpack_from("<q", data, pos); v = BsonDate(ms); pos += 8
        elif t in (0x0A, 0x06, 0xFF, 0x7F):
            v = None
        elif t == 0x10:
            (v,) = struct.unpack_from("<i", data, pos); pos += 4
        elif t in (0x11, 0x12):
            (v,) = struct.unpack_from("<q", data, pos); pos += 8
        elif t == 0x13:
            v = data[pos:pos + 16]; pos += 16
        elif t == 0x0B:
            z1 = data.index(b"\x00", pos); z2 = data.index(b"\x00", z1 + 1)
            v = (data[pos:z1].decode(), data[z1 + 1:z2].decode()); pos = z2 + 1
        else:
            raise ValueError(f"unsupported BSON type {t:#x}")
        out[key] = v
    return list(out.values()) if as_list else out


def require_mongo(what: str):
    """Skips the test for want of MongoDB (FerretDB), or fails it under LIVEROOM_REQUIRE_MONGODB=1
    (scripts/test), so a missing store can never pass for a tested one."""
    import pytest
    if os.environ.get("LIVEROOM_REQUIRE_MONGODB") == "1":
        pytest.fail(f"{what} (LIVEROOM_REQUIRE_MONGODB=1)")
    pytest.skip(what)


class MongoWire:
    """Just enough of the MongoDB wire protocol (OP_MSG) to run commands."""

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.host, self.port, self.timeout = host, port, timeout
        self._req = 0

    @classmethod
    def from_uri(cls, uri: str) -> "MongoWire | None":
        u = urllib.parse.urlsplit(uri)
        if u.scheme != "mongodb" or "," in u.netloc or "@" in u.netloc:
            return None
        return cls(u.hostname or "127.0.0.1", u.port or 27017)

    def command(self, db: str, cmd: dict) -> dict:
        cmd = dict(cmd)
        cmd["$db"] = db
        body = struct.pack("<I", 0) + b"\x00" + _bson_encode(cmd)
        self._req += 1
        msg = struct.pack("<iiii", 16 + len(body), self._req, 0, 2013) + body
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as s:
            s.sendall(msg)
            hdr = self._recv(s, 16)
            (length, _, _, opcode) = struct.unpack("<iiii", hdr)
            payload = self._recv(s, length - 16)
        assert opcode == 2013, f"unexpected opcode {opcode}"
        assert payload[4] == 0, "unexpected OP_MSG section kind"
        reply = _bson_decode(payload, 5)
        assert reply.get("ok") in (1, 1.0), f"mongo command {cmd} failed: {reply}"
        return reply

    @staticmethod
    def _recv(s: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("mongo connection closed")
            buf += chunk
        return buf

    def find(self, db: str, coll: str, flt: dict | None = None) -> list[dict]:
        r = self.command(db, {"find": coll, "filter": flt or {}, "batchSize": 1000})
        return r["cursor"]["firstBatch"]

    def list_indexes(self, db: str, coll: str) -> list[dict]:
        return self.command(db, {"listIndexes": coll})["cursor"]["firstBatch"]

    def drop_database(self, db: str) -> None:
        self.command(db, {"dropDatabase": 1})


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")

"""HTTPS built in (issue 10, item 3), through the real binary on 127.0.0.1: --tls-cert/--tls-key
serve the API, pages and WHIP/WHEP over HTTPS on --listen (plain HTTP there is redirected),
--tls-self-signed makes (and keeps) a certificate for the listen/public names, and every bad
setting exits 2 naming the flag, without echoing key material.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import stat
import subprocess
from pathlib import Path

import pytest

from liveroom_harness import FIXTURES_DIR, LiveroomServer, run_cli

CHROMIUM_WHIP = (FIXTURES_DIR / "sdp" / "chromium156-whip-offer-nontrickle-nowait.sdp").read_bytes()


def make_cert(dir: Path, name: str = "127.0.0.1", days: int = 30) -> tuple[Path, Path]:
    cert, key = dir / f"{name}.crt", dir / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", str(days), "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=IP:{name}"], check=True, capture_output=True)
    return cert, key


def https(srv: LiveroomServer, ca: Path, method: str, path: str, body: bytes | None = None,
          headers: dict | None = None) -> tuple[int, dict, bytes]:
    ctx = ssl.create_default_context(cafile=str(ca))
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def tls_server(tmp_path: Path, *args: str) -> LiveroomServer:
    srv = LiveroomServer(args=list(args), env={}, data_dir=tmp_path / "data", log_path=tmp_path / "liveroom.log")
    srv.start(wait=False)
    return srv


def wait_tls_healthy(srv: LiveroomServer, ca: Path) -> None:
    import time
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert srv.proc.poll() is None, srv.log_text()[-3000:]
        try:
            if https(srv, ca, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError("HTTPS /healthz never answered:\n" + srv.log_text()[-3000:])


def test_https_serves_api_pages_and_whip(tmp_path):
    cert, key = make_cert(tmp_path)
    srv = tls_server(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        wait_tls_healthy(srv, cert)
        status, _, body = https(srv, cert, "POST", "/api/livestream/create",
                                b'{"title": "L\xe1\xbb\x9bp h\xe1\xbb\x8dc online", "host": "C\xc3\xb4 Lan"}',
                                {"Content-Type": "application/json"})
        assert status == 201, body
        import json
        room = json.loads(body)
        assert room["watch_url"] == f"https://127.0.0.1:{srv.port}/watch/{room['room_id']}"
        assert room["whip_url"].startswith(f"https://127.0.0.1:{srv.port}/")
        status, headers, _ = https(srv, cert, "GET", f"/watch/{room['room_id']}")
        assert status == 200 and headers["content-type"].startswith("text/html")
        publish = "/" + room["whip_url"].split("://", 1)[1].split("/", 1)[1]
        status, headers, answer = https(srv, cert, "POST", publish, CHROMIUM_WHIP, {"Content-Type": "application/sdp"})
        assert status == 201, answer
        assert headers["location"].startswith(f"https://127.0.0.1:{srv.port}/webRTC/sessions/")
        # Plain HTTP on the same port: the same URL over https, method kept (308).
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        conn.request("GET", f"/watch/{room['room_id']}?x=1")
        r = conn.getresponse()
        assert r.status == 308
        assert r.getheader("Location") == f"https://127.0.0.1:{srv.port}/watch/{room['room_id']}?x=1"
        conn.close()
        # Garbage instead of a TLS hello: closed, the server keeps serving.
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(b"\x16\x03\x01\x00\x05hello-not-tls" * 3)
            try:
                s.recv(100)
            except OSError:
                pass
        assert https(srv, cert, "GET", "/healthz")[0] == 200
    finally:
        srv.stop()


def test_self_signed_certificate_covers_the_listen_and_public_names_and_is_kept(tmp_path):
    srv = tls_server(tmp_path, "--tls-self-signed", "--public-url", "https://lop.local:8443")
    cert = tmp_path / "data" / "tls-self-signed.crt"
    try:
        import time
        deadline = time.monotonic() + 15
        while not cert.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        wait_tls_healthy(srv, cert)  # verifies the chain and that 127.0.0.1 is in its names
        text = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-ext", "subjectAltName"],
                              capture_output=True, text=True, check=True).stdout
        for name in ("DNS:localhost", "IP Address:127.0.0.1", "DNS:lop.local"):
            assert name in text, text
        key = tmp_path / "data" / "tls-self-signed.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        before = cert.read_bytes()
    finally:
        srv.stop()
    srv.start(wait=False)  # the same names: the same certificate (a browser's exception still holds)
    try:
        wait_tls_healthy(srv, cert)
        assert cert.read_bytes() == before
    finally:
        srv.stop()


@pytest.mark.parametrize("case", ["cert-only", "key-only", "missing-cert", "not-pem", "mismatch", "both-kinds"])
def test_bad_tls_settings_exit_2_naming_the_flag(tmp_path, case):
    cert, key = make_cert(tmp_path)
    other_cert, other_key = make_cert(tmp_path, "127.0.0.2")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    args, flag = {
        "cert-only": (["--tls-cert", str(cert)], "--tls-key"),
        "key-only": (["--tls-key", str(key)], "--tls-cert"),
        "missing-cert": (["--tls-cert", str(tmp_path / "nope.crt"), "--tls-key", str(key)], "--tls-cert"),
        "not-pem": (["--tls-cert", str(garbage), "--tls-key", str(key)], "--tls-cert"),
        "mismatch": (["--tls-cert", str(cert), "--tls-key", str(other_key)], "--tls-key"),
        "both-kinds": (["--tls-self-signed", "--tls-cert", str(cert), "--tls-key", str(key)], "--tls-self-signed"),
    }[case]
    r = run_cli(["serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"), "--webrtc-port", "0", *args])
    err = r.stderr.decode()
    assert r.returncode == 2, (r.returncode, err)
    assert flag in err, err
    key_text = other_key.read_text() + key.read_text()
    for line in key_text.splitlines():
        if line and not line.startswith("-----"):
            assert line not in err and line not in r.stdout.decode()

"""HTTP transport details: keep-alive across requests on one connection (spread over
the server's threads), HEAD answered with headers only, pipelined requests."""

import http.client
import re
import socket
import time


def test_head_has_no_body_and_keeps_the_connection_usable(server):
    srv = server()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("HEAD", "/healthz")
    r = conn.getresponse()
    assert r.status == 200
    assert int(r.getheader("Content-Length")) > 0
    assert r.read() == b""
    conn.request("GET", "/healthz")  # same connection: stray body bytes would corrupt this
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b'{"status":"ok"}'
    conn.close()


def test_pipelined_requests_are_answered_in_order(server):
    srv = server()
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /api/livestream/rooms?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)  # a body runs straight into the next status line
    assert statuses == [b"200", b"200", b"404"], data


def test_many_keep_alive_connections_each_serve_several_requests(server):
    srv = server()
    conns = [http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10) for _ in range(8)]
    for _ in range(3):
        for c in conns:
            c.request("GET", "/api/livestream/rooms")
            r = c.getresponse()
            assert r.status == 200
            r.read()
    for c in conns:
        c.close()

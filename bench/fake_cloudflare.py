#!/usr/bin/env python3
"""A stand-in for Cloudflare Stream's live input API, for the benchmarks only.

  bench/fake_cloudflare.py [--port N] [--port-file PATH]

Answers POST /accounts/<acct>/stream/live_inputs with the recorded create reply
(fixtures/cloudflare/live_input.create.200.json) under a fresh 32-hex uid each time,
and DELETE /accounts/<acct>/stream/live_inputs/<uid> with 200. Loopback only. The
bound port is printed on stdout (and written to --port-file) once it accepts.
Fixtures come from $LIVEROOM_FIXTURES_DIR, default <repo>/../shared/fixtures.
"""

import argparse
import json
import os
import re
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.environ.get("LIVEROOM_FIXTURES_DIR") or os.path.join(ROOT, "..", "shared", "fixtures")
CREATE_FIXTURE = os.path.join(FIXTURES, "cloudflare", "live_input.create.200.json")

INPUTS = re.compile(r"^/accounts/[^/]+/stream/live_inputs/?$")
ONE_INPUT = re.compile(r"^/accounts/[^/]+/stream/live_inputs/([0-9a-f]{32})$")


def load_template():
    with open(CREATE_FIXTURE, encoding="utf-8") as f:
        text = f.read()
    uid = json.loads(text)["result"]["uid"]
    return text, uid


TEMPLATE, TEMPLATE_UID = load_template()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the bench prints its own lines
        pass

    def _drain(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _send(self, status, body):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self._drain()
        if not INPUTS.match(self.path):
            return self._send(404, '{"success":false,"errors":[{"code":10000,"message":"not found"}],"messages":[],"result":null}')
        # The uid appears in the stream keys and URLs too: replace every occurrence.
        self._send(200, TEMPLATE.replace(TEMPLATE_UID, secrets.token_hex(16)))

    def do_DELETE(self):
        self._drain()
        if not ONE_INPUT.match(self.path):
            return self._send(404, '{"success":false,"errors":[{"code":10000,"message":"not found"}],"messages":[],"result":null}')
        self._send(200, '{"success":true,"errors":[],"messages":[],"result":null}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--port-file", help="also write the bound port here")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

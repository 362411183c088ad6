#!/usr/bin/env python3
"""What a stranger can make a liveroom binary hold: the outside probe of issue 9, as figures.

    python3 bench/exposure_probe.py                       # build/liveroom
    python3 bench/exposure_probe.py --bin /tmp/liveroom-old --label before
    python3 bench/exposure_probe.py --save                # also bench/results/exposure-<label>.txt

Runs the probes of tests/integration/exposure_probes.py against a fresh server each (loopback
only) and prints one line per figure. Flags a binary does not know (an older one) are left out,
so the same script measures before and after. The tests (tests/integration/test_exposure.py)
assert bounds on the same figures; this prints them side by side with the reference of the same
run where there is one (the file size behind the slow-reader figure, the offers sent).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from exposure_probes import (connection_flood, offer_flood, post_sdp, slow_readers, status_of,  # noqa: E402
                             trailer_flood)
from liveroom_harness import FIXTURES_DIR, FakeCloudflare, LiveroomServer  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(REPO / "build" / "liveroom"))
    ap.add_argument("--label", default="after")
    ap.add_argument("--save", action="store_true", help="write bench/results/exposure-<label>.txt")
    args = ap.parse_args()
    binary = Path(args.bin).resolve()
    help_text = subprocess.run([str(binary), "serve", "--help"], capture_output=True, text=True).stdout
    knows = lambda flag: flag in help_text  # noqa: E731

    lines: list[str] = [f"# exposure probe, {args.label}: {binary} ({datetime.date.today()}, loopback, "
                        f"{os.cpu_count()} cores)"]

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    work = Path(tempfile.mkdtemp(prefix="liveroom-exposure-"))
    count = [0]

    def start(*flags: str, wrapper: list[str] | None = None, env: dict | None = None) -> LiveroomServer:
        count[0] += 1
        srv = LiveroomServer(args=list(flags), env=env or {}, data_dir=work / f"data{count[0]}",
                             log_path=work / f"log{count[0]}.txt", binary=binary, wrapper=wrapper)
        return srv.start()

    # 1. A chunked request whose trailer never ends.
    srv = start()
    t = trailer_flood(srv.port, srv.proc.pid, max_mb=64, seconds=8)
    say(f"trailer flood: server RSS +{t.rss_growth_mb:.1f} MB for {t.sent_mb:.1f} MB sent; "
        f"reply {t.reply or '-'}; closed by server: {t.server_closed}")
    srv.kill()

    # 2. ~1,000 idle connections under a 1,024-descriptor limit.
    srv = start(wrapper=["prlimit", "--nofile=1024:1024", "--"])
    c = connection_flood(srv.port, srv.proc.pid, srv.log_path, count=1100, window=6.0)
    say(f"1,100 idle connections, nofile 1024 (default limits): server CPU {c.cpu_fraction:.2f} of a core, "
        f"{c.log_lines} log lines in the window ({srv.log_path.stat().st_size / 1e6:.1f} MB log), "
        f"/healthz from another address {c.healthz_during}, after the flood {c.healthz_after}; "
        f"connections held {c.held_by_server}")
    srv.kill()
    if knows("--max-connections"):
        srv = start("--max-connections", "100000", "--max-connections-per-ip", "100000",
                    wrapper=["prlimit", "--nofile=1024:1024", "--"])
        c = connection_flood(srv.port, srv.proc.pid, srv.log_path, count=1500, window=6.0)
        say(f"1,500 idle connections, nofile 1024, limits above it (EMFILE): server CPU {c.cpu_fraction:.2f} "
            f"of a core, {c.log_lines} log lines, /healthz during {c.healthz_during}, after {c.healthz_after}")
        srv.kill()

    # 3. Slow readers of a large file. On loopback the kernel's socket buffers take a 600 KB
    # reply whole (2,000 readers of hls.js cost the old server only ~175 MB here), so the file is
    # larger than those buffers; the reference is what one copy per reader would be.
    web = work / "web"
    (web / "vendor").mkdir(parents=True)
    (web / "index.html").write_text("<h1>lobby</h1>")
    for name, size in (("hls.js", 600 * 1024), ("big.js", 6 << 20)):
        (web / "vendor" / name).write_bytes(os.urandom(size))
    for name, size_mb, readers in (("hls.js", 0.6, 2000), ("big.js", 6, 200)):
        srv = start("--web-dir", str(web))
        s = slow_readers(srv.port, srv.proc.pid, f"/vendor/{name}", count=readers)
        say(f"{readers:,} slow readers of a {size_mb} MB file: server RSS +{s.rss_growth_mb:.0f} MB "
            f"(reference: one copy per reader = {readers * size_mb:.0f} MB); /healthz {s.healthz}")
        srv.kill()

    # 4. Anonymous WHEP offers from one address.
    srv = start()
    room = srv.create()
    play = "/" + room["playback"]["whep_url"].split("://", 1)[1].split("/", 1)[1]
    offer = (FIXTURES_DIR / "sdp" / "gst122-webrtcbin-whep-offer.sdp").read_bytes()
    o = offer_flood(srv.port, srv.proc.pid, play, offer, count=3000)
    say(f"3,000 WHEP offers from one address: answers {dict(sorted(o.statuses.items(), key=str))}; "
        f"server RSS +{o.rss_growth_mb:.0f} MB; another address then gets {o.other_address_status}")
    srv.kill()

    # 5. A Cloudflare reply nested 200,000 deep.
    cf = FakeCloudflare()
    try:
        srv = start(env=cf.env())
        cf.create_failure = "deep"
        try:
            r = srv.post("/api/livestream/create", {"title": "t", "host": "h"}, timeout=10)
            answer = r.status
        except AssertionError as e:
            answer = f"no answer ({str(e)[:60]})"
        health = status_of("127.0.0.1", srv.port)
        alive = srv.proc.poll() is None
        say(f"Cloudflare reply nested 200,000 deep: create answered {answer}; then /healthz {health}, process "
            f"{'alive' if alive else f'died (exit {srv.proc.returncode})'}")
        srv.kill()
    finally:
        cf.close()

    # 6. Files and framing.
    srv = start()
    srv.create()
    data = srv.data_dir
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in sorted(data.iterdir()) if p.is_file()}
    say(f"data dir {oct(data.stat().st_mode & 0o777)}, files {modes}")
    import socket
    for value in ("gzip", "gzip, chunked"):
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        sock.sendall(b"POST /api/livestream/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: " + value.encode() + b"\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
        sock.settimeout(3)
        try:
            reply = sock.recv(1000)
            code = re.search(rb'"code":"([a-z_]+)"', reply)
            te = reply.split(b"\r\n", 1)[0].decode("latin-1") + (f" ({code.group(1).decode()})" if code else "")
        except socket.timeout:
            te = "no reply in 3 s"
        sock.close()
        say(f"Transfer-Encoding: {value} -> {te}")
    whip = (FIXTURES_DIR / "sdp" / "chromium156-whip-offer-nontrickle-nowait.sdp").read_bytes().decode()
    two = whip.replace("\r\na=setup:", "\r\na=fingerprint:sha-1 " + ":".join(["CD"] * 20) + "\r\na=setup:", 1)
    room = srv.create()
    publish = "/" + room["whip_url"].split("://", 1)[1].split("/", 1)[1]
    say(f"WHIP offer with sha-256 + sha-1 fingerprint lines -> "
        f"{post_sdp(srv.port, publish, two.encode())}")
    srv.kill()

    if args.save:
        out = REPO / "bench" / "results" / f"exposure-{args.label}.txt"
        out.write_text("\n".join(lines) + "\n")
        print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

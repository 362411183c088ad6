#!/usr/bin/env python3
"""What a Prometheus scrape of /metrics costs liveroom (issue 13), with 0 rooms and with 10,000
rooms in its SQLite store, against two references in the same run on the same server: /healthz
(the cheapest reply) and a page of the room list (GET /api/livestream/rooms?limit=20, a store
read). Each is asked BENCH_SCRAPES times over one keep-alive connection; the figures are the
reply time (median, p99) and the server's CPU per request (from /proc/<pid>/stat).

  bench/metrics/scrape_bench.py            (LIVEROOM_BIN, BENCH_ROOMS=10000, BENCH_SCRAPES=1000)
Results: bench/results/metrics-<time>.txt and metrics-latest.txt (BENCH_SAVE=0: print only).
Loopback only; stdlib only.
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from benchlib import TICKS, cpu_seconds, create_rooms, free_port, save_results  # noqa: E402

BIN = Path(os.environ.get("LIVEROOM_BIN", REPO / "build" / "liveroom"))
ROOMS = int(os.environ.get("BENCH_ROOMS", "10000"))
SCRAPES = int(os.environ.get("BENCH_SCRAPES", "1000"))


def measure(port: int, pid: int, path: str, n: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times, size = [], 0
    for _ in range(5):  # warm the connection and the caches
        conn.request("GET", path)
        conn.getresponse().read()
    cpu0 = cpu_seconds(pid)
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        times.append(time.perf_counter() - t0)
        assert r.status == 200, (path, r.status, body[:200])
        size = len(body)
    cpu = cpu_seconds(pid) - cpu0
    conn.close()
    times.sort()
    return {"median_ms": statistics.median(times) * 1e3, "p99_ms": times[int(len(times) * 0.99) - 1] * 1e3,
            "cpu_ms": cpu / n * 1e3, "bytes": size}


def main() -> int:
    if not BIN.exists():
        print(f"no liveroom binary at {BIN} (scripts/build)", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="metrics-bench."))
    port = free_port()
    log = open(tmp / "liveroom.log", "wb")
    proc = subprocess.Popen([str(BIN), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp / "data"),
                             "--webrtc-port", "0", "--webrtc-ip", "127.0.0.1", "--creates-per-minute", "0",
                             "--log-level", "warn"], stdout=log, stderr=subprocess.STDOUT)
    lines = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        say(f"/metrics scrape cost, {time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())} (UTC)")
        say(f"liveroom: {BIN} at {rev}; SQLite store, local stream provider (2 HTTP threads)")
        say(f"machine: {os.cpu_count()} cores, {os.uname().release}; loopback; {SCRAPES} requests per figure, "
            f"one keep-alive connection")
        say()
        paths = [("/metrics", "/metrics"), ("/healthz", "/healthz (reference)"),
                 ("/api/livestream/rooms?limit=20", "room list page (reference)")]
        results = {}
        for rooms in (0, ROOMS):
            if rooms:
                t0 = time.perf_counter()
                create_rooms(port, rooms, end_every=5)
                say(f"(made {rooms} rooms, a fifth ended, through the API in {time.perf_counter() - t0:.1f} s)")
            say(f"== {rooms} rooms")
            say(f"{'request':32} {'median ms':>10} {'p99 ms':>8} {'CPU ms/req':>11} {'bytes':>8}")
            for path, name in paths:
                m = measure(port, proc.pid, path, SCRAPES)
                results[(rooms, path)] = m
                say(f"{name:32} {m['median_ms']:10.3f} {m['p99_ms']:8.3f} {m['cpu_ms']:11.3f} {m['bytes']:8d}")
            say()
        big, small = results[(ROOMS, "/metrics")], results[(0, "/metrics")]
        say("ratios (same run):")
        say(f"  /metrics with {ROOMS} rooms / with 0 rooms: time {big['median_ms'] / small['median_ms']:.2f}x, "
            f"CPU {big['cpu_ms'] / max(small['cpu_ms'], 1e-6):.2f}x")
        tick_ms = 1e3 / TICKS
        for path, name in paths[1:]:
            ref = results[(ROOMS, path)]
            # CPU is read in clock ticks: a total under 5 ticks is too coarse for a ratio.
            cpu = (f"CPU {big['cpu_ms'] / ref['cpu_ms']:.2f}x" if ref["cpu_ms"] * SCRAPES >= 5 * tick_ms
                   else f"CPU: the reference used under {5 * tick_ms:.0f} ms in {SCRAPES} requests")
            say(f"  /metrics / {name}, {ROOMS} rooms: time {big['median_ms'] / ref['median_ms']:.2f}x, {cpu}")
        scrape_cpu_s = big["cpu_ms"] / 1e3
        say(f"  a scrape every 15 s costs {scrape_cpu_s / 15 * 100:.4f} % of one core")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    save_results("metrics", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())

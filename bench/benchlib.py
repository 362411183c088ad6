"""What the Python benchmarks share: a free loopback port, a process's CPU time, and saving a
run's output under bench/results/ (<name>-<UTC time>.txt and <name>-latest.txt)."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import os
import socket
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` so far (from /proc/<pid>/stat, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def create_rooms(port: int, n: int, end_every: int = 0) -> list[str]:
    """Makes n rooms through the API from 8 connections (Vietnamese titles and hosts); with
    end_every, ends every end_every-th. Returns the room ids."""
    def some(i: int) -> list[str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ids = []
        for k in range(i, n, 8):
            body = json.dumps({"title": f"Lớp học {k}", "host": f"giáo viên {k % 50}"})
            conn.request("POST", "/api/livestream/create", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            doc = json.loads(r.read())
            assert r.status == 201, doc
            ids.append(doc["room_id"])
            if end_every and k % end_every == 0:
                conn.request("POST", "/api/livestream/end", json.dumps({"room_id": doc["room_id"]}),
                             {"Content-Type": "application/json", "Authorization": f"Bearer {doc['host_token']}"})
                r = conn.getresponse()
                r.read()
                assert r.status == 200
        conn.close()
        return ids

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return [rid for part in pool.map(some, range(8)) for rid in part]


def save_results(name: str, lines: list[str]) -> None:
    """Writes the lines to bench/results/<name>-<time>.txt and <name>-latest.txt, unless
    BENCH_SAVE=0."""
    if os.environ.get("BENCH_SAVE", "1") == "0":
        return
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    text = "\n".join(lines) + "\n"
    (out_dir / f"{name}-{stamp}.txt").write_text(text)
    (out_dir / f"{name}-latest.txt").write_text(text)
    print(f"(saved bench/results/{name}-{stamp}.txt)")

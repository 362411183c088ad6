#!/usr/bin/env python3
"""Join throughput with two liveroom instances on one store against one instance (issue 13,
"Speed"), in the same run, on SQLite (one data directory) and on MongoDB (FerretDB):

- 1,000 rooms (Cloudflare provider: the tests' local stand-in) made through the API;
- one instance: wrk -t2 -c64 of GET /api/livestream/join over those rooms, in random order;
- two instances on the same store: two wrk -t1 -c32 at once, one per instance (a load
  balancer's round robin), the same room list;
- alternated 1, 2, 1, 2 (BENCH_ROUNDS pairs), each run after a warm-up.

Figures: joins per second (summed over the instances), p99 latency (the worse instance), and
liveroom's CPU per join (all instances, from /proc/<pid>/stat), with the ratios two/one. The
join cache keeps its default TTL (2 s), so each instance also reads every room from the store
about every 2 s: the cost of several instances is one more cache per store.

  bench/instances/join_instances.py     (LIVEROOM_BIN=build-release/liveroom, else build/liveroom)
Knobs: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_ROUNDS (2), BENCH_ROOMS (1000),
BENCH_STORES ("sqlite mongodb"), BENCH_SAVE=0 to print only. Needs wrk (scripts/setup --bench)
and, for MongoDB, FerretDB (scripts/setup --test; this script re-runs itself under
scripts/with-ferretdb). Results: bench/results/instances-<time>.txt and instances-latest.txt.
Loopback only.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "bench"))

from benchlib import cpu_seconds, create_rooms, free_port, save_results  # noqa: E402
from liveroom_harness import FakeCloudflare  # noqa: E402

_release = REPO / "build-release" / "liveroom"
BIN = Path(os.environ.get("LIVEROOM_BIN", _release if _release.exists() else REPO / "build" / "liveroom"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WARMUP = int(os.environ.get("BENCH_WARMUP_SECONDS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
ROOMS = int(os.environ.get("BENCH_ROOMS", "1000"))
STORES = os.environ.get("BENCH_STORES", "sqlite mongodb").split()
CONNECTIONS = 64


class Instance:
    def __init__(self, tmp: Path, name: str, store_args: list[str], data_dir: Path, cf: FakeCloudflare):
        self.port = free_port()
        self.log = open(tmp / f"{name}.log", "wb")
        env = dict(os.environ)
        env.update(cf.env())
        env.pop("LIVEROOM_API_KEY", None)
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data_dir),
             "--webrtc-ip", "127.0.0.1", "--creates-per-minute", "0", "--log-level", "warn", *store_args],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        for _ in range(200):
            if self.proc.poll() is not None:
                raise SystemExit(f"liveroom {name} exited: {(tmp / f'{name}.log').read_text()[-2000:]}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"liveroom {name} did not get ready")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def to_ms(text: str) -> float:
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[m.group(2)]


def start_wrk(port: int, threads: int, connections: int, seconds: int, script: Path) -> subprocess.Popen:
    return subprocess.Popen(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
                             str(script), f"http://127.0.0.1:{port}/"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wrk_result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=SECONDS + WARMUP + 60)
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    requests = re.search(r"^\s+(\d+) requests in", out, re.M)
    errors = sum(int(x) for x in re.findall(r"(?:Non-2xx or 3xx responses|connect|read|write|timeout)\s*:?\s*(\d+)",
                                            " ".join(line for line in out.splitlines()
                                                     if "Socket errors" in line or "Non-2xx" in line)))
    if not rps or not p99 or not requests:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    return {"rps": float(rps.group(1)), "p99_ms": to_ms(p99.group(1)), "requests": int(requests.group(1)),
            "errors": errors}


def run(instances: list[Instance], script: Path) -> dict:
    """wrk against every instance at once (CONNECTIONS split between them), after a warm-up."""
    per = CONNECTIONS // len(instances)
    threads = 2 if len(instances) == 1 else 1
    for w in [start_wrk(i.port, threads, per, WARMUP, script) for i in instances]:
        wrk_result(w)
    cpu0 = sum(cpu_seconds(i.proc.pid) for i in instances)
    results = [wrk_result(w) for w in [start_wrk(i.port, threads, per, SECONDS, script) for i in instances]]
    cpu = sum(cpu_seconds(i.proc.pid) for i in instances) - cpu0
    requests = sum(r["requests"] for r in results)
    return {"rps": sum(r["rps"] for r in results), "p99_ms": max(r["p99_ms"] for r in results),
            "errors": sum(r["errors"] for r in results), "cpu_us": cpu / max(requests, 1) * 1e6}


def store_phase(store: str, tmp: Path, say) -> list[tuple[dict, dict]]:
    cf = FakeCloudflare()
    data = tmp / store
    try:
        if store == "sqlite":
            dirs = [data / "shared", data / "shared"]
            store_args: list[str] = []
        else:
            base = os.environ["LIVEROOM_TEST_MONGODB_URI"].rstrip("/")
            dirs = [data / "a", data / "b"]
            store_args = ["--store", "mongodb", "--mongodb-uri", f"{base}/bench_instances"]
        a = Instance(tmp, f"{store}-a", store_args, dirs[0], cf)
        b = None
        try:
            t0 = time.perf_counter()
            ids = create_rooms(a.port, ROOMS)
            say(f"== store {store}: {len(ids)} rooms made through the API in {time.perf_counter() - t0:.1f} s")
            ids_file = tmp / f"{store}-ids"
            ids_file.write_text("\n".join(ids) + "\n")
            script = tmp / f"{store}-join.lua"
            script.write_text(f"""
local ids = {{}}
for line in io.lines("{ids_file}") do ids[#ids + 1] = line end
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
request = function()
  return wrk.format("GET", "/api/livestream/join?room_id=" .. ids[math.random(#ids)])
end
""")
            b = Instance(tmp, f"{store}-b", store_args, dirs[1], cf)
            say(f"{'run':24} {'joins/s':>10} {'p99 ms':>8} {'CPU us/join':>12} {'errors':>7}")
            pairs = []
            for rnd in range(ROUNDS):
                one = run([a], script)
                two = run([a, b], script)
                for name, r in (("one instance", one), ("two instances", two)):
                    say(f"{name + f' (round {rnd + 1})':24} {r['rps']:10.0f} {r['p99_ms']:8.2f} "
                        f"{r['cpu_us']:12.1f} {r['errors']:7d}")
                pairs.append((one, two))
            return pairs
        finally:
            a.stop()
            if b is not None:
                b.stop()
    finally:
        cf.close()


def main() -> int:
    if "mongodb" in STORES and not os.environ.get("LIVEROOM_TEST_MONGODB_URI"):
        # FerretDB for the MongoDB phase: the tests' wrapper starts one and sets the URI.
        os.execv(str(REPO / "scripts" / "with-ferretdb"), [str(REPO / "scripts" / "with-ferretdb"), sys.executable,
                                                            *sys.argv])
    if not BIN.exists():
        print(f"no liveroom binary at {BIN} (scripts/build)", file=sys.stderr)
        return 1
    if not shutil.which("wrk"):
        print("wrk not found: scripts/setup --bench", file=sys.stderr)
        return 1
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    tmp = Path(tempfile.mkdtemp(prefix="instances-bench."))
    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "?")
    say(f"join throughput, two instances on one store vs one, {time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())} (UTC)")
    say(f"liveroom: {BIN} at {rev}; Cloudflare provider (the tests' local stand-in); default join cache (2 s TTL)")
    say(f"machine: {os.cpu_count()} CPUs ({cpu_model}), {os.uname().release}, load average "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}; loopback; wrk and every instance share the CPUs")
    say(f"load: {CONNECTIONS} connections in all (one instance: wrk -t2 -c{CONNECTIONS}; two: wrk -t1 "
        f"-c{CONNECTIONS // 2} per instance, at once), {SECONDS} s after a {WARMUP} s warm-up, joins of random rooms")
    say()
    summary = []
    for store in STORES:
        pairs = store_phase(store, tmp, say)
        say()
        for one, two in pairs:
            summary.append((store, two["rps"] / one["rps"], two["cpu_us"] / one["cpu_us"],
                            two["p99_ms"] / one["p99_ms"]))
    say("ratios, two instances / one (same run, each round):")
    for store, rps, cpu, p99 in summary:
        say(f"  {store:8} joins/s {rps:.2f}x   CPU per join {cpu:.2f}x   p99 {p99:.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)
    save_results("instances", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Probes of what a stranger can make a liveroom server hold, run from outside against the real
binary: each returns figures (bytes, megabytes, counts, CPU fractions), never a pass/fail. The
tests (test_exposure.py) assert bounds on them; bench/exposure_probe.py prints them for any
binary, so the same probe gives the "before" and "after" figures of issue 9.

Every probe talks to 127.0.0.0/8 only.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------
# The server process seen from /proc
# --------------------------------------------------------------------------------------

def rss_mb(pid: int) -> float:
    """Resident memory now, in MiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def soft_nofile(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no 'Max open files' line")


class CpuWindow:
    """CPU fraction (of one core) a process uses between start() and stop()."""

    def __init__(self, pid: int):
        self.pid = pid
        self.cpu0 = cpu_seconds(pid)
        self.t0 = time.monotonic()

    def fraction(self) -> float:
        return (cpu_seconds(self.pid) - self.cpu0) / max(1e-3, time.monotonic() - self.t0)


def exchange_status(port: int, request: bytes, timeout: float, source: str = "127.0.0.1",
                    host: str = "127.0.0.1") -> int | str:
    """Sends `request` on a fresh connection from `source`: the reply's status code, or a word
    saying why there was none."""
    try:
        s = socket.create_connection((host, port), timeout=timeout, source_address=(source, 0))
    except OSError as e:
        return f"connect failed ({e.__class__.__name__})"
    try:
        s.settimeout(timeout)
        s.sendall(request)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
        return int(m.group(1)) if m else "no reply"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return f"error ({e.__class__.__name__})"
    finally:
        s.close()


def status_of(host: str, port: int, path: str = "/healthz", timeout: float = 2.0,
              source: str = "127.0.0.1") -> int | str:
    """HTTP status of a GET from `source`, or a word saying why there was none."""
    return exchange_status(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
                           timeout, source, host)


# --------------------------------------------------------------------------------------
# Probes
# --------------------------------------------------------------------------------------

@dataclass
class TrailerFlood:
    sent_mb: float          # what the client managed to push (kernel buffers included)
    rss_growth_mb: float    # what the server held because of it
    reply: str              # the status line the server answered with, if any
    server_closed: bool


def trailer_flood(port: int, pid: int, max_mb: int = 64, seconds: float = 8.0) -> TrailerFlood:
    """A chunked request whose trailer section never ends (a header line after another)."""
    rss0 = rss_mb(pid)
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /api/livestream/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n")
    block = (b"X-Trailer: " + b"t" * 1000 + b"\r\n") * 64
    sent = 0
    closed = False
    deadline = time.monotonic() + seconds
    s.settimeout(1.0)
    try:
        while sent < max_mb << 20 and time.monotonic() < deadline:
            try:
                s.sendall(block)
                sent += len(block)
            except socket.timeout:
                continue  # the server stopped reading (buffers full): keep trying until the deadline
    except OSError:
        closed = True
    peak = max(rss0, rss_mb(pid))
    reply = ""
    try:
        s.settimeout(2.0)
        data = s.recv(4096)
        reply = data.split(b"\r\n", 1)[0].decode("latin-1") if data else ""
        if not data:
            closed = True
    except OSError:
        closed = True
    s.close()
    return TrailerFlood(sent / (1 << 20), peak - rss0, reply, closed)


@dataclass
class ConnectionFlood:
    opened: int                 # connections the flood opened
    held_by_server: int         # of them, still open after the window (not refused/closed)
    cpu_fraction: float         # server CPU during the window, of one core
    log_lines: int              # lines the server logged during the window
    healthz_during: int | str   # GET /healthz from another address during the flood
    healthz_after: int | str    # ... once the flood is gone
    fd_limit: int               # the server's soft RLIMIT_NOFILE


def connection_flood(port: int, pid: int, log_path: Path, count: int = 1000, window: float = 4.0,
                     recover_timeout: float = 10.0) -> ConnectionFlood:
    """`count` idle connections from 127.0.0.1, held for `window` seconds; /healthz from
    127.0.0.2 meanwhile and after."""
    log0 = log_path.stat().st_size if log_path.exists() else 0
    socks: list[socket.socket] = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        socks.append(s)
    cpu = CpuWindow(pid)
    time.sleep(window / 2)
    during = status_of("127.0.0.1", port, source="127.0.0.2")
    time.sleep(max(0.0, window / 2 - 2.0))
    fraction = cpu.fraction()
    held = 0
    for s in socks:  # still open from the server's side: no EOF waiting to be read
        try:
            data = s.recv(1, socket.MSG_PEEK)
            if data is None:
                held += 1
        except BlockingIOError:
            held += 1
        except OSError:
            pass
    with open(log_path, "rb") as f:
        f.seek(log0)
        lines = sum(1 for _ in f)
    for s in socks:
        s.close()
    after: int | str = "never"
    deadline = time.monotonic() + recover_timeout
    while time.monotonic() < deadline:
        after = status_of("127.0.0.1", port, source="127.0.0.2")
        if after == 200:
            break
        time.sleep(0.2)
    return ConnectionFlood(len(socks), held, fraction, lines, during, after, soft_nofile(pid))


@dataclass
class SlowReaders:
    connections: int
    rss_growth_mb: float
    healthz: int | str


def slow_readers(port: int, pid: int, path: str, count: int = 2000, settle: float = 4.0) -> SlowReaders:
    """`count` clients ask for the file at `path` and never read the reply (tiny receive
    windows), spread over 127.0.1.1-127.0.1.20 so no per-address limit decides the outcome."""
    rss0 = rss_mb(pid)
    socks = []
    for i in range(count):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.bind((f"127.0.1.{1 + i % 20}", 0))
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        except OSError:
            s.close()
            continue
        socks.append(s)
    time.sleep(settle)
    peak = rss_mb(pid) - rss0
    health = status_of("127.0.0.1", port, source="127.0.0.2")
    for s in socks:
        s.close()
    return SlowReaders(len(socks), peak, health)


@dataclass
class OfferFlood:
    sent: int
    statuses: dict[int | str, int] = field(default_factory=dict)
    rss_growth_mb: float = 0.0
    other_address_status: int | str = ""


def offer_flood(port: int, pid: int, play_path: str, offer: bytes, count: int = 3000, threads: int = 16,
                source: str = "127.0.0.1") -> OfferFlood:
    """`count` anonymous WHEP offers from one address, as fast as `threads` connections go."""
    rss0 = rss_mb(pid)
    result = OfferFlood(count)
    lock = threading.Lock()
    todo = iter(range(count))

    def worker():
        while True:
            with lock:
                if next(todo, None) is None:
                    return
            status = post_sdp(port, play_path, offer, source)
            with lock:
                result.statuses[status] = result.statuses.get(status, 0) + 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    result.rss_growth_mb = rss_mb(pid) - rss0
    result.other_address_status = post_sdp(port, play_path, offer, "127.0.0.9")
    return result


def post_sdp(port: int, path: str, offer: bytes, source: str = "127.0.0.1") -> int | str:
    return exchange_status(port, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\n"
                           f"Content-Length: {len(offer)}\r\nConnection: close\r\n\r\n".encode() + offer, 10, source)

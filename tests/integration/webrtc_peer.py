"""A real WebRTC peer for the integration tests, built on aiortc (a WebRTC stack from PyPI):
a WHIP publisher and a WHEP viewer that can also flood the server with NACKs.

Two halves in one file:

- The peer itself, run by the venv's python (`.cache/venv/bin/python`, made by
  `scripts/setup --test` from tests/tools/requirements-aiortc.txt), writing JSON lines on stdout:

    webrtc_peer.py publish --url WHIP_URL [--token T] [--no-delete]
        Publishes a synthetic moving VP8 picture (~30 fps; a scrolling noise texture plus a
        fresh noise square each frame, so the encoder spends its whole bitrate) until stdin
        closes or SIGTERM, then DELETEs its session (unless --no-delete). Events:
        {"event": "connected", "location": ...}, {"event": "stats", ...} every second,
        {"event": "closed"}.
    webrtc_peer.py view --url WHEP_URL [--flood --nack-rate 10 --nack-window 1.0 --nack-bytes 1200]
                        [--baseline-start T --flood-start T --flood-end T --stop T]
        Plays (events "connected", "first_frame"), counting decoded frames (placed in time by
        their media timestamps) and, below aiortc (on the UDP socket itself, so retransmissions
        count too), every RTP datagram received.
        The schedule (epoch seconds) comes from the options or, without them, as one JSON line
        on stdin {"baseline_start", "flood_start", "flood_end", "stop"}. With --flood, from
        flood_start to flood_end it sends --nack-rate RTCP Generic NACKs a second, each naming
        every sequence number of the last --nack-window seconds of video, that list repeated to
        fill --nack-bytes (like the probe of issue 9: a 1.2 KB NACK naming the whole
        retransmission buffer); during the flood its RTP is counted and dropped (never
        decoded), so the flooder's own CPU does not limit what it can count. At `stop`:
        {"event": "result", ...}: frames and RTP packets/bytes in the baseline window
        [baseline_start, flood_start) and the flood window [flood_start, flood_end), NACKs sent
        and what they named, the socket's kernel drop counter over the flood window.

  Loopback only: candidates are gathered on 127.0.0.1 alone (aioice would take every interface
  address but loopback), no STUN server is configured (aiortc's default is a public one), and
  the server's answer may carry only 127.x candidates.

- The harness side, imported by pytest on any python (standard library only at module level):
  `peer_python()`, `PeerProcess`, `Publisher`, `Viewer`. A missing venv is an error that says
  how to make it, never a skip.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VENV_PYTHON = Path(os.environ.get("LIVEROOM_PEER_PYTHON", str(REPO / ".cache" / "venv" / "bin" / "python")))

# ======================================================================================
# Harness side (pytest): start peers as child processes of the venv's python
# ======================================================================================

_checked_python: Path | None = None


def peer_python() -> Path:
    """The venv python that has aiortc; AssertionError with the fix when it is missing."""
    global _checked_python
    if _checked_python is not None:
        return _checked_python
    hint = ("the WebRTC peer tests need aiortc in .cache/venv: run `scripts/setup --test` "
            "(or set LIVEROOM_PEER_PYTHON to a python that has aiortc)")
    if not VENV_PYTHON.exists():
        raise AssertionError(f"{VENV_PYTHON} not found; {hint}")
    r = subprocess.run([str(VENV_PYTHON), "-c", "import aiortc, aioice, av"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"{VENV_PYTHON} cannot import aiortc ({r.stderr.strip()[-500:]}); {hint}")
    _checked_python = VENV_PYTHON
    return VENV_PYTHON


class PeerProcess:
    """One peer child process; its JSON lines are collected by a reader thread."""

    def __init__(self, args: list[str], log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [str(peer_python()), str(Path(__file__).resolve()), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            start_new_session=True)
        self.events: list[dict] = []
        self._queue: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            self.events.append(ev)
            self._queue.put(ev)
        self._queue.put(None)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_event(self, name: str, timeout: float) -> dict:
        """The next event called `name` (earlier ones of other names are skipped)."""
        for ev in self.events:
            if ev.get("event") == name and not ev.get("_taken"):
                ev["_taken"] = True
                return ev
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"peer {self.proc.args[2:4]} sent no {name!r} event within "
                                     f"{timeout}s; stderr:\n{self.log_text()[-3000:]}")
            try:
                ev = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if ev is None:
                self.proc.wait(5)
                raise AssertionError(f"peer {self.proc.args[2:4]} exited ({self.proc.returncode}) "
                                     f"before a {name!r} event; events {self.events[-5:]}; "
                                     f"stderr:\n{self.log_text()[-3000:]}")
            if ev.get("event") == name and not ev.get("_taken"):
                ev["_taken"] = True
                return ev
            if ev.get("event") == "error":
                raise AssertionError(f"peer {self.proc.args[2:4]} failed: {ev.get('message')}; "
                                     f"stderr:\n{self.log_text()[-3000:]}")

    def stop(self, timeout: float = 10.0) -> int | None:
        """Close stdin (the peer's signal to leave), wait, kill if it does not."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        if not self._log.closed:
            self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if not self._log.closed:
            self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Publisher(PeerProcess):
    """A WHIP publisher that stays connected until stop() (or the server goes away)."""

    def __init__(self, url: str, log_path: Path, token: str | None = None, *extra: str):
        args = ["publish", "--url", url, *extra]
        if token:
            args += ["--token", token]
        super().__init__(args, log_path)

    def wait_connected(self, timeout: float = 20.0) -> dict:
        return self.wait_event("connected", timeout)


class Viewer(PeerProcess):
    """A WHEP viewer; `flood=True` makes it the flooder. It plays from the start and measures
    on the schedule given later by `schedule()` (epoch seconds), so the windows can start once
    every viewer is seen playing."""

    def __init__(self, url: str, log_path: Path, *, flood: bool = False, nack_rate: float = 10.0,
                 nack_window: float = 1.0, nack_bytes: int = 1200):
        args = ["view", "--url", url, "--nack-rate", repr(nack_rate),
                "--nack-window", repr(nack_window), "--nack-bytes", str(nack_bytes)]
        if flood:
            args.append("--flood")
        super().__init__(args, log_path)

    def schedule(self, *, baseline_start: float, flood_start: float, flood_end: float, stop: float) -> None:
        line = json.dumps({"baseline_start": baseline_start, "flood_start": flood_start,
                           "flood_end": flood_end, "stop": stop}) + "\n"
        self.proc.stdin.write(line.encode())
        self.proc.stdin.flush()

    def result(self, timeout: float) -> dict:
        return self.wait_event("result", timeout)


# ======================================================================================
# Peer side (the venv's python with aiortc)
# ======================================================================================

def _emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, "t": time.time(), **fields}) + "\n")
    sys.stdout.flush()


def _loopback_only() -> None:
    """Gather host candidates on 127.0.0.1 only and never ask a STUN server."""
    import aioice.ice
    from aiortc.rtcicetransport import RTCIceGatherer

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    RTCIceGatherer.getDefaultIceServers = classmethod(lambda cls: [])


def _check_candidates(sdp: str, who: str) -> None:
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            addr = line.split()[4]
            if not addr.startswith("127."):
                raise RuntimeError(f"{who} has a non-loopback candidate: {line}")


def _http(method: str, url: str, body: str | None = None, token: str | None = None,
          timeout: float = 10.0) -> tuple[int, dict[str, str], str]:
    import urllib.error
    import urllib.request

    host = urllib.parse.urlsplit(url).hostname or ""
    if not host.startswith("127.") and host != "localhost":
        raise RuntimeError(f"refusing to talk to a non-loopback host: {url}")
    headers = {"Content-Type": "application/sdp"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body.encode() if body is not None else None,
                                 headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode("utf-8", "replace")


async def _negotiate(pc, url: str, token: str | None) -> str:
    """Offer (candidates gathered), POST it, apply the answer; returns the session URL."""
    await pc.setLocalDescription(await pc.createOffer())
    return await _post_offer(pc, url, token)


async def _post_offer(pc, url: str, token: str | None) -> str:
    """POST the local description (already set) and apply the answer; the session URL."""
    import asyncio

    from aiortc import RTCSessionDescription

    # Only the sha-256 fingerprint (aiortc also lists sha-384 and sha-512), as browsers send:
    # servers before issue 9's fix refused any other algorithm.
    offer = "".join(line for line in pc.localDescription.sdp.splitlines(keepends=True)
                    if not line.startswith("a=fingerprint:") or line.startswith("a=fingerprint:sha-256 "))
    _check_candidates(offer, "our offer")
    loop = asyncio.get_running_loop()
    status, headers, body = await loop.run_in_executor(None, lambda: _http("POST", url, offer, token))
    if status != 201:
        raise RuntimeError(f"POST {url} -> {status}: {body[:500]}")
    _check_candidates(body, "the server's answer")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    return urllib.parse.urljoin(url, headers.get("location", ""))


async def _wait_connected(pc, timeout: float = 20.0) -> None:
    import asyncio

    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed"):
            raise RuntimeError(f"connection {pc.connectionState}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not connected within {timeout}s (state {pc.connectionState})")
        await asyncio.sleep(0.02)


class _Control:
    """What the harness tells a peer: `stop` is set when stdin closes or SIGTERM/SIGINT
    arrives; each JSON line on stdin is a command (a viewer's schedule) put on `commands`."""

    def __init__(self, loop):
        import asyncio

        self.loop = loop
        self.stop = asyncio.Event()
        self.commands: asyncio.Queue = asyncio.Queue()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        threading.Thread(target=self._watch_stdin, daemon=True).start()

    def _watch_stdin(self) -> None:
        pending = b""
        try:  # the raw fd: a BufferedReader's lock held here would abort the interpreter's exit
            while chunk := os.read(0, 4096):
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    try:
                        cmd = json.loads(line)
                    except ValueError:
                        continue
                    self.loop.call_soon_threadsafe(self.commands.put_nowait, cmd)
        except OSError:
            pass
        self.loop.call_soon_threadsafe(self.stop.set)

    async def sleep_until(self, t: float) -> bool:
        """False when told to stop first."""
        import asyncio

        while time.time() < t:
            if self.stop.is_set():
                return False
            try:
                await asyncio.wait_for(self.stop.wait(), min(0.2, max(0.0, t - time.time())))
            except asyncio.TimeoutError:
                pass
        return not self.stop.is_set()

    async def next_command(self) -> dict | None:
        """The next command line, or None when told to stop first."""
        import asyncio

        get = asyncio.ensure_future(self.commands.get())
        stop = asyncio.ensure_future(self.stop.wait())
        await asyncio.wait({get, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if get.done():
            return get.result()
        get.cancel()
        return None


def _moving_pattern_track(width: int, height: int):
    import random

    import av
    from aiortc import VideoStreamTrack

    class MovingPattern(VideoStreamTrack):
        """~30 fps (aiortc's VideoStreamTrack clock): a noise texture scrolling down two rows a
        frame plus a 96x96 square of fresh noise moving across it, so every frame has new
        detail and the encoder spends the bitrate it is given."""

        def __init__(self):
            super().__init__()
            self.rng = random.Random(9)
            self.texture = self.rng.randbytes(width * height * 2)
            self.chroma = bytes([128]) * ((width // 2) * (height // 2))
            self.n = 0

        async def recv(self):
            pts, time_base = await self.next_timestamp()
            w, h, n = width, height, self.n
            self.n += 1
            top = (2 * n) % h
            y = bytearray(self.texture[top * w:(top + h) * w])
            side = 96
            x0 = (8 * n) % (w - side)
            y0 = (h - side) // 2
            fresh = self.rng.randbytes(side * side)
            for r in range(side):
                o = (y0 + r) * w + x0
                y[o:o + side] = fresh[r * side:(r + 1) * side]
            frame = av.VideoFrame(w, h, "yuv420p")
            frame.planes[0].update(bytes(y))
            frame.planes[1].update(self.chroma)
            frame.planes[2].update(self.chroma)
            frame.pts, frame.time_base = pts, time_base
            return frame

    return MovingPattern()


async def publish_main(args) -> int:
    import asyncio

    from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender

    loop = asyncio.get_running_loop()
    stop = _Control(loop).stop
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    track = _moving_pattern_track(args.width, args.height)
    transceiver = pc.addTransceiver(track, direction="sendonly")
    caps = RTCRtpSender.getCapabilities("video")
    transceiver.setCodecPreferences([c for c in caps.codecs if c.mimeType in ("video/VP8", "video/rtx")])
    location = ""
    try:
        location = await _negotiate(pc, args.url, args.token)
        await _wait_connected(pc)
        _emit("connected", location=location)
        sender = transceiver.sender
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
            stats = await sender.getStats()
            out = [s for s in stats.values() if getattr(s, "type", "") == "outbound-rtp"]
            _emit("stats", state=pc.connectionState, frames=track.n,
                  packets_sent=out[0].packetsSent if out else None,
                  bytes_sent=out[0].bytesSent if out else None)
    except Exception as e:  # noqa: BLE001 - reported to the harness
        _emit("error", message=f"{type(e).__name__}: {e}")
        await pc.close()
        return 1
    if location and not args.no_delete:
        try:
            await loop.run_in_executor(None, lambda: _http("DELETE", location, None, args.token, 2.0))
        except Exception:  # noqa: BLE001 - the server may be gone (that is what some tests do)
            pass
    await pc.close()
    _emit("closed")
    return 0


class _RtpCounter:
    """Reads the peer's UDP socket in a thread instead of asyncio: counts every RTP datagram
    (10 ms bins of packets and bytes, highest sequence number per SSRC) and hands everything
    else, and RTP unless `drop_rtp`, to aioice as asyncio would have. A thread because
    asyncio reads one datagram per loop turn, far below what an amplified NACK flood sends."""

    def __init__(self, loop, protocol):
        import socket

        self.loop = loop
        self.protocol = protocol
        self.sock = protocol.transport._sock  # the real socket (get_extra_info wraps it)
        for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if opt is None:
                continue
            try:  # room for a burst (SO_RCVBUFFORCE works as root), drops are counted anyway
                self.sock.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
                break
            except OSError:
                continue
        self.inode = os.fstat(self.sock.fileno()).st_ino
        self.bins: dict[int, list[int]] = {}
        self.ssrc_packets: dict[int, int] = {}
        self.max_seq: dict[int, int] = {}  # unwrapped
        self.drop_rtp = False
        self._stop = False
        # (remove_reader refuses an fd a transport owns; _remove_reader is what transports use)
        loop._remove_reader(self.sock.fileno())
        self.thread = threading.Thread(target=self._run, name="rtp-counter", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import select

        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        buf = bytearray(2048)
        view = memoryview(buf)
        bins = self.bins
        while not self._stop:
            if not poller.poll(100):
                continue
            while True:
                try:
                    n, addr = self.sock.recvfrom_into(buf)
                except BlockingIOError:
                    break
                except OSError:
                    return
                b0 = buf[0]
                if 128 <= b0 < 192 and n >= 12 and not 192 <= buf[1] <= 223:  # RTP (RFC 5761)
                    k = int(time.time() * 100)
                    b = bins.get(k)
                    if b is None:
                        b = bins[k] = [0, 0]
                    b[0] += 1
                    b[1] += n
                    ssrc = int.from_bytes(view[8:12], "big")
                    seq = (buf[2] << 8) | buf[3]
                    self.ssrc_packets[ssrc] = self.ssrc_packets.get(ssrc, 0) + 1
                    last = self.max_seq.get(ssrc)
                    if last is None:
                        self.max_seq[ssrc] = seq
                    else:
                        delta = (seq - last) & 0xFFFF
                        if 0 < delta < 0x8000:
                            self.max_seq[ssrc] = last + delta
                    if self.drop_rtp:
                        continue
                try:
                    self.loop.call_soon_threadsafe(self.protocol.datagram_received, bytes(view[:n]), addr)
                except RuntimeError:  # the loop is closed
                    return

    def stop(self) -> None:
        self._stop = True
        self.thread.join(2)

    def kernel_drops(self) -> int | None:
        """The socket's drop counter (datagrams the kernel discarded: receive buffer full)."""
        try:
            with open("/proc/net/udp") as f:
                for line in f.readlines()[1:]:
                    parts = line.split()
                    if len(parts) >= 13 and parts[9] == str(self.inode):
                        return int(parts[12])
        except OSError:
            pass
        return None

    def window(self, start: float, end: float) -> tuple[int, int]:
        """(packets, bytes) received in [start, end), to the 10 ms bin (a bin counts in the
        window its end falls in, so a burst answering a NACK sent at `start` counts in it)."""
        lo, hi = math.floor(start * 100), math.floor(end * 100)
        p = b = 0
        for k, (pk, by) in list(self.bins.items()):
            if lo <= k < hi:
                p += pk
                b += by
        return p, b

    def media_ssrc(self) -> int | None:
        counts = dict(self.ssrc_packets)
        return max(counts, key=counts.get) if counts else None


def _nack_packet(sender_ssrc: int, media_ssrc: int, first: int, count: int, max_bytes: int) -> tuple[bytes, int]:
    """A Generic NACK (RFC 4585: PT 205, FMT 1) naming the `count` sequence numbers from
    `first`, that list of FCIs repeated to fill `max_bytes` (at least once); returns the packet
    and how many sequence numbers it names, repeats included."""
    import struct

    fcis = []
    seq, left = first, count
    while left > 0:
        n = min(17, left)  # PID + 16 bits of BLP
        fcis.append((seq & 0xFFFF, (1 << (n - 1)) - 1))
        seq += n
        left -= n
    room = max(len(fcis), (max_bytes - 12) // 4)
    chosen = (fcis * (room // len(fcis) + 1))[:room]
    named = sum(1 + bin(blp).count("1") for _, blp in chosen)
    body = b"".join(struct.pack("!HH", pid, blp) for pid, blp in chosen)
    header = struct.pack("!BBH", 0x80 | 1, 205, 2 + len(chosen))  # length in words minus one
    return header + struct.pack("!II", sender_ssrc, media_ssrc) + body, named


async def view_main(args) -> int:
    import asyncio

    from aiortc import RTCConfiguration, RTCPeerConnection
    from aiortc.mediastreams import MediaStreamError

    loop = asyncio.get_running_loop()
    control = _Control(loop)
    stop = control.stop
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    transceiver = pc.addTransceiver("video", direction="recvonly")
    decoded: list[tuple[float, int]] = []  # (wall clock when decoded, pts in 1/90000 s)
    tasks = []

    async def count_frames(track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            decoded.append((time.time(), frame.pts or 0))
            if len(decoded) == 1:
                _emit("first_frame")

    def media_times() -> list[float]:
        """Each decoded frame's place on the wall clock by its media timestamp (anchored on the
        frame decoded soonest after its time), so a frame counts in the window it belongs to
        however late this process got to decode it: the frame rate is a figure of what was
        delivered and decodable, not of how busy this machine was."""
        if not decoded:
            return []
        offset = min(w - pts / 90000 for w, pts in decoded)
        return [offset + pts / 90000 for _, pts in decoded]

    @pc.on("track")
    def on_track(track):
        if track.kind == "video":
            tasks.append(asyncio.ensure_future(count_frames(track)))

    counter: _RtpCounter | None = None
    nacks: list[dict] = []
    drops = {}
    try:
        await pc.setLocalDescription(await pc.createOffer())
        # The gathered socket exists now: count from the first datagram on.
        protocols = transceiver.receiver.transport.transport.iceGatherer._connection._protocols
        if len(protocols) != 1:
            raise RuntimeError(f"expected one local socket, got {len(protocols)}")
        counter = _RtpCounter(loop, protocols[0])
        location = await _post_offer(pc, args.url, None)
        await _wait_connected(pc)
        _emit("connected", location=location)

        if args.flood_start is None:  # the schedule comes on stdin, once the harness sees frames
            cmd = await control.next_command()
            if cmd is None:
                raise RuntimeError("told to stop before a schedule came")
            for k in ("baseline_start", "flood_start", "flood_end", "stop"):
                setattr(args, k, float(cmd[k]))
            _emit("scheduled")
        sleep_until = control.sleep_until

        if args.flood and await sleep_until(args.flood_start):
            receiver = transceiver.receiver
            sender_ssrc = receiver._RTCRtpReceiver__rtcp_ssrc
            media_ssrc = counter.media_ssrc()
            if media_ssrc is None:
                raise RuntimeError("no RTP received before the flood")
            base_p, _ = counter.window(args.baseline_start, args.flood_start)
            media_pps = base_p / max(0.1, args.flood_start - args.baseline_start)
            window = max(17, int(round(media_pps * args.nack_window)))
            counter.drop_rtp = True
            drops["flood_start"] = counter.kernel_drops()
            interval = 1.0 / args.nack_rate
            next_at = time.time()
            while time.time() < args.flood_end and not stop.is_set():
                hi = counter.max_seq[media_ssrc]
                raw, named = _nack_packet(sender_ssrc, media_ssrc, hi - window + 1, window, args.nack_bytes)
                await receiver._send_rtcp(raw)
                nacks.append({"t": time.time(), "named": named, "unique": window, "bytes": len(raw)})
                next_at += interval
                delay = next_at - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await sleep_until(args.flood_end)
            drops["flood_end"] = counter.kernel_drops()
        await sleep_until(args.stop)
        if not args.flood:  # frames of the windows still in the decoder (a busy machine) come first
            deadline = time.time() + 3.0
            while time.time() < deadline and not stop.is_set() and \
                    (not decoded or max(media_times()) < args.flood_end):
                await asyncio.sleep(0.05)
    except Exception as e:  # noqa: BLE001 - reported to the harness
        _emit("error", message=f"{type(e).__name__}: {e}")
        if counter:
            counter.stop()
        await pc.close()
        return 1

    frames = media_times()
    walls = [w for w, _ in decoded]

    def fps(start, end, times=frames):
        return sum(1 for t in times if start <= t < end) / max(1e-9, end - start)

    base_p, base_b = counter.window(args.baseline_start, args.flood_start)
    flood_p, flood_b = counter.window(args.flood_start, args.flood_end)
    base_dur = args.flood_start - args.baseline_start
    flood_dur = args.flood_end - args.flood_start
    result = {
        "baseline": {"seconds": base_dur, "fps": fps(args.baseline_start, args.flood_start),
                     "fps_decoded_when": fps(args.baseline_start, args.flood_start, walls),
                     "rtp_packets": base_p, "rtp_bytes": base_b},
        "flood": {"seconds": flood_dur, "fps": fps(args.flood_start, args.flood_end),
                  "fps_decoded_when": fps(args.flood_start, args.flood_end, walls),
                  "rtp_packets": flood_p, "rtp_bytes": flood_b},
        "frames_total": len(frames),
        "first_frame_at": walls[0] if walls else None,
        "flooded": bool(args.flood),
        "nacks_sent": len(nacks),
        "first_nack_at": nacks[0]["t"] if nacks else None,
        "flood_start": args.flood_start,
        "nack_bytes": nacks[0]["bytes"] if nacks else 0,
        "named_per_nack": (sum(n["named"] for n in nacks) / len(nacks)) if nacks else 0,
        "unique_per_nack": (sum(n["unique"] for n in nacks) / len(nacks)) if nacks else 0,
        "per_second": [[round(t, 1), *counter.window(t, t + 1), sum(1 for f in frames if t <= f < t + 1)]
                       for t in _frange(args.baseline_start, args.flood_end)],
        "kernel_drops_total": counter.kernel_drops(),
        "kernel_drops_during_flood": (drops["flood_end"] - drops["flood_start"])
        if drops.get("flood_end") is not None and drops.get("flood_start") is not None else None,
    }
    counter.stop()
    _emit("result", **result)
    for t in tasks:
        t.cancel()
    await pc.close()
    return 0


def _frange(start: float, end: float) -> list[float]:
    out, t = [], start
    while t + 1 <= end + 1e-6:
        out.append(t)
        t += 1
    return out


def main(argv: list[str] | None = None) -> int:
    import asyncio
    import logging

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("publish")
    p.add_argument("--url", required=True)
    p.add_argument("--token")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--no-delete", action="store_true", help="leave without DELETEing the session")
    v = sub.add_parser("view")
    v.add_argument("--url", required=True)
    # The schedule, epoch seconds; without it, a JSON line on stdin gives it (the same names).
    v.add_argument("--baseline-start", type=float)
    v.add_argument("--flood-start", type=float)
    v.add_argument("--flood-end", type=float)
    v.add_argument("--stop", type=float)
    v.add_argument("--flood", action="store_true")
    v.add_argument("--nack-rate", type=float, default=10.0, help="NACKs a second during the flood")
    v.add_argument("--nack-window", type=float, default=1.0,
                   help="seconds of video (at the measured packet rate) each NACK names")
    v.add_argument("--nack-bytes", type=int, default=1200, help="size each NACK is filled to")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    _loopback_only()
    return asyncio.run(publish_main(args) if args.cmd == "publish" else view_main(args))


if __name__ == "__main__":
    sys.exit(main())

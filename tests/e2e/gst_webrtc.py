#!/usr/bin/python3
"""A non-browser WebRTC client for liveroom's end-to-end tests: GStreamer's webrtcbin.

Run it with Debian's /usr/bin/python3 (the `python3` on PATH may be another CPython, e.g. a
pyenv one, that cannot import Debian's python3-gi). Packages: scripts/setup --test.

  gst_webrtc.py publish --url WHIP_URL [--token T] --codec vp8|h264 --seconds N
      videotestsrc + audiotestsrc -> VP8 or H.264, Opus -> webrtcbin; a sendonly offer with every
      ICE candidate in it (no trickle), POST application/sdp, apply the 201 answer, send for N
      seconds, DELETE the Location. Prints one JSON object: HTTP statuses, ICE/DTLS state, RTP
      counters (outbound-rtp packets/bytes, per kind), the candidate addresses of the offer and
      of the answer ("offer_candidates", "answer_candidates"; play too).
  gst_webrtc.py play --url WHEP_URL [--token T] [--codec any|vp8|h264] --seconds N [--frames K]
      recvonly video + audio transceivers, same POST flow, decodes; stops after N seconds or once
      K video frames were decoded. Prints JSON: {"frames", "width", "height", "video_codec",
      "audio_buffers", "first_frame_ms" (from the POST to the first decoded frame), ...}.
  gst_webrtc.py offer --role whip|whep [--codec ...]
      prints the offer publish/play would POST (to compare with captured offers), no network.
  gst_webrtc.py selftest [--codec vp8|h264|all] [--seconds N]
      no server: a publisher webrtcbin and a player webrtcbin in this process, connected both
      ways (publisher offers like WHIP; player offers like WHEP), descriptions exchanged
      directly, each with its candidates (no trickle); then the publish and play commands
      themselves against a WHIP/WHEP-shaped HTTP endpoint on 127.0.0.1 answered by an
      in-process webrtcbin. Checks decoded frames (and 201 + DELETE 200) in every case.

Options worth knowing: --local-ip (default 127.0.0.1: the only address ICE gathers candidates on,
so this client sends and receives on loopback only; libnice would otherwise take every interface
address except loopback; `all` restores that; repeatable), --bundle-policy (max-bundle, the
default and what GStreamer WHIP clients send, offers the second m-section as port 0 +
a=bundle-only; max-compat gives it a port),
--h264-encoder x264enc|openh264enc, --profile-level-id (both encoders write constrained baseline
as 42c01e; browsers say 42e01f), --no-delete, --no-audio.

Progress goes to stderr; `play` writes "first video frame decoded (WxH)", "N video frames decoded"
(every 30) and "first audio buffer decoded" as they happen (lib/gst.mjs waitForLog), so a test
can act while the player still runs.

SIGTERM ends a publish/play run early the normal way (stats, DELETE, JSON); SIGKILL is a client
that vanished. Exit status: 0 when the run did what it is for (201 + packets sent; 201 + frames
decoded; selftest: every case), 1 otherwise, 2 on bad usage. The JSON is printed either way.

What the real server expects: WHIP offers sendonly, WHEP offers recvonly; it answers as ICE-lite
with host candidates in the answer, no trickle; it follows the offer's codec order, so this
client offers only the wanted video codec (publish) or the wanted ones first (play).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstWebRTC", "1.0")
    gi.require_version("GstSdp", "1.0")
    from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402
except (ImportError, ValueError) as e:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"gst_webrtc.py: cannot import GStreamer's Python bindings ({e}); run it with Debian's "
        f"/usr/bin/python3 (this is {sys.executable}) after scripts/setup --test\n")
    sys.exit(2)

Gst.init(None)

VIDEO_PT = {"vp8": 96, "h264": 102}
AUDIO_PT = 111
# RTP header extensions this client offers (in the RTP caps as extmap-<id>): the BUNDLE mid,
# which browsers always send; the payloaders write it (auto-header-extension).
EXTMAP = ",extmap-1=(string)urn:ietf:params:rtp-hdrext:sdes:mid"
# H.264 profiles a player offers (all packetization-mode=1): constrained baseline written both
# ways browsers and encoders write it (42e0 / 42c0), baseline, main. GStreamer decodes them all.
PLAYER_H264_PROFILES = ["42e01f", "42c01f", "42001f", "4d001f"]

DIRECTION = GstWebRTC.WebRTCRTPTransceiverDirection

# The addresses every webrtcbin's ICE agent gathers host candidates on (--local-ip). Tests talk
# only over loopback: libnice on its own takes every interface address but loopback (IPv4 and
# IPv6, link-local included), which would put the machine's network addresses in the offer and
# send STUN and media from them; inside a namespace with only `lo` it would gather nothing.
# Empty: libnice's own choice (--local-ip all).
LOCAL_IPS: list[str] = ["127.0.0.1"]


class Failure(Exception):
    pass


def log(msg: str) -> None:
    sys.stderr.write(f"[gst_webrtc {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def have(factory: str) -> bool:
    return Gst.ElementFactory.find(factory) is not None


def pick_h264_encoder(wanted: str) -> str:
    if wanted != "auto":
        if not have(wanted):
            raise Failure(f"GStreamer element {wanted} is not installed")
        return wanted
    for name in ("x264enc", "openh264enc"):
        if have(name):
            return name
    raise Failure("no H.264 encoder: install gstreamer1.0-plugins-ugly (x264enc) or gstreamer1.0-plugins-bad (openh264enc)")


def video_branch(codec: str, encoder: str, width: int, height: int, fps: int, kbps: int,
                 profile_level_id: str | None) -> str:
    src = (f"videotestsrc is-live=true pattern=ball ! video/x-raw,width={width},height={height},framerate={fps}/1 "
           f"! videoconvert ! queue max-size-buffers=2 leaky=downstream")
    pt = VIDEO_PT[codec]
    if codec == "vp8":
        enc = (f"vp8enc deadline=1 cpu-used=8 target-bitrate={kbps * 1000} keyframe-max-dist={fps * 2} "
               f"error-resilient=partitions end-usage=cbr ! rtpvp8pay pt={pt} picture-id-mode=15-bit mtu=1200")
        caps = f"application/x-rtp,media=video,encoding-name=VP8,payload={pt},clock-rate=90000{EXTMAP}"
    else:
        if encoder == "x264enc":
            enc = (f"x264enc tune=zerolatency speed-preset=ultrafast bitrate={kbps} key-int-max={fps * 2} "
                   f"! video/x-h264,profile=constrained-baseline")
        elif encoder == "openh264enc":
            enc = (f"openh264enc bitrate={kbps * 1000} gop-size={fps * 2} rate-control=bitrate "
                   f"! video/x-h264,profile=constrained-baseline")
        else:
            enc = encoder
        enc += f" ! h264parse ! rtph264pay pt={pt} config-interval=-1 aggregate-mode=zero-latency mtu=1200"
        if profile_level_id:
            # Announce another profile-level-id than the encoder's SPS gives (x264enc and
            # openh264enc both write constrained baseline as 42c0xx; browsers write 42e0xx).
            enc += f" ! capssetter caps=\"application/x-rtp,profile-level-id=(string){profile_level_id}\""
        caps = (f"application/x-rtp,media=video,encoding-name=H264,payload={pt},clock-rate=90000,"
                f"packetization-mode=(string)1{EXTMAP}")
    return f"{src} ! {enc} ! queue ! {caps} ! webrtc."


def audio_branch() -> str:
    return ("audiotestsrc is-live=true wave=sine freq=440 volume=0.2 ! audioconvert ! audioresample "
            f"! audio/x-raw,rate=48000,channels=2 ! queue ! opusenc bitrate=32000 ! rtpopuspay pt={AUDIO_PT} mtu=1200 ! queue "
            f"! application/x-rtp,media=audio,encoding-name=OPUS,payload={AUDIO_PT},clock-rate=48000{EXTMAP} ! webrtc.")


def player_video_caps(codec: str) -> Gst.Caps:
    parts = []
    vp8 = f"application/x-rtp,media=video,encoding-name=VP8,payload={VIDEO_PT['vp8']},clock-rate=90000{EXTMAP}"
    h264 = [f"application/x-rtp,media=video,encoding-name=H264,payload={VIDEO_PT['h264'] + i},clock-rate=90000,"
            f"packetization-mode=(string)1,profile-level-id=(string){p}{EXTMAP}"
            for i, p in enumerate(PLAYER_H264_PROFILES)]
    if codec == "vp8":
        parts = [vp8]
    elif codec == "h264":
        parts = h264
    else:
        parts = [vp8] + h264
    return Gst.Caps.from_string(";".join(parts))


def player_audio_caps() -> Gst.Caps:
    return Gst.Caps.from_string(
        f"application/x-rtp,media=audio,encoding-name=OPUS,payload={AUDIO_PT},clock-rate=48000,"
        f"encoding-params=(string)2{EXTMAP}")


# --------------------------------------------------------------------------------------------
# SDP text helpers
# --------------------------------------------------------------------------------------------

def sdp_sections(sdp: str) -> list[str]:
    """Session part + one chunk per m-section, lines joined with CRLF."""
    lines = [ln for ln in re.split(r"\r?\n", sdp) if ln]
    chunks: list[list[str]] = [[]]
    for ln in lines:
        if ln.startswith("m="):
            chunks.append([])
        chunks[-1].append(ln)
    return ["\r\n".join(c) for c in chunks]


def add_candidates(sdp: str, candidates: dict[int, list[str]]) -> str:
    """Puts the gathered candidates (per m-line index) into m-sections that have none, plus
    a=end-of-candidates: a complete, non-trickle description."""
    chunks = sdp_sections(sdp)
    out = [chunks[0]]
    for i, chunk in enumerate(chunks[1:]):
        lines = chunk.split("\r\n")
        if not any(ln.startswith("a=candidate:") for ln in lines):
            lines += [f"a={c}" if not c.startswith("a=") else c for c in candidates.get(i, [])]
        if not any(ln == "a=end-of-candidates" for ln in lines):
            lines.append("a=end-of-candidates")
        out.append("\r\n".join(lines))
    return "\r\n".join(out) + "\r\n"


def candidate_addresses(sdp: str) -> list[str]:
    """The connection addresses of an SDP's a=candidate lines, in order, without repeats."""
    out: list[str] = []
    for ln in sdp.replace("\r\n", "\n").split("\n"):
        f = ln.split()
        if ln.startswith("a=candidate:") and len(f) > 5 and f[4] not in out:
            out.append(f[4])
    return out


def video_codec_of(sdp: str) -> str | None:
    """The first payload type's codec name of the first (not rejected) video m-section."""
    for chunk in sdp_sections(sdp)[1:]:
        lines = chunk.split("\r\n")
        m = lines[0].split()
        if not m[0] == "m=video" or m[1] == "0" or len(m) < 4:
            continue
        pt = m[3]
        for ln in lines:
            if ln.startswith(f"a=rtpmap:{pt} "):
                return ln.split(" ", 1)[1].split("/")[0]
    return None


def fmtp_of_first_video(sdp: str) -> str | None:
    for chunk in sdp_sections(sdp)[1:]:
        lines = chunk.split("\r\n")
        m = lines[0].split()
        if m[0] != "m=video" or m[1] == "0" or len(m) < 4:
            continue
        for ln in lines:
            if ln.startswith(f"a=fmtp:{m[3]} "):
                return ln.split(" ", 1)[1]
    return None


# --------------------------------------------------------------------------------------------
# One webrtcbin peer
# --------------------------------------------------------------------------------------------

class Peer:
    """A pipeline with one webrtcbin. Role "publisher" (test sources linked in) or "player"
    (decodes what arrives; `offerer` adds recvonly transceivers itself)."""

    def __init__(self, name: str, role: str, codec: str, *, h264_encoder: str = "auto", width: int = 640,
                 height: int = 360, fps: int = 30, kbps: int = 800, audio: bool = True,
                 profile_level_id: str | None = None, offerer: bool = True, latency_ms: int = 100,
                 bundle_policy: str = "max-bundle"):
        self.name = name
        self.role = role
        self.codec = codec
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.candidates: dict[int, list[str]] = {}
        self.gathered = threading.Event()
        self.frames = 0
        self.width = 0
        self.height = 0
        self.first_frame_at: float | None = None
        self.audio_buffers = 0
        self.encoder = None
        self.video_decoder = None

        if role == "publisher":
            self.encoder = pick_h264_encoder(h264_encoder) if codec == "h264" else "vp8enc"
            desc = (f"webrtcbin name=webrtc bundle-policy={bundle_policy} latency={latency_ms} "
                    + video_branch(codec, self.encoder, width, height, fps, kbps, profile_level_id)
                    + (" " + audio_branch() if audio else ""))
            self.pipeline = Gst.parse_launch(desc)
            self.webrtc = self.pipeline.get_by_name("webrtc")
        else:
            self.pipeline = Gst.Pipeline.new(name)
            self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
            Gst.util_set_object_arg(self.webrtc, "bundle-policy", bundle_policy)
            self.webrtc.set_property("latency", latency_ms)
            self.pipeline.add(self.webrtc)
        self.pipeline.set_name(name)
        self.ice = self.webrtc.get_property("ice-agent")
        # With webrtcbin 1.22 the wrapper holds the agent's only reference (__grefcount__ 1 while
        # webrtcbin still uses it; the agent seems to stay floating until PyGObject sinks it):
        # without one more reference the agent is freed under webrtcbin when the wrapper goes
        # (seen: GLib criticals, then webrtcbin working on a freed agent).
        if self.ice.__grefcount__ < 2:
            self.ice._ref()
        # libnice looks for a UPnP router to map its ports: SSDP M-SEARCH multicasts to
        # 239.255.255.250:1900 from every address it gathers on, i.e. onto the LAN outside a
        # namespace. A test client has no business there.
        if self.ice.find_property("agent") is not None:
            self.ice.get_property("agent").set_property("upnp", False)
        for ip in LOCAL_IPS:
            if not self.ice.emit("add-local-ip-address", ip):
                raise Failure(f"{name}: webrtcbin's ICE agent refused local address {ip}")
        self.webrtc.connect("on-ice-candidate", self._on_ice_candidate)
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering)
        self.webrtc.connect("pad-added", self._on_webrtc_pad)

        if role == "player" and offerer:
            video = self.webrtc.emit("add-transceiver", DIRECTION.RECVONLY, player_video_caps(codec))
            video.set_property("do-nack", True)
            if audio:
                self.webrtc.emit("add-transceiver", DIRECTION.RECVONLY, player_audio_caps())

        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self._on_error)
        bus.connect("message::warning", self._on_warning)

    # -- pipeline ---------------------------------------------------------------------------

    def transceivers(self) -> list:
        out = []
        i = 0
        while True:
            t = self.webrtc.emit("get-transceiver", i)
            if t is None:
                return out
            out.append(t)
            i += 1

    def start(self) -> None:
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise Failure(f"{self.name}: pipeline does not start")
        if self.role == "publisher":
            # The offer's fmtp (e.g. H.264 profile-level-id) comes from the caps on webrtcbin's
            # sink pads: wait for them so the offer says what will really be sent.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                pads = [p for p in self.webrtc.sinkpads]
                if pads and all(p.get_current_caps() is not None for p in pads):
                    break
                self.check_errors()
                time.sleep(0.02)
            else:
                raise Failure(f"{self.name}: no caps on webrtcbin's sink pads after 20 s")
            for pad in self.webrtc.sinkpads:
                t = pad.get_property("transceiver")
                t.set_property("direction", DIRECTION.SENDONLY)
                # NACK (+ RTX) on video, like a browser publisher.
                if pad.get_current_caps().get_structure(0).get_value("media") == "video":
                    t.set_property("do-nack", True)

    def stop(self) -> None:
        self.pipeline.set_state(Gst.State.NULL)

    def _on_error(self, _bus, msg) -> None:
        err, dbg = msg.parse_error()
        with self.lock:
            self.errors.append(f"{msg.src.get_name()}: {err.message} ({dbg})")

    def _on_warning(self, _bus, msg) -> None:
        w, dbg = msg.parse_warning()
        log(f"{self.name}: warning from {msg.src.get_name()}: {w.message}")

    def check_errors(self) -> None:
        with self.lock:
            if self.errors:
                raise Failure(f"{self.name}: {self.errors[0]}")

    # -- ICE / SDP -------------------------------------------------------------------------

    def _on_ice_candidate(self, _webrtc, mline: int, candidate: str) -> None:
        if candidate:
            with self.lock:
                self.candidates.setdefault(mline, []).append(candidate)

    def _on_gathering(self, webrtc, _pspec) -> None:
        if webrtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.gathered.set()

    def _promise(self, signal: str, *args):
        promise = Gst.Promise.new()
        self.webrtc.emit(signal, *args, promise)
        if promise.wait() != Gst.PromiseResult.REPLIED:
            raise Failure(f"{self.name}: {signal} got no reply")
        reply = promise.get_reply()
        if reply is not None and reply.has_field("error"):
            raise Failure(f"{self.name}: {signal}: {reply.get_value('error').message}")
        return reply

    def _complete_local(self, timeout: float) -> str:
        """Waits for ICE gathering (non-trickle) and returns the local description with every
        candidate in it."""
        if not self.gathered.wait(timeout):
            log(f"{self.name}: ICE gathering not complete after {timeout} s; sending what was gathered")
        desc = self.webrtc.get_property("local-description")
        return add_candidates(desc.sdp.as_text(), self.candidates)

    def create_offer(self, timeout: float = 15.0) -> str:
        reply = self._promise("create-offer", None)
        offer = reply.get_value("offer")
        self._promise("set-local-description", offer)
        return self._complete_local(timeout)

    def accept_offer(self, offer_sdp: str, timeout: float = 15.0) -> str:
        self.set_remote(offer_sdp, GstWebRTC.WebRTCSDPType.OFFER)
        reply = self._promise("create-answer", None)
        answer = reply.get_value("answer")
        self._promise("set-local-description", answer)
        return self._complete_local(timeout)

    def set_remote(self, sdp_text: str, kind) -> None:
        res, msg = GstSdp.SDPMessage.new_from_text(sdp_text)
        if res != GstSdp.SDPResult.OK:
            raise Failure(f"{self.name}: cannot parse the remote SDP ({res})")
        desc = GstWebRTC.WebRTCSessionDescription.new(kind, msg)
        self._promise("set-remote-description", desc)

    # -- received media (player) -----------------------------------------------------------

    def _guarded(self, fn, *args) -> None:
        """Runs a signal handler; an exception becomes a pipeline error (reported, not lost in a
        streaming thread)."""
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001
            with self.lock:
                self.errors.append(f"{fn.__name__}: {e!r}")

    def _on_webrtc_pad(self, webrtc, pad) -> None:
        self._guarded(self._link_received, webrtc, pad)

    def _link_received(self, _webrtc, pad) -> None:
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        decode = Gst.ElementFactory.make("decodebin")
        decode.connect("pad-added", lambda d, p: self._guarded(self._on_decoded_pad, d, p))
        self.pipeline.add(decode)
        decode.sync_state_with_parent()
        pad.link(decode.get_static_pad("sink"))

    def _on_decoded_pad(self, decodebin, pad) -> None:
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name()
        if name.startswith("video/"):
            it = decodebin.iterate_recurse()  # (Gst.Iterator is not a Python iterable without gst-python)
            while True:
                res, e = it.next()
                if res != Gst.IteratorResult.OK:
                    break
                f = e.get_factory()
                if f and "Decoder/Video" in (f.get_metadata("klass") or ""):
                    self.video_decoder = f.get_name()
            chain = ["queue", "videoconvert", "fakesink"]
        elif name.startswith("audio/"):
            chain = ["queue", "audioconvert", "fakesink"]
        else:
            return
        elems = [Gst.ElementFactory.make(n) for n in chain]
        sink = elems[-1]
        sink.set_property("sync", False)
        sink.set_property("signal-handoffs", True)
        sink.connect("handoff", self._on_video_frame if name.startswith("video/") else self._on_audio_buffer)
        for e in elems:
            self.pipeline.add(e)
        for a, b in zip(elems, elems[1:]):
            a.link(b)
        for e in elems:
            e.sync_state_with_parent()
        pad.link(elems[0].get_static_pad("sink"))

    def _on_video_frame(self, _sink, _buf, pad) -> None:
        with self.lock:
            self.frames += 1
            if self.first_frame_at is None:
                self.first_frame_at = time.monotonic()
            if not self.width:
                caps = pad.get_current_caps()
                if caps:
                    s = caps.get_structure(0)
                    self.width = s.get_value("width") or 0
                    self.height = s.get_value("height") or 0
            n = self.frames
        # Progress lines the tests can wait for while the player runs (lib/gst.mjs waitForLog).
        if n == 1:
            log(f"{self.name}: first video frame decoded ({self.width}x{self.height})")
        elif n % 30 == 0:
            log(f"{self.name}: {n} video frames decoded")

    def _on_audio_buffer(self, _sink, _buf, _pad) -> None:
        with self.lock:
            self.audio_buffers += 1
            first = self.audio_buffers == 1
        if first:
            log(f"{self.name}: first audio buffer decoded")

    # -- state ------------------------------------------------------------------------------

    def states(self) -> dict:
        def nick(v):
            return v.value_nick if hasattr(v, "value_nick") else str(v)
        return {
            "ice_connection_state": nick(self.webrtc.get_property("ice-connection-state")),
            "connection_state": nick(self.webrtc.get_property("connection-state")),
        }

    def ssrc_kinds(self) -> dict[int, str]:
        """SSRC -> "audio"/"video" from the a=ssrc lines of the local and remote descriptions."""
        kinds: dict[int, str] = {}
        for prop in ("local-description", "remote-description"):
            desc = self.webrtc.get_property(prop)
            if desc is None:
                continue
            for chunk in sdp_sections(desc.sdp.as_text())[1:]:
                kind = chunk[2:].split(" ", 1)[0]
                for m in re.finditer(r"^a=ssrc:(\d+) ", chunk, re.M):
                    kinds[int(m.group(1))] = kind
        return kinds

    def rtp_stats(self) -> dict:
        """outbound-rtp / inbound-rtp counters per kind, from webrtcbin's get-stats."""
        try:
            reply = self._promise("get-stats", None)
        except Failure as e:
            return {"error": str(e)}
        out: dict = {}
        kinds = self.ssrc_kinds()

        def visit(_field_id, value, _data=None):
            if not isinstance(value, Gst.Structure):
                return True
            t = value.get_value("type") if value.has_field("type") else None
            tname = t.value_nick if hasattr(t, "value_nick") else str(t)
            if tname not in ("outbound-rtp", "inbound-rtp", "remote-inbound-rtp"):
                return True
            # webrtcbin 1.22's own "kind" and "codec-id" are wrong with BUNDLE (every stream gets
            # the last pad's): take the kind from the SDPs' a=ssrc lines, else the clock rate.
            ssrc = value.get_value("ssrc") if value.has_field("ssrc") else None
            kind = kinds.get(ssrc)
            if kind is None and value.has_field("gst-rtpsource-stats"):
                rate = value.get_value("gst-rtpsource-stats").get_value("clock-rate")
                kind = {90000: "video", 48000: "audio"}.get(rate)
            entry = {}
            for f in ("ssrc", "packets-sent", "bytes-sent", "packets-received", "bytes-received", "packets-lost",
                      "nack-count", "pli-count", "fir-count", "jitter", "round-trip-time"):
                if value.has_field(f):
                    entry[f.replace("-", "_")] = value.get_value(f)
            out.setdefault(tname, []).append({"kind": kind, **entry})
            return True

        reply.foreach(visit, None)
        return out


# --------------------------------------------------------------------------------------------
# HTTP (WHIP / WHEP)
# --------------------------------------------------------------------------------------------

def http_request(method: str, url: str, body: bytes | None = None, headers: dict | None = None,
                 timeout: float = 30.0) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def post_offer(url: str, offer: str, token: str | None, result: dict) -> str:
    headers = {"Content-Type": "application/sdp", "Accept": "application/sdp"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    result["offer_candidates"] = candidate_addresses(offer)
    t0 = time.monotonic()
    try:
        status, hdrs, body = http_request("POST", url, offer.encode(), headers)
    except OSError as e:  # refused, reset, timeout
        raise Failure(f"POST {url}: {e}") from None
    result["post_ms"] = round((time.monotonic() - t0) * 1000, 1)
    result["status"] = status
    loc = hdrs.get("location")
    result["location"] = urllib.parse.urljoin(url, loc) if loc else None
    result["etag"] = hdrs.get("etag")
    if status != 201:
        result["body"] = body.decode("utf-8", "replace")[:2000]
        raise Failure(f"POST {url} answered {status}")
    answer = body.decode("utf-8", "replace")
    result["answer_candidates"] = candidate_addresses(answer)
    result["answer_video_codec"] = video_codec_of(answer)
    result["answer_ice_lite"] = "a=ice-lite" in answer
    return answer


def delete_session(result: dict, token: str | None) -> None:
    loc = result.get("location")
    if not loc:
        return
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        status, _, _ = http_request("DELETE", loc, None, headers, timeout=10)
        result["delete_status"] = status
    except OSError as e:
        result["delete_status"] = None
        result["delete_error"] = str(e)


# Set by SIGTERM: the current run ends early, the normal way (stats, DELETE, JSON).
STOP = threading.Event()


def run_for(peers: list[Peer], seconds: float, until=None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not STOP.is_set():
        for p in peers:
            p.check_errors()
        if until and until():
            return
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------

def cmd_publish(a) -> tuple[dict, bool]:
    result: dict = {"mode": "publish", "url": a.url, "codec": a.codec, "status": None}
    pub = Peer("publisher", "publisher", a.codec, h264_encoder=a.h264_encoder, width=a.width, height=a.height,
               fps=a.fps, kbps=a.kbps, audio=not a.no_audio, profile_level_id=a.profile_level_id,
               bundle_policy=a.bundle_policy)
    result["encoder"] = pub.encoder
    try:
        pub.start()
        offer = pub.create_offer()
        result["offer_video_fmtp"] = fmtp_of_first_video(offer)
        answer = post_offer(a.url, offer, a.token, result)
        pub.set_remote(answer, GstWebRTC.WebRTCSDPType.ANSWER)
        run_for([pub], a.seconds)
        result.update(pub.states())
        result["rtp"] = pub.rtp_stats()
    except Failure as e:
        result["error"] = str(e)
    finally:
        if not a.no_delete:
            delete_session(result, a.token)
        pub.stop()
    sent = [s for s in result.get("rtp", {}).get("outbound-rtp", []) if s.get("packets_sent")]
    result["video_packets_sent"] = sum(s.get("packets_sent", 0) for s in sent if s.get("kind") == "video")
    ok = result.get("status") == 201 and bool(sent) and "error" not in result
    return result, ok


def cmd_play(a) -> tuple[dict, bool]:
    result: dict = {"mode": "play", "url": a.url, "status": None, "frames": 0, "width": 0, "height": 0}
    player = Peer("player", "player", a.codec, audio=not a.no_audio, offerer=True, bundle_policy=a.bundle_policy)
    t_post = None
    try:
        player.start()
        offer = player.create_offer()
        t_post = time.monotonic()
        answer = post_offer(a.url, offer, a.token, result)
        result["video_codec"] = result.get("answer_video_codec")
        player.set_remote(answer, GstWebRTC.WebRTCSDPType.ANSWER)
        run_for([player], a.seconds, until=(lambda: player.frames >= a.frames) if a.frames else None)
        result.update(player.states())
        result["rtp"] = player.rtp_stats()
    except Failure as e:
        result["error"] = str(e)
    finally:
        if not a.no_delete:
            delete_session(result, a.token)
        player.stop()
    result.update(frames=player.frames, width=player.width, height=player.height, audio_buffers=player.audio_buffers,
                  video_decoder=player.video_decoder)
    result["video_packets_received"] = sum(s.get("packets_received", 0) for s in
                                           result.get("rtp", {}).get("inbound-rtp", []) if s.get("kind") == "video")
    if player.first_frame_at is not None and t_post is not None:
        result["first_frame_ms"] = round((player.first_frame_at - t_post) * 1000, 1)
    ok = result.get("status") == 201 and player.frames > 0 and "error" not in result
    return result, ok


def cmd_offer(a) -> tuple[str, bool]:
    if a.role == "whip":
        peer = Peer("publisher", "publisher", a.codec if a.codec != "any" else "vp8", h264_encoder=a.h264_encoder,
                    profile_level_id=a.profile_level_id, bundle_policy=a.bundle_policy)
    else:
        peer = Peer("player", "player", a.codec, offerer=True, bundle_policy=a.bundle_policy)
    try:
        peer.start()
        return peer.create_offer(), True
    finally:
        peer.stop()


def selftest_case(codec: str, who_offers: str, seconds: float, h264_encoder: str, bundle_policy: str) -> dict:
    """Publisher and player in this process, descriptions passed directly (non-trickle)."""
    # webrtcbin answers only with the exact fmtp it sends: when the player offers H.264 profiles
    # (42e01f, ...), announce 42e01f instead of the encoders' 42c01e (else webrtcbin 1.22 aborts
    # on an assertion, _connect_input_stream: trans->stream).
    plid = "42e01f" if codec == "h264" and who_offers == "player" else None
    pub = Peer("publisher", "publisher", codec, h264_encoder=h264_encoder, bundle_policy=bundle_policy,
               profile_level_id=plid)
    player = Peer("player", "player", codec, offerer=(who_offers == "player"), bundle_policy=bundle_policy)
    case = {"codec": codec, "offerer": who_offers, "encoder": pub.encoder}
    try:
        pub.start()
        player.start()
        if who_offers == "publisher":  # like WHIP: the publisher's sendonly offer
            offer = pub.create_offer()
            answer = player.accept_offer(offer)
            pub.set_remote(answer, GstWebRTC.WebRTCSDPType.ANSWER)
        else:  # like WHEP: the player's recvonly offer
            offer = player.create_offer()
            answer = pub.accept_offer(offer)
            player.set_remote(answer, GstWebRTC.WebRTCSDPType.ANSWER)
        case["offer_has_candidates"] = "a=candidate:" in offer
        case["answer_video_codec"] = video_codec_of(answer)
        run_for([pub, player], seconds, until=lambda: player.frames >= 30)
        case.update(player.states())
    except Failure as e:
        case["error"] = str(e)
    finally:
        pub.stop()
        player.stop()
    case.update(frames=player.frames, width=player.width, height=player.height, audio_buffers=player.audio_buffers,
                video_decoder=player.video_decoder)
    case["ok"] = player.frames > 0 and player.width > 0 and "error" not in case
    return case


class _AnsweringServer:
    """For the selftest: a WHIP/WHEP-shaped HTTP endpoint on 127.0.0.1 whose answers come from
    a webrtcbin in this process (a player for POST /whip, a publisher for POST /whep), so the
    publish/play commands run their whole HTTP flow (POST, 201 + Location, DELETE)."""

    def __init__(self, codec: str, h264_encoder: str, bundle_policy: str):
        import http.server

        self.peer: Peer | None = None
        self.requests: list[str] = []
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                srv.requests.append(f"POST {self.path} {self.headers.get('Content-Type')}")
                if self.headers.get("Content-Type") != "application/sdp" or srv.peer is not None:
                    self.send_response(400)
                    self.end_headers()
                    return
                if self.path == "/whip":
                    srv.peer = Peer("answerer-player", "player", codec, offerer=False, bundle_policy=bundle_policy)
                else:
                    plid = "42e01f" if codec == "h264" else None
                    srv.peer = Peer("answerer-publisher", "publisher", codec, h264_encoder=h264_encoder,
                                    bundle_policy=bundle_policy, profile_level_id=plid)
                srv.peer.start()
                answer = srv.peer.accept_offer(body).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/sdp")
                self.send_header("Location", "session/1")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_DELETE(self):
                srv.requests.append(f"DELETE {self.path}")
                self.send_response(200 if self.path == "/session/1" else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.peer:
            self.peer.stop()


def selftest_http_case(codec: str, kind: str, seconds: float, h264_encoder: str, bundle_policy: str) -> dict:
    srv = _AnsweringServer(codec, h264_encoder, bundle_policy)
    try:
        common = dict(token=None, seconds=seconds, no_audio=False, no_delete=False, bundle_policy=bundle_policy)
        if kind == "whip":
            ns = argparse.Namespace(url=f"{srv.url}/whip", codec=codec, width=640, height=360, fps=30, kbps=800,
                                    h264_encoder=h264_encoder, profile_level_id=None, **common)
            ns.seconds = 3  # send for a while, then check what the in-process player decoded
            result, ok = cmd_publish(ns)
            frames = srv.peer.frames if srv.peer else 0
            ok = ok and frames > 0
            result["answerer_frames"] = frames
        else:
            ns = argparse.Namespace(url=f"{srv.url}/whep", codec=codec, frames=30, **common)
            result, ok = cmd_play(ns)
            ok = ok and result.get("width", 0) > 0
        result["http"] = srv.requests
        ok = ok and result.get("delete_status") == 200
    finally:
        srv.close()
    return {"codec": codec, "case": f"{kind} over HTTP", "result": result, "ok": ok}


def cmd_selftest(a) -> tuple[dict, bool]:
    codecs = ["vp8", "h264"] if a.codec == "all" else [a.codec]
    cases = [selftest_case(c, who, a.seconds, a.h264_encoder, a.bundle_policy)
             for c in codecs for who in ("publisher", "player")]
    cases += [selftest_http_case(c, kind, a.seconds, a.h264_encoder, a.bundle_policy)
              for c in codecs for kind in ("whip", "whep")]
    return {"mode": "selftest", "gstreamer": Gst.version_string(), "python": sys.executable,
            "cases": cases}, all(c["ok"] for c in cases)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--local-ip", action="append", metavar="ADDR",
                       help="gather ICE candidates only on ADDR (repeatable; default 127.0.0.1: loopback only); "
                       "'all': every interface address libnice finds, loopback excluded")
        p.add_argument("--bundle-policy", choices=["max-bundle", "max-compat", "balanced"], default="max-bundle",
                       help="webrtcbin's; max-bundle (what GStreamer WHIP clients use) offers the second "
                       "m-section as port 0 + a=bundle-only")

    def common_publisher(p):
        p.add_argument("--h264-encoder", default="auto", help="x264enc, openh264enc or auto (x264enc if present)")
        p.add_argument("--profile-level-id", help="announce this H.264 profile-level-id (e.g. 42e01f) instead of the "
                       "encoder's (42c01e for x264enc/openh264enc)")

    p = sub.add_parser("publish", help="WHIP: send a test pattern")
    common(p)
    p.add_argument("--url", required=True)
    p.add_argument("--token")
    p.add_argument("--codec", choices=["vp8", "h264"], default="vp8")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--kbps", type=int, default=800)
    p.add_argument("--no-audio", action="store_true")
    p.add_argument("--no-delete", action="store_true", help="leave without DELETE (like a publisher that dropped)")
    common_publisher(p)

    p = sub.add_parser("play", help="WHEP: receive and decode")
    common(p)
    p.add_argument("--url", required=True)
    p.add_argument("--token")
    p.add_argument("--codec", choices=["any", "vp8", "h264"], default="any",
                   help="video codecs to offer (any: VP8 first, then H.264)")
    p.add_argument("--seconds", type=float, default=10, help="at most this long")
    p.add_argument("--frames", type=int, default=0, help="stop once this many video frames were decoded")
    p.add_argument("--no-audio", action="store_true")
    p.add_argument("--no-delete", action="store_true")

    p = sub.add_parser("offer", help="print the offer publish/play would send")
    common(p)
    p.add_argument("--role", choices=["whip", "whep"], required=True)
    p.add_argument("--codec", choices=["any", "vp8", "h264"], default="any")
    common_publisher(p)

    p = sub.add_parser("selftest", help="publisher <-> player in-process, no server")
    common(p)
    p.add_argument("--codec", choices=["vp8", "h264", "all"], default="all")
    p.add_argument("--seconds", type=float, default=20, help="at most this long per case")
    p.add_argument("--h264-encoder", default="auto")

    a = ap.parse_args(argv)
    if a.local_ip:
        LOCAL_IPS[:] = [] if "all" in a.local_ip else a.local_ip
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    try:
        if a.cmd == "offer":
            sdp, ok = cmd_offer(a)
            sys.stdout.write(sdp)
            return 0 if ok else 1
        result, ok = {"publish": cmd_publish, "play": cmd_play, "selftest": cmd_selftest}[a.cmd](a)
    except Failure as e:
        result, ok = {"mode": a.cmd, "error": str(e)}, False
    result["ok"] = ok
    print(json.dumps(result, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

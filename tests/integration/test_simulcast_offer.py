"""Simulcast WHIP offers (RFC 8851 a=rid, RFC 8853 a=simulcast) against the real binary, no media:

- An OBS-shaped offer (OBS 32.1 with simulcast on: libdatachannel's SDP with the ICE credentials,
  ice-options and the fingerprint at session level, no candidates, Opus on mid 0, H.264 on mid 1
  with the mid and rtp-stream-id extensions, a=rid:0/1/2 send and a=simulcast:send 0;1;2) is
  answered 201 with a=rid:N recv for each layer and a=simulcast:recv 0;1;2 in the video section
  only, the stream-id extension kept (the publisher names its layers with it), H.264 and Opus
  accepted. A paused layer (~1) stays paused in the answer; the /whip/<room_id> alias with the host
  token answers the same.
- Hostile a=rid / a=simulcast: more than 16 rids (17, 20), a rid twice, a=simulcast naming a rid
  that is not there / twice / declared recv, bad rid ids (characters, 256 bytes), a simulcast line
  with 1000 streams, a direction twice, an empty list: each is 400 invalid_sdp saying what is
  wrong; 16 rids (the limit) are accepted. Afterwards the server still answers /healthz and a valid
  simulcast offer, and leaves no publisher behind (a refused offer never blocks the room).

The Chromium side of simulcast (a real browser sending q/h/f, viewers on different layers) is
tests/e2e/simulcast.test.mjs. Nothing here asserts on time; it also runs against the ASan build.
"""

from __future__ import annotations

import re

import pytest

from liveroom_harness import assert_error
from test_webrtc_http import Answer, Room, post_offer, sdp_lines, wcall

# An OBS 32.1 simulcast offer, as libdatachannel writes it (rtc::Description::generateSdp): the
# session-level ICE/DTLS lines, then per section a=mid, extmaps, direction, attributes (a=ssrc
# lines are left out of a section that has rids), the rids and a=simulcast, a=rtcp-mux, codecs.
OBS_UFRAG = "S1mU"
OBS_PWD = "q8PzK0bVw2m4Tg7YcN5eLr"
OBS_FINGERPRINT = ":".join(f"{b:02X}" for b in bytes(range(0x20, 0x40)))


def obs_offer(rid_lines: list[str] | None = None, simulcast: str | None = "a=simulcast:send 0;1;2") -> str:
    if rid_lines is None:
        rid_lines = ["a=rid:0 send", "a=rid:1 send", "a=rid:2 send"]
    lines = [
        "v=0",
        "o=rtc 3942128841 0 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=group:LS 0 1",
        "a=msid-semantic:WMS *",
        "a=setup:actpass",
        f"a=ice-ufrag:{OBS_UFRAG}",
        f"a=ice-pwd:{OBS_PWD}",
        "a=ice-options:ice2,trickle",
        f"a=fingerprint:sha-256 {OBS_FINGERPRINT}",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        "a=sendonly",
        "a=ssrc:2206913310 cname:Hk3bQ9zVx1LmT7Ra",
        "a=ssrc:2206913310 msid:Yp2Wd8sKc4Nf6Ju0 Yp2Wd8sKc4Nf6Ju0-audio",
        "a=msid:Yp2Wd8sKc4Nf6Ju0 Yp2Wd8sKc4Nf6Ju0-audio",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 0.0.0.0",
        "a=mid:1",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        "a=sendonly",
        "a=msid:Yp2Wd8sKc4Nf6Ju0 Yp2Wd8sKc4Nf6Ju0-video",
        *rid_lines,
        *([simulcast] if simulcast else []),
        "a=rtcp-mux",
        "a=rtpmap:96 H264/90000",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "a=rtcp-fb:96 goog-remb",
        "a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
    ]
    return "\r\n".join(lines) + "\r\n"


def sections(sdp: str) -> dict[str, list[str]]:
    """The answer's m-sections by kind ('audio', 'video'): their lines, the m= line first."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in sdp_lines(sdp):
        if line.startswith("m="):
            current = out.setdefault(line[2:].split(" ")[0], [])
        if current is not None:
            current.append(line)
    return out


def rid_lines(section: list[str]) -> list[str]:
    return [l for l in section if l.startswith("a=rid:")]


def simulcast_lines(section: list[str]) -> list[str]:
    return [l for l in section if l.startswith("a=simulcast:")]


class Media:
    def __init__(self, srv):
        self.srv = srv

    def room(self) -> Room:
        return Room(self.srv.create(title="Simulcast class", host="obs_user"))

    def publish(self, room: Room, offer: str, *, alias: bool = False) -> Answer:
        if alias:
            r = post_offer(self.srv, room.alias, offer, token=room.host_token)
        else:
            r = post_offer(self.srv, room.whip, offer)
        return Answer(self.srv, r, "publisher")


@pytest.fixture
def media(server):
    srv = server("--webrtc-port", "0")
    yield Media(srv)
    assert srv.proc.poll() is None, f"liveroom died (exit {srv.proc.returncode})"


# --------------------------------------------------------------------------------------
# OBS
# --------------------------------------------------------------------------------------

def test_obs_simulcast_offer_is_answered_with_three_recv_layers(media):
    room = media.room()
    answer = media.publish(room, obs_offer())
    by_kind = sections(answer.sdp)
    assert set(by_kind) == {"audio", "video"}, answer.sdp
    video, audio = by_kind["video"], by_kind["audio"]
    assert video[0].split(" ")[1] != "0" and audio[0].split(" ")[1] != "0", f"a section refused: {answer.sdp}"
    assert "a=mid:1" in video and "a=mid:0" in audio, answer.sdp
    assert "a=rtpmap:96 H264/90000" in video, answer.sdp
    assert "a=rtpmap:111 opus/48000/2" in audio, answer.sdp
    # The three layers, received: one a=rid:N recv each, and a=simulcast:recv in the offer's order.
    assert rid_lines(video) == ["a=rid:0 recv", "a=rid:1 recv", "a=rid:2 recv"], answer.sdp
    assert simulcast_lines(video) == ["a=simulcast:recv 0;1;2"], answer.sdp
    # The publisher names its layers in the rtp-stream-id extension: kept, with the offer's id.
    assert "a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id" in video, answer.sdp
    # Nothing of simulcast in the audio section, and no send direction anywhere.
    assert not rid_lines(audio) and not simulcast_lines(audio), answer.sdp
    assert not any(re.match(r"^a=(rid:\S+ send|simulcast:send)", l) for l in sdp_lines(answer.sdp)), answer.sdp


def test_obs_simulcast_offer_on_the_whip_alias_with_the_host_token(media):
    room = media.room()
    answer = media.publish(room, obs_offer(), alias=True)
    video = sections(answer.sdp)["video"]
    assert rid_lines(video) == ["a=rid:0 recv", "a=rid:1 recv", "a=rid:2 recv"], answer.sdp
    assert simulcast_lines(video) == ["a=simulcast:recv 0;1;2"], answer.sdp


def test_a_paused_layer_stays_paused_in_the_answer(media):
    room = media.room()
    answer = media.publish(room, obs_offer(simulcast="a=simulcast:send 0;~1;2"))
    video = sections(answer.sdp)["video"]
    assert rid_lines(video) == ["a=rid:0 recv", "a=rid:1 recv", "a=rid:2 recv"], answer.sdp
    assert simulcast_lines(video) == ["a=simulcast:recv 0;~1;2"], answer.sdp


def test_sixteen_rids_are_the_limit_and_accepted(media):
    ids = [str(i) for i in range(16)]
    offer = obs_offer([f"a=rid:{i} send" for i in ids], "a=simulcast:send " + ";".join(ids))
    answer = media.publish(media.room(), offer)
    video = sections(answer.sdp)["video"]
    assert rid_lines(video) == [f"a=rid:{i} recv" for i in ids], answer.sdp
    assert simulcast_lines(video) == ["a=simulcast:recv " + ";".join(ids)], answer.sdp


# --------------------------------------------------------------------------------------
# Hostile a=rid / a=simulcast
# --------------------------------------------------------------------------------------

def many(n: int) -> tuple[list[str], str]:
    ids = [str(i) for i in range(n)]
    return [f"a=rid:{i} send" for i in ids], "a=simulcast:send " + ";".join(ids)


THREE = ["a=rid:0 send", "a=rid:1 send", "a=rid:2 send"]

# name -> (rid lines, simulcast line, words the error message must contain (any of them))
HOSTILE = {
    "20 rids": (*many(20), ("more than 16",)),
    "17 rids": (*many(17), ("more than 16",)),
    "a rid twice": (["a=rid:0 send", "a=rid:1 send", "a=rid:1 send"], "a=simulcast:send 0;1", ("twice",)),
    "simulcast names an unknown rid": (THREE, "a=simulcast:send 0;1;3", ("no a=rid", "unknown")),
    "simulcast names a rid twice": (THREE, "a=simulcast:send 0;0;1", ("twice",)),
    "simulcast send names a recv rid": (["a=rid:0 send", "a=rid:1 recv"], "a=simulcast:send 0;1", ("no a=rid send", "recv")),
    "a rid id with other characters": (["a=rid:a$b send"], "a=simulcast:send a$b", ("rid",)),
    "a 256-byte rid id": ([f"a=rid:{'r' * 256} send"], f"a=simulcast:send {'r' * 256}", ("rid",)),
    "a rid without a direction": (["a=rid:0"], "a=simulcast:send 0", ("rid", "direction")),
    "a simulcast line of 1000 streams": (THREE, "a=simulcast:send " + ";".join(["0"] * 1000), ("too many",)),
    "a simulcast direction twice": (THREE, "a=simulcast:send 0 send 1", ("twice", "simulcast")),
    "an empty simulcast list": (THREE, "a=simulcast:send", ("simulcast",)),
    "a simulcast stream id with other characters": (THREE, "a=simulcast:send 0;1;<2>", ("simulcast",)),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_rid_and_simulcast_lines_are_400_invalid_sdp(media, name):
    rids, simulcast, words = HOSTILE[name]
    srv, room = media.srv, media.room()
    r = post_offer(srv, room.whip, obs_offer(rids, simulcast))
    assert_error(r, 400, "invalid_sdp", words)
    # Refused, nothing left behind: the same room takes a valid simulcast offer at once.
    answer = media.publish(room, obs_offer())
    assert simulcast_lines(sections(answer.sdp)["video"]) == ["a=simulcast:recv 0;1;2"], answer.sdp


def test_the_server_keeps_serving_after_every_hostile_offer(media):
    srv = media.srv
    room = media.room()
    for name, (rids, simulcast, _) in HOSTILE.items():
        r = post_offer(srv, room.whip, obs_offer(rids, simulcast))
        assert r.status == 400, f"{name}: {r.describe()}"
    assert srv.proc.poll() is None, "liveroom died"
    health = srv.get("/healthz")
    assert health.status == 200, health.describe()
    answer = media.publish(room, obs_offer())
    assert rid_lines(sections(answer.sdp)["video"]) == ["a=rid:0 recv", "a=rid:1 recv", "a=rid:2 recv"]
    r = wcall(srv, "DELETE", answer.path)
    assert r.status == 200, r.describe()

"""GET /metrics (issue 13, item 2) through the real binary: the Prometheus text format checked by
`promtool check metrics` (Debian's prometheus package); what the API, the store, the provider and
a real WebRTC publisher and viewer (aiortc) did shows in the counters; the API key guards it on
the API's listener, --metrics-listen serves it alone; and a real Prometheus scrapes liveroom and
answers a query for one of its series.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from liveroom_harness import assert_error, call, free_port, wait_until
from webrtc_peer import Publisher, Viewer, peer_python

API_KEY = "test-api-key-metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        raise AssertionError("promtool not found: run `scripts/setup --test` (Debian's prometheus package)")
    return path


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    """Samples by (name, labels)."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def total(samples: dict, name: str, **labels: str) -> float:
    """Sum over every series of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def scrape(port: int, token: str | None = API_KEY) -> str:
    r = call(port, "GET", "/metrics", token=token)
    assert r.status == 200, r.describe()
    assert r.header("content-type") == CONTENT_TYPE
    return r.text


def check_with_promtool(text: str) -> None:
    done = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"promtool check metrics failed:\n{done.stdout}\n{done.stderr}"


def test_metrics_pass_promtool_and_count_requests_store_and_provider_calls(server):
    srv = server("--api-key", API_KEY)
    assert_error(srv.get("/metrics"), 401, "unauthorized")
    assert_error(srv.get("/metrics", token="another-key"), 403, "forbidden")
    assert_error(srv.post("/metrics", {}, token=API_KEY), 405)

    room = srv.create(title="Lớp học — Toán", host="cô Hà", token=API_KEY)
    rid, host_token = room["room_id"], room["host_token"]
    for _ in range(2):
        assert srv.join(rid).status == 200
    assert srv.join("live_doesnotexist00000000").status == 404
    assert srv.end(rid, host_token).status == 200
    text = scrape(srv.port)
    check_with_promtool(text)
    s = parse(text)

    assert value(s, "liveroom_http_requests_total", route="/api/livestream/create", method="POST", code="201") == 1
    assert value(s, "liveroom_http_requests_total", route="/api/livestream/join", method="GET", code="200") == 2
    assert value(s, "liveroom_http_requests_total", route="/api/livestream/join", method="GET", code="404") == 1
    assert value(s, "liveroom_http_requests_total", route="/api/livestream/end", method="POST", code="200") == 1
    assert value(s, "liveroom_http_requests_total", route="/metrics", method="GET", code="401") == 1
    assert value(s, "liveroom_http_request_duration_seconds_count", route="/api/livestream/join") == 3
    assert value(s, "liveroom_http_request_duration_seconds_bucket", route="/api/livestream/join", le="+Inf") == 3
    assert value(s, "liveroom_store_calls_total", store="sqlite", operation="insert", outcome="ok") == 1
    assert value(s, "liveroom_store_calls_total", store="sqlite", operation="mark_ended", outcome="ok") == 1
    assert value(s, "liveroom_provider_calls_total", provider="local", operation="create_input", outcome="ok") == 1
    assert value(s, "liveroom_provider_calls_total", provider="local", operation="delete_input", outcome="ok") == 1
    assert value(s, "liveroom_provider_call_duration_seconds_count", provider="local", operation="create_input") == 1
    assert value(s, "liveroom_rooms", status="active") == 0
    assert value(s, "liveroom_rooms", status="ended") == 1
    assert value(s, "liveroom_rooms_live") == 0
    assert value(s, "liveroom_webrtc_sessions", role="publisher") == 0
    assert value(s, "liveroom_build_info", version=srv.get("/api/livestream/info").json()["version"]) == 1
    assert value(s, "process_resident_memory_bytes") > 1e6
    assert value(s, "process_open_fds") > 3
    assert value(s, "process_cpu_seconds_total") > 0
    # Labels never carry ids or secrets.
    for secret in (rid, host_token, API_KEY, room["ingest"]["whip_url"]):
        assert secret not in text

    # A second scrape counts the first.
    s2 = parse(scrape(srv.port))
    assert value(s2, "liveroom_http_requests_total", route="/metrics", method="GET", code="200") == 1


def test_media_counters_sessions_and_viewers_from_a_real_publisher_and_viewer(server, tmp_path):
    peer_python()
    srv = server()
    room = srv.create(title="metrics media", host="issue13")
    rid = room["room_id"]
    publisher = Publisher(room["whip_url"], tmp_path / "publisher.log")
    viewer = None
    try:
        publisher.wait_connected(30)
        wait_until(lambda: srv.room(rid).json()["live"] is True, 15, "the room to go live")
        viewer = Viewer(room["playback"]["whep_url"], tmp_path / "viewer.log")
        viewer.wait_event("first_frame", 30)
        def counted() -> bool:
            now = parse(scrape(srv.port, None))
            # Reports (RTCP) go out about once a second: wait for the first too.
            return value(now, "liveroom_viewers") == 1 and \
                value(now, "liveroom_media_packets_total", direction="out", type="rtcp") > 0
        wait_until(counted, 15, "liveroom_viewers to count the viewer, and the first RTCP report")
        text = scrape(srv.port, None)
        check_with_promtool(text)
        s = parse(text)
        assert value(s, "liveroom_webrtc_sessions", role="publisher") == 1
        assert value(s, "liveroom_webrtc_sessions", role="viewer") == 1
        assert value(s, "liveroom_webrtc_inputs") == 1
        assert value(s, "liveroom_rooms_live") == 1
        assert value(s, "liveroom_rooms_watched") == 1
        rtp_in = value(s, "liveroom_media_packets_total", direction="in", type="rtp")
        rtp_out = value(s, "liveroom_media_packets_total", direction="out", type="rtp")
        assert rtp_in > 50 and rtp_out > 20, (rtp_in, rtp_out)
        assert value(s, "liveroom_media_bytes_total", direction="in") > rtp_in * 12
        assert value(s, "liveroom_media_bytes_total", direction="out") > rtp_out * 12
        assert value(s, "liveroom_media_packets_total", direction="out", type="rtcp") > 0
        assert value(s, "liveroom_udp_datagrams_total", direction="in") >= rtp_in
        assert value(s, "liveroom_udp_datagrams_total", direction="out") >= rtp_out
        for name in ("liveroom_media_nacks_received_total", "liveroom_media_retransmissions_total",
                     "liveroom_media_plis_sent_total", "liveroom_media_packets_lost_total",
                     "liveroom_media_key_frame_requests_received_total"):
            assert value(s, name) is not None and value(s, name) >= 0, name
        assert value(s, "liveroom_http_requests_total", route="/{uid}/webRTC/play", method="POST", code="201") == 1
        assert value(s, "liveroom_http_requests_total", route="/{key}/webRTC/publish", method="POST",
                     code="201") == 1
        assert room["playback"]["whep_url"].split("/")[-3] not in text  # no input uid in a label
    finally:
        for p in (viewer, publisher):
            if p is not None:
                p.stop()
    # The viewer is gone: the gauges drop, the counters keep what happened.
    wait_until(lambda: value(parse(scrape(srv.port, None)), "liveroom_webrtc_sessions", role="viewer") == 0, 15,
               "the viewer's session to close")
    after = parse(scrape(srv.port, None))
    assert value(after, "liveroom_media_packets_total", direction="out", type="rtp") >= rtp_out
    assert value(after, "liveroom_media_bytes_total", direction="in") >= value(s, "liveroom_media_bytes_total",
                                                                              direction="in")


def test_metrics_listen_serves_metrics_alone_without_the_api_key(server):
    metrics_port = free_port()
    srv = server("--api-key", API_KEY, "--metrics-listen", f"127.0.0.1:{metrics_port}")
    srv.create(token=API_KEY)
    text = scrape(metrics_port, token=None)
    check_with_promtool(text)
    assert value(parse(text), "liveroom_rooms", status="active") == 1
    assert_error(call(metrics_port, "GET", "/api/livestream/rooms"), 404, "not_found")
    assert call(metrics_port, "POST", "/metrics", body="").status == 405
    # Not on the API's listener any more.
    assert srv.get("/metrics", token=API_KEY).status == 404
    assert f"metrics on http://127.0.0.1:{metrics_port}/metrics" in srv.log_text()
    # Its replies are counted under their route (the first scrape; the 405), the rest as "static".
    s = parse(scrape(metrics_port, token=None))
    assert value(s, "liveroom_http_requests_total", route="/metrics", method="GET", code="200") == 1
    assert value(s, "liveroom_http_requests_total", route="/metrics", method="POST", code="405") == 1
    assert value(s, "liveroom_http_requests_total", route="static", method="GET", code="404") == 2


def test_the_metrics_listener_has_the_api_listeners_connection_limits(server):
    metrics_port = free_port()
    srv = server("--metrics-listen", f"127.0.0.1:{metrics_port}", "--max-connections-per-ip", "2")
    held = [socket.create_connection(("127.0.0.1", metrics_port)) for _ in range(2)]
    try:
        wait_until(lambda: call(metrics_port, "GET", "/metrics").status == 503, 5, "the third connection refused")
        assert_error(call(metrics_port, "GET", "/metrics"), 503, "too_many_connections")
    finally:
        for s in held:
            s.close()
    wait_until(lambda: call(metrics_port, "GET", "/metrics").status == 200, 10, "a slot to come back")
    assert srv.proc.poll() is None


def test_a_bad_metrics_listen_address_is_refused_in_words(server):
    srv = server("--metrics-listen", "nowhere", wait=False)
    assert srv.proc.wait(timeout=15) == 2
    assert "--metrics-listen" in srv.log_text()


def test_a_real_prometheus_scrapes_liveroom_and_answers_a_query(server, tmp_path):
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        raise AssertionError("prometheus not found: run `scripts/setup --test` (Debian's prometheus package)")
    srv = server("--api-key", API_KEY)
    for title in ("Lớp 1", "Lớp 2"):
        srv.create(title=title, token=API_KEY)
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({  # YAML is a superset of JSON
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{
            "job_name": "liveroom",
            "authorization": {"credentials": API_KEY},
            "static_configs": [{"targets": [f"127.0.0.1:{srv.port}"]}],
        }],
    }))
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def query(q: str) -> list:
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                doc = json.load(r)
        except OSError:
            return []
        return doc["data"]["result"] if doc.get("status") == "success" else []

    try:
        wait_until(lambda: [r["value"][1] for r in query('up{job="liveroom"}')] == ["1"], 60,
                   "Prometheus to scrape liveroom (up == 1)")
        wait_until(lambda: [r["value"][1] for r in query('liveroom_rooms{status="active"}')] == ["2"], 30,
                   "liveroom_rooms{status=\"active\"} == 2 in Prometheus")
        got = query('sum by (route) (liveroom_http_requests_total{route="/api/livestream/create"})')
        assert [r["value"][1] for r in got] == ["2"], got
        assert query("process_resident_memory_bytes")[0]["value"][1] != "0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

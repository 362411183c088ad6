"""The command line of `liveroom`: --help lists every `serve` flag and its env twin,
`version`, every bad configuration stops with exit code 2 and one stderr line naming the
setting, the env twins are honoured, and without any stream provider the server starts,
serves reads and answers create with 503 stream_provider_unavailable."""

from __future__ import annotations

import re
import subprocess

import pytest

from liveroom_harness import assert_error, call, free_port, run_cli

SERVE_FLAGS = {
    "--listen": "LIVEROOM_LISTEN",
    "--public-url": "LIVEROOM_PUBLIC_URL",
    "--data-dir": "LIVEROOM_DATA_DIR",
    "--store": "LIVEROOM_STORE",
    "--mongodb-uri": "LIVEROOM_MONGODB_URI",
    "--stream": "LIVEROOM_STREAM",
    "--api-key": "LIVEROOM_API_KEY",
    "--cors-origin": "LIVEROOM_CORS_ORIGIN",
    "--cache-ttl-ms": "LIVEROOM_CACHE_TTL_MS",
    "--log-level": "LIVEROOM_LOG_LEVEL",
}


def test_serve_help_lists_every_flag_and_env_twin():
    p = run_cli(["serve", "--help"], timeout=15)
    out = p.stdout.decode() + p.stderr.decode()
    assert p.returncode == 0, out
    missing = [f for f in SERVE_FLAGS if not re.search(re.escape(f) + r"\b", out)]
    assert not missing, f"serve --help does not list {missing}:\n{out}"
    missing_env = [e for e in SERVE_FLAGS.values() if e not in out]
    assert not missing_env, f"serve --help does not name the env twins {missing_env}:\n{out}"


def test_top_level_help_lists_commands():
    p = run_cli(["--help"], timeout=15)
    out = p.stdout.decode() + p.stderr.decode()
    assert p.returncode == 0, out
    for cmd in ("serve", "version"):
        assert re.search(rf"\b{cmd}\b", out), f"--help does not mention {cmd}:\n{out}"


def test_version():
    p = run_cli(["version"], timeout=15)
    assert p.returncode == 0, p
    out = p.stdout.decode().strip()
    assert out, "version printed nothing on stdout"
    assert re.search(r"\d+\.\d+", out), f"no version number in {out!r}"


def _bad_config(args: list[str], env: dict[str, str], tmp_path, timeout: float = 45.0):
    """Runs `liveroom serve` expecting it to refuse; returns its one stderr line."""
    port = free_port()
    argv = ["serve"] + ([] if "--listen" in args else ["--listen", f"127.0.0.1:{port}"]) + \
        ([] if "--data-dir" in args else ["--data-dir", str(tmp_path / "data")]) + \
        ([] if "--webrtc-port" in args or "LIVEROOM_WEBRTC_PORT" in env else ["--webrtc-port", "0"]) + list(args)
    try:
        p = run_cli(argv, env=env, timeout=timeout, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"liveroom {argv} with {env} did not stop within {timeout}s "
                    "(it should refuse the configuration and exit 2)")
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 2, f"exit code {p.returncode}, expected 2; stderr:\n{err}\nstdout:\n{p.stdout!r}"
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}:\n{err}"
    return lines[0]


BAD_CONFIGS = [
    pytest.param(["--bogus-flag"], {}, ["bogus-flag"], id="unknown-flag"),
    pytest.param(["--store", "bogus"], {}, ["store"], id="store-bogus"),
    pytest.param([], {"LIVEROOM_STORE": "bogus"}, ["store"], id="store-bogus-env"),
    pytest.param(["--stream", "bogus"], {}, ["stream"], id="stream-bogus"),
    pytest.param(["--store", "mongodb", "--mongodb-uri", "mongodb://127.0.0.1:1/x"], {},
                 ["mongodb-uri", "mongodb_uri"], id="mongodb-unreachable"),
    pytest.param([], {"LIVEROOM_STORE": "mongodb", "LIVEROOM_MONGODB_URI": "mongodb://127.0.0.1:1/x"},
                 ["mongodb-uri", "mongodb_uri"], id="mongodb-unreachable-env"),
    pytest.param(["--stream", "cloudflare"], {}, ["CLOUDFLARE_ACCOUNT_ID"], id="stream-cloudflare-no-account"),
    pytest.param([], {"CLOUDFLARE_ACCOUNT_ID": "acc123"}, ["CLOUDFLARE_API_TOKEN"],
                 id="account-without-credentials"),
    pytest.param([], {"CLOUDFLARE_ACCOUNT_ID": "acc123", "CLOUDFLARE_EMAIL": "ops@example.com"},
                 ["CLOUDFLARE_API_KEY"], id="email-without-api-key"),
    pytest.param([], {"CLOUDFLARE_ACCOUNT_ID": "acc123", "CLOUDFLARE_API_KEY": "k123"},
                 ["CLOUDFLARE_EMAIL"], id="api-key-without-email"),
    pytest.param([], {"CLOUDFLARE_API_TOKEN": "tok_x"}, ["CLOUDFLARE_ACCOUNT_ID"], id="token-without-account"),
    pytest.param([], {"CLOUDFLARE_EMAIL": "ops@example.com", "CLOUDFLARE_API_KEY": "k123"},
                 ["CLOUDFLARE_ACCOUNT_ID"], id="legacy-pair-without-account"),
    pytest.param([], {"CLOUDFLARE_ACCOUNT_ID": "bad id!", "CLOUDFLARE_API_TOKEN": "tok_x"},
                 ["CLOUDFLARE_ACCOUNT_ID"], id="malformed-account-id"),
    pytest.param(["--cache-ttl-ms", "-5"], {}, ["cache-ttl-ms"], id="negative-cache-ttl"),
    pytest.param(["--log-level", "loud"], {}, ["log-level"], id="bad-log-level"),
    pytest.param(["--listen", "not-an-address"], {}, ["listen"], id="bad-listen"),
    pytest.param(["--ice-server", "http://turn.example.net"], {}, ["ice-server"], id="ice-server-bad-scheme"),
    pytest.param(["--ice-server", "turn:turn.example.net:3478"], {}, ["turn-secret"], id="turn-without-credentials"),
    pytest.param(["--ice-server", "stun:127.0.0.1", "--turn-secret", "s"], {}, ["turn"],
                 id="turn-secret-without-turn-server"),
    pytest.param(["--ice-server", "turn:h", "--turn-username", "u"], {}, ["turn-password"],
                 id="turn-username-without-password"),
    pytest.param(["--ice-server", "turn:h", "--turn-secret", "s", "--turn-ttl", "5"], {}, ["turn-ttl"],
                 id="turn-ttl-too-short"),
    pytest.param(["--webhook-url", "http://127.0.0.1:9/x"], {}, ["webhook-secret"], id="webhook-without-secret"),
    pytest.param(["--webhook-url", "http://127.0.0.1:9/x", "--webhook-secret", "whsec_c2hvcnQ="], {},
                 ["webhook-secret"], id="webhook-secret-too-short"),
    pytest.param(["--webhook-url", "ftp://127.0.0.1/x"],
                 {"LIVEROOM_WEBHOOK_SECRET": "whsec_bGl2ZXJvb20tdGVzdC13ZWJob29rLXNlY3JldC0zMmI="},
                 ["webhook-url"], id="webhook-url-not-http"),
]


@pytest.mark.parametrize("args,env,names", BAD_CONFIGS)
def test_bad_configuration_exits_2_with_one_line_naming_the_setting(args, env, names, tmp_path):
    line = _bad_config(args, env, tmp_path)
    assert any(n.lower() in line.lower() for n in names), f"stderr line should name {names}: {line!r}"


def test_a_bad_webhook_setting_does_not_leak_the_secret(tmp_path):
    line = _bad_config(["--webhook-url", "ftp://127.0.0.1/x?key=query_secret_7",
                        "--webhook-secret", "whsec_not-base64!!secret_value_8"], {}, tmp_path)
    assert "webhook" in line and "query_secret_7" not in line, line
    line = _bad_config(["--webhook-url", "http://127.0.0.1/x", "--webhook-secret", "whsec_not-base64!!secret_value_8"],
                       {}, tmp_path)
    assert "webhook-secret" in line and "secret_value_8" not in line, line


def test_bad_configuration_does_not_leak_the_token(tmp_path):
    # A token without an account id is refused; the refusal must not print the token.
    line = _bad_config([], {"CLOUDFLARE_API_TOKEN": "tok_do_not_print_me_42"}, tmp_path)
    assert "tok_do_not_print_me_42" not in line, line


# ---- no stream provider --------------------------------------------------------------

def test_without_cloudflare_rooms_run_on_the_embedded_media_server(server):
    srv = server()  # no CLOUDFLARE_* at all
    assert srv.get("/healthz").status == 200
    assert srv.get("/readyz").status == 200
    r = srv.list_rooms()
    assert r.status == 200, r.describe()
    assert r.json() == {"rooms": [], "next_cursor": None}, r.describe()
    assert_error(srv.join("live_AAAAAAAAAAAAAAAA"), 404, "room_not_found")
    r = srv.post("/api/livestream/create", {"title": "Lớp học online", "host": "user_123"})
    assert r.status == 201, r.describe()
    room = r.json()
    assert room["provider"] == "local"
    assert room["whip_url"].startswith(srv.base_url + "/") and room["whip_url"].endswith("/webRTC/publish")
    uid = room["whip_url"][len(srv.base_url) + 1:].split("/")[0].split("k")[1]
    assert room["playback"]["whep_url"] == f"{srv.base_url}/{uid}/webRTC/play"
    # Broadcast rooms (RTMPS/SRT in, HLS out) need Cloudflare.
    r = srv.post("/api/livestream/create", {"title": "t", "host": "h", "mode": "broadcast"})
    assert_error(r, 422, "mode_unsupported", mentions="Cloudflare")
    assert [x["room_id"] for x in srv.list_rooms().json()["rooms"]] == [room["room_id"]]


def test_webrtc_port_in_use_is_reported(tmp_path):
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("0.0.0.0", 0))
        port = busy.getsockname()[1]
        p = run_cli(["serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"),
                     "--webrtc-port", str(port)], timeout=30, cwd=tmp_path)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 2, err
    last = [ln for ln in err.splitlines() if ln.strip()][-1]
    assert "--webrtc-port" in last, last


def test_without_provider_validation_still_runs_first(server):
    # A bad body is a 400 whatever the provider situation.
    srv = server()
    r = srv.post("/api/livestream/create", {"title": "", "host": "user_123"})
    assert_error(r, 400, "invalid_field", mentions="title")


# ---- env twins -----------------------------------------------------------------------

def test_env_twins_listen_data_dir_cors_api_key(server, fake_cloudflare, tmp_path):
    port = free_port()
    data_dir = tmp_path / "envdata"
    srv = server(env={**fake_cloudflare.env(),
                      "LIVEROOM_LISTEN": f"127.0.0.1:{port}",
                      "LIVEROOM_DATA_DIR": str(data_dir),
                      "LIVEROOM_CORS_ORIGIN": "https://app.example",
                      "LIVEROOM_API_KEY": "env_api_key_123",
                      "LIVEROOM_LOG_LEVEL": "debug",
                      "LIVEROOM_CACHE_TTL_MS": "500"},
                 port=port, data_dir=tmp_path / "cwd", pass_listen=False, pass_data_dir=False)
    r = srv.get("/healthz", headers={"Origin": "https://app.example"})
    assert r.status == 200
    assert r.header("Access-Control-Allow-Origin") == "https://app.example", r.headers
    assert_error(srv.post("/api/livestream/create", {"title": "t", "host": "h"}), 401, "unauthorized")
    room = srv.create(token="env_api_key_123")
    assert srv.join(room["room_id"]).status == 200
    assert data_dir.is_dir() and any(data_dir.iterdir()), \
        f"LIVEROOM_DATA_DIR={data_dir} was not used (no store file there)"
    # The default data dir (./data relative to the cwd) must not have been used instead.
    assert not (tmp_path / "cwd" / "data").exists()


def test_stream_env_twin_forces_cloudflare(tmp_path):
    # LIVEROOM_STREAM=cloudflare without an account id is refused like the flag.
    line = _bad_config([], {"LIVEROOM_STREAM": "cloudflare"}, tmp_path)
    assert "CLOUDFLARE_ACCOUNT_ID" in line, line


def test_default_data_dir_is_dot_data(server, tmp_path):
    # Without --data-dir the SQLite file lives in ./data of the working directory.
    cwd = tmp_path / "work"
    srv = server(data_dir=cwd, pass_data_dir=False)
    assert srv.get("/readyz").status == 200
    assert (cwd / "data").is_dir() and any((cwd / "data").iterdir()), \
        f"no ./data store under the working directory {cwd}"


def test_listen_flag_is_honoured(server):
    port = free_port()
    srv = server(port=port)
    assert call(port, "GET", "/healthz").status == 200
    assert srv.port == port


def test_data_dir_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    line = _bad_config(["--data-dir", str(f)], {}, tmp_path)
    assert "data-dir" in line.lower() or "data_dir" in line.lower(), line


def test_listen_address_in_use_is_reported(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = run_cli(["serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "d"),
                     "--webrtc-port", "0"], timeout=30, cwd=tmp_path)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode != 0, err
    last = [ln for ln in err.splitlines() if ln.strip()][-1]
    assert "listen" in last.lower() or f"127.0.0.1:{port}" in last, \
        f"the failure should name --listen or the address: {last!r}"


def test_empty_api_key_env_means_no_key(server, fake_cloudflare):
    """LIVEROOM_API_KEY= (empty, as env files often leave it) must not lock create."""
    srv = server(env={"LIVEROOM_API_KEY": ""}, cf=fake_cloudflare)
    r = srv.post("/api/livestream/create", {"title": "t", "host": "h"})
    assert r.status == 201, r.describe()

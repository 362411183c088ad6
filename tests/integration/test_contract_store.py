"""The contract store (`serve --store contract`) against a real local chain (anvil) and the
RoomRegistry deployed by `liveroom contract deploy`:

- the API cycle (create, join, update, end, lists) answers as with the other stores, and each
  write is exactly one transaction from the operator key (counted with the operator's nonce and
  the blocks' transactions) while reads make none; the chain holds the room (getRoom) and its
  events (RoomCreated, RoomUpdated with the new title, RoomEnded);
- concurrent creates (one nonce each, none lost);
- a restart catches up with what happened on chain while the server was down, the side table
  (host token hashes, ingest secrets) survives it, and a fresh data dir rebuilds the public
  index from the chain alone (rooms listed, host operations 403);
- no secret (host token or its hash, WHIP publish URL and key, stream keys, SRT passphrases,
  media-secret) ever reaches a transaction or a log, and the private key never reaches output,
  logs, the command line or the data dir;
- a dead chain: create answers 503 store_unavailable and deletes the live input it made,
  /readyz says not ready, the server keeps serving;
- roles (grant-operator / revoke-operator) and configuration errors (exit 2, key never
  echoed).

Needs anvil (scripts/setup --test installs it under contracts/node_modules); skipped without
it unless LIVEROOM_REQUIRE_CHAIN=1 (scripts/test), which makes a missing anvil a failure."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from chain import (
    ANVIL_BIN, CHAIN_ID, DEV_ADDRESSES, DEV_KEYS, SEL_CREATE, SEL_END, SEL_UPDATE, STATUS_ACTIVE,
    STATUS_ENDED, STATUS_NONE, T_CREATED, T_ENDED, T_UPDATED, Anvil, Chain, create_room_calldata,
    room_key, to_checksum,
)
from liveroom_harness import (
    FakeCloudflare, assert_error, assert_public_view, assert_timestamp, child_env,
    free_port, pin_webrtc_ip, run_cli, wait_until,
)
import liveroom_harness

pytestmark = pytest.mark.chain

CREATE = "/api/livestream/create"
OPERATOR_KEY, OTHER_KEY = DEV_KEYS
OPERATOR, OTHER = DEV_ADDRESSES
ZERO_ADDRESS = "0x" + "00" * 20


# --------------------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------------------

def _require_chain(what: str):
    if os.environ.get("LIVEROOM_REQUIRE_CHAIN") == "1":
        pytest.fail(f"{what} (LIVEROOM_REQUIRE_CHAIN=1)")
    pytest.skip(what)


@pytest.fixture
def anvil(tmp_path):
    """A fresh chain for this test (it may kill it)."""
    if not ANVIL_BIN.exists():
        _require_chain(f"anvil not found at {ANVIL_BIN} (scripts/setup --test, or set LIVEROOM_ANVIL_BIN)")
    node = Anvil(tmp_path / "anvil").start()
    yield node
    node.kill()


def write_key(path: Path, key: str) -> Path:
    """A key file as an operator would write it: owner-only, one line."""
    path.write_text(key + "\n")
    path.chmod(0o600)
    return path


def assert_no_key(text: str | bytes, key: str = OPERATOR_KEY, where: str = "output") -> None:
    """Neither the key nor any 12-character piece of it (a partial echo) is in `text`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    low = text.lower()
    k = key.lower().removeprefix("0x")
    for i in range(len(k) - 11):
        piece = k[i:i + 12]
        assert piece not in low, f"{where} contains (part of) the private key: ...{piece}... in {text[-2000:]!r}"


def cli_text(r: subprocess.CompletedProcess) -> str:
    return (f"exit {r.returncode}\n--- stdout ---\n{r.stdout.decode('utf-8', 'replace')}"
            f"\n--- stderr ---\n{r.stderr.decode('utf-8', 'replace')}")


def chain_cli(node: Anvil, *args: str, key_file: Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`liveroom contract ...` against `node`."""
    cmd = ["contract", *args, "--chain-id", str(CHAIN_ID), "--rpc-url", node.url]
    if key_file is not None:
        cmd += ["--key-file", str(key_file)]
    return run_cli(cmd, env=env, timeout=120)


def deploy(node: Anvil, key_file: Path | None, env: dict[str, str] | None = None) -> str:
    r = chain_cli(node, "deploy", key_file=key_file, env=env)
    assert r.returncode == 0, f"contract deploy failed: {cli_text(r)}"
    lines = r.stdout.decode().strip().splitlines()
    assert lines, f"contract deploy printed no address: {cli_text(r)}"
    address = lines[-1].strip()
    assert re.fullmatch(r"0x[0-9a-fA-F]{40}", address), f"last stdout line is not an address: {cli_text(r)}"
    assert address == to_checksum(address), f"{address} is not EIP-55 (expected {to_checksum(address)})"
    assert node.chain.code(address), f"no code at the deployed address {address}"
    return address


@dataclass
class Registry:
    node: Anvil
    address: str
    key_file: Path  # the operator's (dev account #0)

    @property
    def chain(self) -> Chain:
        return self.node.chain


@pytest.fixture
def registry(anvil, tmp_path) -> Registry:
    key_file = write_key(tmp_path / "operator.key", OPERATOR_KEY)
    address = deploy(anvil, key_file)
    assert anvil.chain.is_operator(address, OPERATOR), "the deploying key is not an operator"
    return Registry(anvil, address, key_file)


def contract_args(reg: Registry, key_file: Path | None = None) -> list[str]:
    return ["--store", "contract", "--chain-id", str(CHAIN_ID), "--rpc-url", reg.node.url,
            "--contract", reg.address, "--key-file", str(key_file or reg.key_file)]


def serve_contract(server, reg: Registry, *args: str, key_file: Path | None = None,
                   cf: FakeCloudflare | None = None, data_dir: Path | None = None):
    extra = ["--stream", "cloudflare"] if cf is not None else ["--stream", "local"]
    return server(*contract_args(reg, key_file), *extra, *args, cf=cf, data_dir=data_dir)


def serve_expect_exit(args: list[str], tmp_path: Path, env: dict[str, str] | None = None,
                      timeout: float = 60.0) -> tuple[int, str, str]:
    """Runs `liveroom serve ...` that is expected to stop by itself; returns (code, stdout,
    stderr). A server that starts anyway is killed and fails the test."""
    data_dir = tmp_path / f"exit-data-{free_port()}"
    data_dir.mkdir()
    cmd = pin_webrtc_ip([str(liveroom_harness.ACTIVE_BIN), "serve", "--listen", f"127.0.0.1:{free_port()}",
                         "--data-dir", str(data_dir), "--webrtc-port", "0", *args], env)
    p = subprocess.Popen(cmd, env=child_env(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=str(data_dir), start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(10)
        pytest.fail(f"serve kept running ({timeout}s) instead of refusing the configuration {args}:\n"
                    f"{err.decode('utf-8', 'replace')[-3000:]}")
    return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


class OperatorTxs:
    """Counts the transactions an account sends between two points: its nonce (latest and
    pending must agree: nothing left in flight) and the transactions of the new blocks."""

    def __init__(self, reg: Registry, account: str = OPERATOR):
        self.reg, self.account = reg, account
        self.mark()

    def mark(self) -> None:
        self.nonce = self.reg.chain.nonce(self.account)
        self.block = self.reg.chain.block_number()

    def expect(self, n: int, sel: bytes | None = None, what: str = "") -> list[dict]:
        chain = self.reg.chain
        latest, pending = chain.nonce(self.account, "latest"), chain.nonce(self.account, "pending")
        txs = [t for t in chain.transactions(self.block + 1) if t["from"].lower() == self.account.lower()]
        desc = [(t["hash"], t.get("to"), t["input"][:10]) for t in txs]
        assert pending == latest, f"{what}: {pending - latest} transaction(s) still pending after the answer"
        assert latest - self.nonce == n and len(txs) == n, \
            f"{what}: {latest - self.nonce} transactions from the operator (expected {n}): {desc}"
        for t in txs:
            assert (t.get("to") or "").lower() == self.reg.address.lower(), f"{what}: a transaction not to the registry: {desc}"
            if sel is not None:
                assert t["input"].startswith("0x" + sel.hex()), f"{what}: expected selector 0x{sel.hex()}: {desc}"
        self.mark()
        return txs


# --------------------------------------------------------------------------------------
# 1. the full cycle, transaction by transaction
# --------------------------------------------------------------------------------------

def test_contract_store_cycle_one_transaction_per_write(server, registry):
    reg, chain = registry, registry.chain
    deploy_block = chain.deploy_block(reg.address)
    assert 1 <= deploy_block <= chain.block_number()
    txs = OperatorTxs(reg)
    srv = serve_contract(server, reg)
    txs.expect(0, what="starting serve")
    assert srv.get("/readyz").status == 200
    assert srv.list_rooms().json() == {"rooms": [], "next_cursor": None}

    room = srv.create(title="Lớp học online", host="user_123")
    txs.expect(1, SEL_CREATE, "create")
    rid, tok = room["room_id"], room["host_token"]
    assert room["title"] == "Lớp học online" and room["host"] == "user_123", room
    assert room["status"] == "active" and room["mode"] == "webrtc" and room["provider"] == "local", room
    assert_timestamp(room["created_at"], "created_at")
    assert room["whip_url"] and room["playback"]["whep_url"], room
    secrets = [tok, room["whip_url"]]

    on_chain = chain.get_room(reg.address, rid)
    assert on_chain.status == STATUS_ACTIVE, on_chain
    assert on_chain.host == ZERO_ADDRESS and on_chain.created_at > 0 and on_chain.ended_at == 0, on_chain
    created = chain.created_event(reg.address, rid)
    assert created["room_id"] == rid and created["title"] == "Lớp học online", created
    meta = json.loads(created["meta"])
    assert meta.get("host") == "user_123" and meta.get("mode") == "webrtc" and meta.get("provider") == "local", meta

    other = srv.create(title="Concert", host="band")
    txs.expect(1, SEL_CREATE, "second create")

    # Reads: no transaction.
    j = srv.join(rid)
    assert j.status == 200, j.describe()
    assert_public_view(j.json(), secrets)
    assert j.json()["whep_url"] == room["playback"]["whep_url"]
    assert j.json()["title"] == "Lớp học online" and j.json()["status"] == "active"
    assert srv.room(rid).json()["room_id"] == rid
    assert {x["room_id"] for x in srv.list_rooms().json()["rooms"]} == {rid, other["room_id"]}
    assert [x["room_id"] for x in srv.list_rooms(host="band").json()["rooms"]] == [other["room_id"]]
    assert_error(srv.join("live_AAAAAAAAAAAAAAAA"), 404, "room_not_found")
    assert srv.ingest(rid, tok).status == 200
    txs.expect(0, what="join / get / list / ingest")

    # Update: one transaction, and RoomUpdated carries the new title.
    u = srv.update(rid, "  Lớp học online 2  ", tok)
    assert u.status == 200 and u.json()["title"] == "Lớp học online 2", u.describe()
    txs.expect(1, SEL_UPDATE, "update")
    assert chain.updated_titles(reg.address, rid) == ["Lớp học online 2"]
    assert srv.join(rid).json()["title"] == "Lớp học online 2"
    assert [x["title"] for x in srv.list_rooms().json()["rooms"] if x["room_id"] == rid] == ["Lớp học online 2"]

    # Refused host operations send nothing.
    assert_error(srv.update(rid, "x", other["host_token"]), 403, "forbidden")
    assert_error(srv.end(rid, tok[:-1] + ("A" if tok[-1] != "A" else "B")), 403, "forbidden")
    txs.expect(0, what="refused update / end")

    # End: one transaction; the chain records it.
    e = srv.end(rid, tok)
    assert e.status == 200, e.describe()
    assert e.json()["status"] == "ended" and e.json()["room_id"] == rid, e.describe()
    assert_timestamp(e.json()["ended_at"], "ended_at")
    txs.expect(1, SEL_END, "end")
    on_chain = chain.get_room(reg.address, rid)
    assert on_chain.status == STATUS_ENDED and on_chain.ended_at >= on_chain.created_at, on_chain
    assert len(chain.room_logs(reg.address, rid, T_ENDED)) == 1
    assert chain.get_room(reg.address, other["room_id"]).status == STATUS_ACTIVE

    # After the end: idempotent end, 410s, lists by status; none of it is a transaction.
    assert srv.end(rid, tok).json() == e.json()
    assert_error(srv.join(rid), 410, "room_ended")
    assert_error(srv.update(rid, "x", tok), 410, "room_ended")
    assert [x["room_id"] for x in srv.list_rooms(status="ended").json()["rooms"]] == [rid]
    assert [x["room_id"] for x in srv.list_rooms(status="active").json()["rooms"]] == [other["room_id"]]
    view = srv.room(rid).json()
    assert view["status"] == "ended" and view["title"] == "Lớp học online 2", view
    assert_public_view(view, secrets)
    txs.expect(0, what="reads and repeated end after the end")

    # The index and side table are a SQLite file under --data-dir.
    files = [p for p in srv.data_dir.rglob("*") if p.is_file() and p.read_bytes()[:16] == b"SQLite format 3\x00"]
    assert files, f"no SQLite file under the data dir: {list(srv.data_dir.rglob('*'))}"


# --------------------------------------------------------------------------------------
# 2. concurrent creates
# --------------------------------------------------------------------------------------

def test_concurrent_creates(server, registry):
    srv = serve_contract(server, registry)
    txs = OperatorTxs(registry)
    n = 16
    barrier = threading.Barrier(n)
    replies: list = [None] * n

    def one(i: int):
        barrier.wait(30)
        replies[i] = srv.post(CREATE, {"title": f"parallel {i}", "host": "crowd"}, timeout=120)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not any(t.is_alive() for t in threads), "a create never answered"
    bad = [r.describe() for r in replies if r is None or r.status != 201]
    assert not bad, f"{len(bad)} of {n} concurrent creates failed:\n" + "\n".join(bad)
    ids = [r.json()["room_id"] for r in replies]
    assert len(set(ids)) == n, ids
    assert {r.json()["title"] for r in replies} == {f"parallel {i}" for i in range(n)}
    txs.expect(n, SEL_CREATE, f"{n} concurrent creates")

    listed = srv.all_rooms(limit=5)
    assert sorted(x["room_id"] for x in listed) == sorted(ids)
    for rid in ids:
        assert registry.chain.get_room(registry.address, rid).status == STATUS_ACTIVE, rid
    # every host token still ends its own room
    for r in replies[:3]:
        assert srv.end(r.json()["room_id"], r.json()["host_token"]).status == 200
    txs.expect(3, SEL_END, "3 ends")


# --------------------------------------------------------------------------------------
# 3. restart, changes made on chain while down, a fresh data dir
# --------------------------------------------------------------------------------------

def _public(room: dict) -> tuple:
    return (room["room_id"], room["title"], room["status"], room["host"], room["mode"], room["provider"])


def test_restart_catches_up_and_fresh_data_dir_rebuilds_from_chain(server, registry, tmp_path):
    reg, chain = registry, registry.chain
    srv = serve_contract(server, reg)
    a = srv.create(title="room a", host="alice")
    b = srv.create(title="room b", host="bob")
    c = srv.create(title="room c", host="carol")
    d = srv.create(title="room d", host="dave")
    assert srv.update(a["room_id"], "room a, part 2", a["host_token"]).status == 200
    assert srv.end(c["room_id"], c["host_token"]).status == 200
    srv.stop()

    # While the server is down, the operator ends room b directly on chain.
    chain.end_room(OPERATOR, reg.address, b["room_id"])
    assert chain.get_room(reg.address, b["room_id"]).status == STATUS_ENDED
    txs = OperatorTxs(reg)

    srv.start()
    txs.expect(0, what="restart")
    rooms = {x["room_id"]: x for x in srv.all_rooms()}
    assert set(rooms) == {a["room_id"], b["room_id"], c["room_id"], d["room_id"]}, rooms
    assert rooms[a["room_id"]]["title"] == "room a, part 2" and rooms[a["room_id"]]["status"] == "active"
    assert rooms[b["room_id"]]["status"] == "ended", f"the end made on chain while down is not indexed: {rooms}"
    assert rooms[c["room_id"]]["status"] == "ended" and rooms[d["room_id"]]["status"] == "active"
    assert [x["room_id"] for x in srv.list_rooms(status="active").json()["rooms"]] == \
        [x for x in (d["room_id"], a["room_id"])], "active rooms, newest first"
    assert_error(srv.join(b["room_id"]), 410, "room_ended")
    assert srv.room(b["room_id"]).json()["ended_at"] is not None

    # The side table survived: host tokens and ingest details still work.
    ing = srv.ingest(a["room_id"], a["host_token"])
    assert ing.status == 200, ing.describe()
    assert ing.json()["whip_url"] == a["whip_url"]
    assert_error(srv.ingest(a["room_id"], d["host_token"]), 403, "forbidden")
    txs.mark()
    e = srv.end(a["room_id"], a["host_token"])
    assert e.status == 200 and e.json()["status"] == "ended", e.describe()
    txs.expect(1, SEL_END, "end after restart")
    assert chain.get_room(reg.address, a["room_id"]).status == STATUS_ENDED
    # The room ended on chain: its host's end answers 200 without another transaction.
    eb = srv.end(b["room_id"], b["host_token"])
    assert eb.status == 200 and eb.json()["status"] == "ended", eb.describe()
    txs.expect(0, what="end of a room already ended on chain")

    before = sorted(_public(x) for x in srv.all_rooms())
    srv.stop()

    # A fresh data dir: the public index comes back from the chain alone.
    fresh = serve_contract(server, reg, data_dir=tmp_path / "fresh-data")
    txs.expect(0, what="start on a fresh data dir")
    after = sorted(_public(x) for x in fresh.all_rooms())
    assert after == before, f"rebuilt index differs:\n{after}\n!=\n{before}"
    j = fresh.join(d["room_id"])
    assert j.status == 200 and j.json()["title"] == "room d", j.describe()
    assert_error(fresh.join(c["room_id"]), 410, "room_ended")
    # ...but it has no host tokens.
    assert_error(fresh.end(d["room_id"], d["host_token"]), 403, "forbidden")
    assert_error(fresh.update(d["room_id"], "hijack", d["host_token"]), 403, "forbidden")
    assert_error(fresh.ingest(d["room_id"], d["host_token"]), 403, "forbidden")
    txs.expect(0, what="refused host operations on the fresh data dir")
    assert chain.get_room(reg.address, d["room_id"]).status == STATUS_ACTIVE


# --------------------------------------------------------------------------------------
# 4. nothing secret on chain; the key nowhere
# --------------------------------------------------------------------------------------

def _secret_forms(name: str, value: str) -> dict[str, bytes]:
    """The byte strings that would betray `value` in calldata or log data. A provider secret
    shaped `<key>k<uid>` also yields its key part alone (the uid is public: it is on chain)."""
    forms = {name: value.encode("utf-8")}
    m = re.fullmatch(r"([0-9a-f]{16,})k([0-9a-f]{32})", value)
    if m:
        forms.update(_secret_forms(name + " key part", m.group(1)))
    if re.fullmatch(r"(?:[0-9a-fA-F]{2}){8,}", value):
        forms[name + " (hex-decoded)"] = bytes.fromhex(value)
    return forms


def _url_secrets(prefix: str, url: str) -> dict[str, str]:
    """A publish URL and the secret key in its path (`<key>k<uid>`: the uid alone is public)."""
    out = {prefix: url}
    from urllib.parse import urlsplit
    for part in urlsplit(url).path.strip("/").split("/"):
        m = re.fullmatch(r"([0-9a-f]{16,})k([0-9a-f]{32})", part)
        if m:
            out[prefix + " key+uid"] = part
            out[prefix + " key"] = m.group(1)
    assert prefix + " key" in out, f"no <key>k<uid> part in the publish URL {url!r}: the scan would miss the key"
    return out


def _ingest_secrets(prefix: str, ingest: dict) -> dict[str, str]:
    out = {}
    if ingest.get("whip_url"):
        out.update(_url_secrets(prefix + " ingest.whip_url", ingest["whip_url"]))
    if ingest.get("rtmps") and ingest["rtmps"].get("stream_key"):
        out[prefix + " rtmps.stream_key"] = ingest["rtmps"]["stream_key"]
    if ingest.get("srt") and ingest["srt"].get("passphrase"):
        out[prefix + " srt.passphrase"] = ingest["srt"]["passphrase"]
    return out


def _cycle(srv, mode: str, label: str) -> dict[str, str]:
    """create, ingest, update, end through the API; returns the room's secrets by name."""
    room = srv.create(title=f"secret scan {label}", host="user_123", mode=mode)
    rid, tok = room["room_id"], room["host_token"]
    found = {f"{label} host_token": tok,
             f"{label} host_token sha256": hashlib.sha256(tok.encode()).hexdigest()}
    if room.get("whip_url"):
        found.update(_url_secrets(f"{label} whip_url", room["whip_url"]))
    found.update(_ingest_secrets(label, room["ingest"]))
    ing = srv.ingest(rid, tok)
    assert ing.status == 200, ing.describe()
    found.update(_ingest_secrets(label + " (ingest call)", ing.json()))
    assert srv.update(rid, f"secret scan {label} renamed", tok).status == 200
    assert srv.end(rid, tok).status == 200
    return found


def test_no_secret_on_chain_and_no_key_anywhere(server, registry, fake_cloudflare, tmp_path):
    reg, chain = registry, registry.chain
    secrets: dict[str, str] = {}

    # The embedded media server (webrtc).
    local = serve_contract(server, reg, "--log-level", "debug")
    cmdline = Path(f"/proc/{local.proc.pid}/cmdline").read_bytes()
    assert_no_key(cmdline.replace(b"\x00", b" "), where="serve's /proc/<pid>/cmdline")
    secrets.update(_cycle(local, "webrtc", "local"))
    kept = local.create(title="still active", host="user_123")  # create without end
    secrets["kept host_token"] = kept["host_token"]
    secrets.update(_url_secrets("kept whip_url", kept["whip_url"]))
    local.stop()
    media_secret = (local.data_dir / "media-secret").read_text().strip()
    assert len(media_secret) >= 32, "media-secret looks empty"
    secrets["local media-secret"] = media_secret

    # Cloudflare (webrtc and broadcast: WHIP URL, RTMPS stream keys, SRT passphrases).
    cf = serve_contract(server, reg, "--log-level", "debug", cf=fake_cloudflare)
    for mode in ("webrtc", "broadcast"):
        secrets.update(_cycle(cf, mode, f"cloudflare {mode}"))
        for k, v in FakeCloudflare.secrets_of(fake_cloudflare.last_created()).items():
            secrets[f"cloudflare {mode} fake {k}"] = v
    cf.stop()
    if (cf.data_dir / "media-secret").exists():
        secrets["cloudflare media-secret"] = (cf.data_dir / "media-secret").read_text().strip()

    # Every transaction and every log of the chain, from block 0.
    blobs: list[tuple[str, bytes]] = []
    txs = chain.transactions(0)
    assert len(txs) >= 1 + 4 + 6, f"expected the deploy and the cycles' transactions, found {len(txs)}"
    for t in txs:
        blobs.append((f"tx {t['hash']} input", bytes.fromhex(t["input"].removeprefix("0x"))))
    logs = chain.logs(from_block=0)
    kinds = {l.topics[0] for l in logs}
    assert {T_CREATED, T_UPDATED, T_ENDED} <= kinds, "the cycles' events are missing"
    for l in logs:
        blobs.append((f"log of tx {l.tx} (data+topics)",
                      l.data + b"".join(bytes.fromhex(x.removeprefix("0x")) for x in l.topics)))

    leaks = []
    for name, value in secrets.items():
        for form_name, needle in _secret_forms(name, value).items():
            for where, blob in blobs:
                text = blob.decode("utf-8", "ignore").encode("utf-8")
                if needle in blob or needle in text or needle.hex().encode() in blob:
                    leaks.append(f"{form_name} in {where}")
    assert not leaks, "secrets on chain:\n" + "\n".join(leaks)

    # The private key: not in serve's output (stdout+stderr are its log), nor in the data dirs.
    assert_no_key(local.log_text(), where=f"serve's output {local.log_path}")
    assert_no_key(cf.log_text(), where=f"serve's output {cf.log_path}")
    raw_key = bytes.fromhex(OPERATOR_KEY)
    for d in (local.data_dir, cf.data_dir):
        for p in d.rglob("*"):
            if p.is_file():
                data = p.read_bytes()
                assert raw_key not in data, f"the private key's bytes are in {p}"
                assert_no_key(data, where=str(p))


def test_deploy_output_does_not_show_the_key(anvil, tmp_path):
    for i, (env, key_file) in enumerate([
        ({}, write_key(tmp_path / "k.hex", OPERATOR_KEY)),
        ({}, write_key(tmp_path / "k0x.hex", "0x" + OPERATOR_KEY)),
        ({"ETH_PRIVATE_KEY": "0x" + OPERATOR_KEY}, None),
    ]):
        r = chain_cli(anvil, "deploy", key_file=key_file, env=env)
        assert r.returncode == 0, f"deploy #{i}: {cli_text(r)}"
        assert_no_key(r.stdout + r.stderr, where=f"deploy #{i} stdout/stderr")


# --------------------------------------------------------------------------------------
# 5. the chain goes down
# --------------------------------------------------------------------------------------

def test_chain_down_create_503_deletes_input_and_not_ready(server, registry, fake_cloudflare):
    # No join cache: every join below reaches the store.
    srv = serve_contract(server, registry, "--cache-ttl-ms", "0", cf=fake_cloudflare)
    first = srv.create(title="before the outage")
    first_uid = fake_cloudflare.last_created()["uid"]
    assert srv.get("/readyz").status == 200

    registry.node.kill()
    made_before = len(fake_cloudflare.created)
    r = srv.post(CREATE, {"title": "during the outage", "host": "user_123"}, timeout=120)
    assert_error(r, 503, "store_unavailable")
    made = fake_cloudflare.created[made_before:]
    for inp in made:  # the provider is called first: what it made must be deleted again
        assert fake_cloudflare.deletes(inp["uid"]), \
            f"orphaned live input {inp['uid']}: no DELETE after the chain write failed"
    assert set(fake_cloudflare.inputs) == {first_uid}, \
        f"live inputs left at Cloudflare: {sorted(set(fake_cloudflare.inputs) - {first_uid})}"

    ready = srv.get("/readyz", timeout=120)
    assert ready.status == 503, f"readyz with the chain down: {ready.describe()}"
    # An unknown room while the chain is down is not "not found".
    assert_error(srv.join("live_QQQQQQQQQQQQQQQQ"), 503, "store_unavailable")
    # A room the index knows still answers joins.
    joined = srv.join(first["room_id"])
    assert joined.status == 200, f"join of an indexed room with the chain down: {joined.describe()}"
    # The process keeps serving.
    assert srv.get("/healthz").status == 200
    lobby = srv.get("/")
    assert lobby.status == 200 and b"<" in lobby.body, lobby.describe()
    assert srv.proc.poll() is None, "serve exited when the chain went down"


def test_frozen_chain_answers_503_then_recovers(server, registry):
    """A node that accepts connections and never answers (SIGSTOP): create gives up with 503
    store_unavailable instead of hanging, reads of the local index still answer, and once
    the node runs again the server recovers; the refused create left nothing on chain."""
    reg, chain = registry, registry.chain
    srv = serve_contract(server, reg)
    first = srv.create(title="before the freeze")
    txs = OperatorTxs(reg)
    os.kill(reg.node.proc.pid, signal.SIGSTOP)
    try:
        r = srv.post(CREATE, {"title": "during the freeze", "host": "user_123"}, timeout=300)
        assert_error(r, 503, "store_unavailable")
        assert srv.get("/healthz").status == 200
        ready = srv.get("/readyz", timeout=300)
        assert ready.status == 503, f"readyz with a frozen node: {ready.describe()}"
    finally:
        os.kill(reg.node.proc.pid, signal.SIGCONT)
    wait_until(lambda: srv.get("/readyz", timeout=60).status == 200, 60, "readyz to recover")
    txs.expect(0, what="the create refused while the node was frozen")
    assert len(chain.logs(reg.address, [T_CREATED])) == 1, "the refused create reached the chain"
    assert [x["room_id"] for x in srv.all_rooms()] == [first["room_id"]]
    second = srv.create(title="after the freeze")
    txs.expect(1, SEL_CREATE, "create after recovery")
    assert srv.end(first["room_id"], first["host_token"]).status == 200
    txs.expect(1, SEL_END, "end after recovery")
    assert {x["room_id"] for x in srv.all_rooms()} == {first["room_id"], second["room_id"]}


# --------------------------------------------------------------------------------------
# two servers, and rooms created on chain by someone else
# --------------------------------------------------------------------------------------

def test_second_server_follows_the_chain(server, registry, tmp_path):
    """Server B (another operator key, its own data dir) sees A's rooms through the event
    scanner, and A sees B's; neither can use the other's host tokens."""
    reg = registry
    other_key = write_key(tmp_path / "other.key", OTHER_KEY)
    r = chain_cli(reg.node, "grant-operator", OTHER, "--contract", reg.address, key_file=reg.key_file)
    assert r.returncode == 0, cli_text(r)
    a = serve_contract(server, reg)
    b = serve_contract(server, reg, "--cache-ttl-ms", "200", key_file=other_key)
    ra = a.create(title="made by A", host="alice")

    def listed(srv, rid, status=None):
        return [x for x in srv.list_rooms(status=status).json()["rooms"] if x["room_id"] == rid]

    wait_until(lambda: listed(b, ra["room_id"]), 20, "server B to index A's room from its event")
    assert listed(b, ra["room_id"])[0]["title"] == "made by A"
    jb = b.join(ra["room_id"])
    assert jb.status == 200 and jb.json()["title"] == "made by A", jb.describe()
    assert_error(b.end(ra["room_id"], ra["host_token"]), 403, "forbidden")

    assert a.update(ra["room_id"], "renamed by A", ra["host_token"]).status == 200
    wait_until(lambda: [x["title"] for x in listed(b, ra["room_id"])] == ["renamed by A"], 20,
               "server B to index the RoomUpdated event")
    assert a.end(ra["room_id"], ra["host_token"]).status == 200
    wait_until(lambda: listed(b, ra["room_id"], "ended"), 20, "server B to index the RoomEnded event")
    wait_until(lambda: b.join(ra["room_id"]).status == 410, 20, "server B's join to answer 410")

    rb = b.create(title="made by B", host="bob")
    wait_until(lambda: listed(a, rb["room_id"]), 20, "server A to index B's room")
    assert_error(a.update(rb["room_id"], "x", rb["host_token"]), 403, "forbidden")
    assert b.end(rb["room_id"], rb["host_token"]).status == 200


def test_rooms_created_on_chain_by_others(server, registry):
    """Rooms another operator wrote straight to the registry: one well formed (listed with
    its title, host and mode from the meta; joinable; no host token works), one with
    malformed meta and a title that is not UTF-8 (listed, valid JSON), one whose roomId
    does not hash to its id (ignored)."""
    reg, chain = registry, registry.chain
    good_id, odd_id, fake_id = "live_ForeignRoom00001", "live_ForeignRoom00002", "live_Impostor0000001"
    meta = json.dumps({"host": "outsider", "mode": "broadcast", "provider": "local"}).encode()
    for key, rid, title, m in [
        (room_key(good_id), good_id.encode(), "Made elsewhere".encode(), meta),
        (room_key(odd_id), odd_id.encode(), b"\xff\xfe not utf-8 \xc3", b"{not json"),
        (room_key("live_Mismatch00000001"), fake_id.encode(), b"impostor", meta),
    ]:
        rec = chain.send(OPERATOR, reg.address, create_room_calldata(key, rid, title, m, bytes(range(16))))
        assert int(rec["status"], 16) == 1, rec
    srv = serve_contract(server, reg)
    rooms = {x["room_id"]: x for x in srv.all_rooms()}
    assert set(rooms) == {good_id, odd_id}, f"listed: {sorted(rooms)}"
    g = rooms[good_id]
    assert (g["title"], g["host"], g["mode"], g["status"]) == ("Made elsewhere", "outsider", "broadcast", "active"), g
    assert isinstance(rooms[odd_id]["title"], str) and rooms[odd_id]["mode"] in ("webrtc", "broadcast")
    j = srv.join(good_id)
    assert j.status == 200 and j.json()["title"] == "Made elsewhere", j.describe()
    assert srv.join(odd_id).status == 200
    assert_error(srv.join(fake_id), 404, "room_not_found")
    assert chain.get_room(reg.address, fake_id).status == STATUS_NONE
    assert_error(srv.end(good_id, "lrh_" + "A" * 43), 403, "forbidden")

    # Ended on chain by its operator while this server runs: the scanner notices.
    chain.end_room(OPERATOR, reg.address, good_id)
    wait_until(lambda: any(x["room_id"] == good_id for x in srv.list_rooms(status="ended").json()["rooms"]),
               20, "the scanner to index the RoomEnded event")
    # (joins may serve the cached view for --cache-ttl-ms, 2 s)
    wait_until(lambda: srv.join(good_id).status == 410, 20, "the join to answer 410")
    assert_error(srv.join(good_id), 410, "room_ended")


# --------------------------------------------------------------------------------------
# 6. roles
# --------------------------------------------------------------------------------------

def test_operator_role_grant_and_revoke(server, registry, tmp_path):
    reg, chain = registry, registry.chain
    other_key = write_key(tmp_path / "other.key", OTHER_KEY)

    # Not an operator: refuses to start, and says what to do.
    code, out, err = serve_expect_exit(contract_args(reg, other_key), tmp_path)
    assert code == 2, f"serve with a non-operator key exited {code}:\n{err}"
    assert "grant-operator" in err, f"the message should name `liveroom contract grant-operator`:\n{err}"
    assert OTHER.lower() in err.lower(), f"the message should name the key's address {OTHER}:\n{err}"
    assert_no_key(out + err, OTHER_KEY, "serve's output")

    # Only the admin grants.
    r = chain_cli(reg.node, "grant-operator", OTHER, "--contract", reg.address, key_file=other_key)
    assert r.returncode != 0, f"a non-admin key granted the operator role: {cli_text(r)}"
    assert not chain.is_operator(reg.address, OTHER)
    assert_no_key(r.stdout + r.stderr, OTHER_KEY, "grant-operator's output")

    r = chain_cli(reg.node, "grant-operator", OTHER, "--contract", reg.address, key_file=reg.key_file)
    assert r.returncode == 0, cli_text(r)
    assert_no_key(r.stdout + r.stderr, OPERATOR_KEY, "grant-operator's output")
    assert chain.is_operator(reg.address, OTHER)

    srv = serve_contract(server, reg, key_file=other_key)
    txs = OperatorTxs(reg, OTHER)
    room = srv.create(title="by the second operator")
    txs.expect(1, SEL_CREATE, "create by the granted operator")
    assert chain.get_room(reg.address, room["room_id"]).status == STATUS_ACTIVE

    # Revoked while it runs (LIVEROOM_CONTRACT instead of --contract): writes fail, clearly.
    r = chain_cli(reg.node, "revoke-operator", OTHER, key_file=reg.key_file,
                  env={"LIVEROOM_CONTRACT": reg.address})
    assert r.returncode == 0, cli_text(r)
    assert not chain.is_operator(reg.address, OTHER)
    c = srv.post(CREATE, {"title": "after the revoke", "host": "user_123"}, timeout=120)
    assert_error(c, 503, "store_unavailable")
    # Clients get the API's generic store_unavailable text (backend details stay out of
    # replies, rooms_api.cpp); the server's log names the problem and the fix.
    wait_until(lambda: "grant-operator" in srv.log_text(), 10,
               "the log to say the key lost the operator role (`liveroom contract grant-operator`)")
    assert OTHER.lower() in srv.log_text().lower()
    assert [x["room_id"] for x in srv.list_rooms().json()["rooms"]] == [room["room_id"]]
    # reads still work
    assert srv.join(room["room_id"]).status == 200


def test_env_twins_deploy_and_serve(server, anvil, tmp_path):
    """Key, node, contract, chain id and store from the environment only; the deploying key
    (here dev account #1) is admin and operator."""
    env = {"ETH_RPC_URL": anvil.url, "ETH_PRIVATE_KEY": OTHER_KEY}
    r = run_cli(["contract", "deploy", "--chain-id", str(CHAIN_ID)], env=env, timeout=120)
    assert r.returncode == 0, cli_text(r)
    address = r.stdout.decode().strip().splitlines()[-1].strip()
    assert anvil.chain.is_operator(address, OTHER)
    assert not anvil.chain.is_operator(address, OPERATOR)
    reg = Registry(anvil, address, tmp_path / "unused")
    key_file = write_key(tmp_path / "other.key", OTHER_KEY)
    srv = server("--stream", "local", env={
        "LIVEROOM_STORE": "contract", "ETH_RPC_URL": anvil.url, "LIVEROOM_CONTRACT": address,
        "ETH_PRIVATE_KEY_FILE": str(key_file), "LIVEROOM_CHAIN_ID": str(CHAIN_ID),
        "LIVEROOM_CONFIRMATIONS": "1"})
    txs = OperatorTxs(reg, OTHER)
    room = srv.create(title="from env")
    txs.expect(1, SEL_CREATE, "create")
    assert anvil.chain.get_room(address, room["room_id"]).status == STATUS_ACTIVE
    assert [x["room_id"] for x in srv.list_rooms().json()["rooms"]] == [room["room_id"]]


# --------------------------------------------------------------------------------------
# 7. configuration errors
# --------------------------------------------------------------------------------------

KEY_GARBAGE = {
    "text": "this is not a private key, 7c1d but nothing like it\n",
    "63 hex digits": OPERATOR_KEY[:-1] + "\n",
    "65 hex digits": OPERATOR_KEY + "a\n",
    "non-hex digit": OPERATOR_KEY[:30] + "zz" + OPERATOR_KEY[32:] + "\n",
    "zero": "0" * 64 + "\n",
    "empty": "",
}


@pytest.mark.parametrize("kind", sorted(KEY_GARBAGE))
def test_garbage_key_file_exits_2_without_echo(registry, tmp_path, kind):
    content = KEY_GARBAGE[kind]
    key_file = tmp_path / "bad.key"
    key_file.write_text(content)
    key_file.chmod(0o600)
    code, out, err = serve_expect_exit(contract_args(registry, key_file), tmp_path)
    assert code == 2, f"key file with {kind}: exit {code}\n{err}"
    assert "key" in err.lower(), f"the message should be about the key:\n{err}"
    assert_no_key(out + err, OPERATOR_KEY, "serve's output")
    body = content.strip()
    if len(body) >= 12 and kind != "zero":
        assert body not in out + err, f"the key file's content is echoed:\n{err}"


def test_config_errors_exit_2(registry, tmp_path):
    reg = registry
    base = contract_args(reg)

    def without(args: list[str], flag: str) -> list[str]:
        i = args.index(flag)
        return args[:i] + args[i + 2:]

    def replace(args: list[str], flag: str, value: str) -> list[str]:
        i = args.index(flag)
        return args[:i + 1] + [value] + args[i + 2:]

    cases = {
        "missing key file": (replace(base, "--key-file", str(tmp_path / "no-such.key")), {}, ("no-such.key", "key")),
        "no key at all": (without(base, "--key-file"), {}, ("key",)),
        "garbage ETH_PRIVATE_KEY": (without(base, "--key-file"),
                                    {"ETH_PRIVATE_KEY": OPERATOR_KEY[:40] + "not-hex"}, ("key",)),
        "missing --contract": (without(base, "--contract"), {}, ("contract",)),
        "malformed --contract": (replace(base, "--contract", "0x1234"), {}, ("contract", "address")),
        "wrong --chain-id": (replace(base, "--chain-id", "1"), {}, ("chain",)),
        "missing --chain-id": (without(base, "--chain-id"), {}, ("chain",)),
        "no contract at the address": (replace(base, "--contract", OTHER), {}, ("contract", "registry")),
    }
    failures = []
    for name, (args, env, words) in cases.items():
        code, out, err = serve_expect_exit(args, tmp_path, env=env)
        problems = []
        if code != 2:
            problems.append(f"exit {code} (expected 2)")
        if not any(w.lower() in err.lower() for w in words):
            problems.append(f"stderr does not mention any of {words}")
        try:
            assert_no_key(out + err, OPERATOR_KEY, "serve's output")
        except AssertionError as e:
            problems.append(str(e))
        if problems:
            failures.append(f"{name}: {'; '.join(problems)}\n  stderr: {err.strip()[-800:]!r}")
    assert not failures, "configuration errors handled badly:\n" + "\n".join(failures)


def test_wrong_chain_id_names_both_ids(registry, tmp_path):
    args = contract_args(registry)
    i = args.index("--chain-id")
    args[i + 1] = "1"
    code, out, err = serve_expect_exit(args, tmp_path)
    assert code == 2, err
    assert str(CHAIN_ID) in err, f"the message should say which chain the node serves ({CHAIN_ID}):\n{err}"


def test_not_a_registry_exits_2(registry, tmp_path):
    """A contract that is not a RoomRegistry (its code always reverts) at --contract."""
    runtime = "60006000fd"  # PUSH1 0 PUSH1 0 REVERT
    init = "6005600c60003960056000f3" + runtime  # CODECOPY the 5 runtime bytes and RETURN them
    chain = registry.chain
    h = chain.rpc("eth_sendTransaction", {"from": OTHER, "data": "0x" + init})
    wait_until(lambda: chain.rpc("eth_getTransactionReceipt", h) is not None, 30, "the deploy's receipt")
    other_contract = chain.rpc("eth_getTransactionReceipt", h)["contractAddress"]
    assert chain.code(other_contract) == bytes.fromhex(runtime)
    args = contract_args(registry)
    args[args.index("--contract") + 1] = to_checksum(other_contract)
    code, out, err = serve_expect_exit(args, tmp_path)
    assert code == 2, f"exit {code}:\n{err}"
    assert "registry" in err.lower(), f"the message should say it is not a RoomRegistry:\n{err}"


def test_deploy_config_errors_exit_2(anvil, tmp_path):
    garbage = tmp_path / "bad.key"
    garbage.write_text(OPERATOR_KEY[:-1] + "\n")
    garbage.chmod(0o600)
    good = write_key(tmp_path / "good.key", OPERATOR_KEY)
    cases = {
        "garbage key file": chain_cli(anvil, "deploy", key_file=garbage),
        "missing key file": chain_cli(anvil, "deploy", key_file=tmp_path / "nope.key"),
        "no key": chain_cli(anvil, "deploy"),
        "wrong chain id": run_cli(["contract", "deploy", "--chain-id", "1", "--rpc-url", anvil.url,
                                   "--key-file", str(good)], timeout=120),
    }
    failures = []
    for name, r in cases.items():
        text = (r.stdout + r.stderr).decode("utf-8", "replace")
        if r.returncode != 2:
            failures.append(f"{name}: exit {r.returncode} (expected 2): {cli_text(r)}")
        try:
            assert_no_key(text, OPERATOR_KEY, "deploy's output")
        except AssertionError as e:
            failures.append(f"{name}: {e}")
    assert not failures, "\n".join(failures)
    assert anvil.chain.nonce(OPERATOR) == 0, "a refused deploy sent a transaction"

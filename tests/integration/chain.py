"""A local EVM chain for the contract store's integration tests, with no pip package and no
Node at run time:

- `keccak256()`: Keccak-256 as Ethereum uses it (the original padding, NOT hashlib's
  sha3_256), checked against known vectors at import.
- `Anvil`: one anvil child process on a free port (chain id 31337), owned by one test so it
  can kill it. The binary: $LIVEROOM_ANVIL_BIN, else $ANVIL_BIN, else the one inside
  contracts/node_modules (installed by `scripts/setup --test`).
- `Chain`: JSON-RPC over urllib (nonces, blocks, logs, eth_call, eth_sendTransaction from
  anvil's unlocked dev accounts) and the little ABI the tests need for the RoomRegistry:
  getRoom / hasRole / deployBlock calls, endRoom / grantRole transactions, and decoding of
  RoomCreated / RoomUpdated / RoomEnded logs.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveroom_harness import REPO, free_port

ANVIL_BIN = Path(os.environ.get("LIVEROOM_ANVIL_BIN") or os.environ.get("ANVIL_BIN") or
                 str(REPO / "contracts" / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"))
CHAIN_ID = 31337

# anvil's deterministic dev accounts (mnemonic "test test ... junk"), all funded and unlocked.
DEV_KEYS = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
]
DEV_ADDRESSES = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
]

# --------------------------------------------------------------------------------------
# Keccak-256
# --------------------------------------------------------------------------------------

_RC = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]
# rotation offsets r[x][y]
_ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56],
        [27, 20, 39, 8, 14]]
_M64 = (1 << 64) - 1


def _rotl(v: int, n: int) -> int:
    return ((v << n) | (v >> (64 - n))) & _M64 if n else v


def _keccak_f(a: list[int]) -> None:  # a[x + 5*y]
    for rc in _RC:
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rotl(c[(x + 1) % 5], 1) for x in range(5)]
        for i in range(25):
            a[i] ^= d[i % 5]
        b = [0] * 25
        for x in range(5):
            for y in range(5):
                b[y + 5 * ((2 * x + 3 * y) % 5)] = _rotl(a[x + 5 * y], _ROT[x][y])
        for x in range(5):
            for y in range(5):
                a[x + 5 * y] = b[x + 5 * y] ^ ((~b[(x + 1) % 5 + 5 * y]) & b[(x + 2) % 5 + 5 * y])
        a[0] ^= rc


def keccak256(data: bytes | str) -> bytes:
    if isinstance(data, str):
        data = data.encode("utf-8")
    rate = 136
    msg = bytearray(data) + b"\x01"
    msg += b"\x00" * (-len(msg) % rate)
    msg[-1] |= 0x80
    state = [0] * 25
    for off in range(0, len(msg), rate):
        for i in range(rate // 8):
            state[i] ^= int.from_bytes(msg[off + 8 * i:off + 8 * i + 8], "little")
        _keccak_f(state)
    return b"".join(state[i].to_bytes(8, "little") for i in range(4))


assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
# contracts/README.md's example room id, role and selectors
assert keccak256("live_7fGq2LmZk9XbW4cT1pVn0s").hex() == \
    "69744e4267317a57c411ac70ef1ff4b388cf4fbf9cf1ee3ee4ca69c1df33388b"
assert keccak256("OPERATOR_ROLE").hex() == "97667070c54ef182b0f5858b034beac1b6f3089aa2d3188bb1e8929f4fa9b929"
assert keccak256("x" * 200).hex() == keccak256(b"x" * 200).hex()  # multi-block input runs


def selector(signature: str) -> bytes:
    return keccak256(signature)[:4]


def topic(signature: str) -> str:
    return "0x" + keccak256(signature).hex()


def room_key(room_id: str) -> bytes:
    """The RoomRegistry id of a room: keccak256(utf8(room_id))."""
    return keccak256(room_id.encode("utf-8"))


def to_checksum(address: str) -> str:
    """EIP-55 mixed-case form of a 20-byte address."""
    a = address.lower().removeprefix("0x")
    h = keccak256(a).hex()
    return "0x" + "".join(ch.upper() if ch.isalpha() and int(h[i], 16) >= 8 else ch for i, ch in enumerate(a))


assert selector("endRoom(bytes32)").hex() == "5d7cbced"
assert selector("getRoom(bytes32)").hex() == "ad9a2866"
assert to_checksum(DEV_ADDRESSES[0].lower()) == DEV_ADDRESSES[0]
assert to_checksum(DEV_ADDRESSES[1].lower()) == DEV_ADDRESSES[1]

OPERATOR_ROLE = keccak256("OPERATOR_ROLE")
SEL_CREATE = selector("createRoom(bytes32,address,bytes16,string,string,string)")
SEL_UPDATE = selector("updateRoom(bytes32,string)")
SEL_END = selector("endRoom(bytes32)")
SEL_GET = selector("getRoom(bytes32)")
SEL_HAS_ROLE = selector("hasRole(bytes32,address)")
SEL_DEPLOY_BLOCK = selector("deployBlock()")
assert SEL_CREATE.hex() == "9ce2358b" and SEL_UPDATE.hex() == "a3f37f9c"

T_CREATED = topic("RoomCreated(bytes32,address,bytes16,uint64,string,string,string)")
T_UPDATED = topic("RoomUpdated(bytes32,string)")
T_ENDED = topic("RoomEnded(bytes32,uint64)")
assert T_CREATED == "0xbe800895ce2a2b15ff80b411de59d54db1f0e84df967fcac66a22a545b7afb60"
assert T_UPDATED == "0x25f0ee7c7d971e404a52ca591c3ddc5315005738fd63f8f6fa1d1f7b9649a82d"
assert T_ENDED == "0xda6af329f39acfc7084994b24984651e9c4e6372dc8b5319c5cf19c43a327a25"

STATUS_NONE, STATUS_ACTIVE, STATUS_ENDED = 0, 1, 2


# --------------------------------------------------------------------------------------
# ABI (the static words and dynamic strings the RoomRegistry uses)
# --------------------------------------------------------------------------------------

def word_address(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address.lower().removeprefix("0x"))


def abi_string_at(data: bytes, head_index: int) -> str:
    """The dynamic string whose offset is the head word `head_index` of `data`."""
    off = int.from_bytes(data[32 * head_index:32 * head_index + 32], "big")
    n = int.from_bytes(data[off:off + 32], "big")
    assert off + 32 + n <= len(data), f"string out of bounds in {data.hex()}"
    return data[off + 32:off + 32 + n].decode("utf-8")


@dataclass
class ChainRoom:
    host: str
    status: int
    created_at: int
    ended_at: int
    input_uid: bytes


@dataclass
class Log:
    topics: list[str]
    data: bytes
    block: int
    tx: str
    address: str


# --------------------------------------------------------------------------------------
# JSON-RPC
# --------------------------------------------------------------------------------------

class RpcError(AssertionError):
    pass


class Chain:
    """JSON-RPC client of one node."""

    def __init__(self, url: str):
        self.url = url
        self._id = 0

    def rpc(self, method: str, *params: Any, timeout: float = 30.0) -> Any:
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            doc = json.loads(resp.read())
        if doc.get("error"):
            raise RpcError(f"{method}{list(params)}: {doc['error']}")
        return doc["result"]

    # -- state ------------------------------------------------------------------------

    def chain_id(self) -> int:
        return int(self.rpc("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def nonce(self, address: str, tag: str = "latest") -> int:
        return int(self.rpc("eth_getTransactionCount", address, tag), 16)

    def code(self, address: str) -> bytes:
        return bytes.fromhex(self.rpc("eth_getCode", address, "latest").removeprefix("0x"))

    def block(self, number: int) -> dict:
        return self.rpc("eth_getBlockByNumber", hex(number), True)

    def transactions(self, from_block: int = 0, to_block: int | None = None) -> list[dict]:
        """Every transaction (full objects) of blocks from_block..to_block (default latest)."""
        last = self.block_number() if to_block is None else to_block
        out = []
        for n in range(from_block, last + 1):
            out += self.block(n)["transactions"]
        return out

    def logs(self, address: str | None = None, topics: list | None = None, from_block: int = 0) -> list[Log]:
        flt: dict[str, Any] = {"fromBlock": hex(from_block), "toBlock": "latest"}
        if address:
            flt["address"] = address
        if topics:
            flt["topics"] = topics
        return [Log(l["topics"], bytes.fromhex(l["data"].removeprefix("0x")), int(l["blockNumber"], 16),
                    l["transactionHash"], l["address"]) for l in self.rpc("eth_getLogs", flt)]

    def call(self, to: str, data: bytes) -> bytes:
        out = self.rpc("eth_call", {"to": to, "data": "0x" + data.hex()}, "latest")
        return bytes.fromhex(out.removeprefix("0x"))

    # -- the RoomRegistry ---------------------------------------------------------------

    def get_room(self, contract: str, room_id: str) -> ChainRoom:
        out = self.call(contract, SEL_GET + room_key(room_id))
        assert len(out) == 160, f"getRoom returned {len(out)} bytes: {out.hex()}"
        w = [out[i:i + 32] for i in range(0, 160, 32)]
        return ChainRoom(host="0x" + w[0][12:].hex(), status=int.from_bytes(w[1], "big"),
                         created_at=int.from_bytes(w[2], "big"), ended_at=int.from_bytes(w[3], "big"),
                         input_uid=w[4][:16])

    def is_operator(self, contract: str, address: str) -> bool:
        out = self.call(contract, SEL_HAS_ROLE + OPERATOR_ROLE + word_address(address))
        return int.from_bytes(out, "big") == 1

    def deploy_block(self, contract: str) -> int:
        return int.from_bytes(self.call(contract, SEL_DEPLOY_BLOCK), "big")

    def room_logs(self, contract: str, room_id: str, event_topic: str) -> list[Log]:
        return self.logs(contract, [event_topic, "0x" + room_key(room_id).hex()])

    def updated_titles(self, contract: str, room_id: str) -> list[str]:
        return [abi_string_at(l.data, 0) for l in self.room_logs(contract, room_id, T_UPDATED)]

    def created_event(self, contract: str, room_id: str) -> dict:
        logs = self.room_logs(contract, room_id, T_CREATED)
        assert len(logs) == 1, f"{len(logs)} RoomCreated logs for {room_id}"
        d = logs[0].data
        return {"host": "0x" + logs[0].topics[2][-40:], "input_uid": d[:16],
                "created_at": int.from_bytes(d[32:64], "big"), "room_id": abi_string_at(d, 2),
                "title": abi_string_at(d, 3), "meta": abi_string_at(d, 4), "tx": logs[0].tx}

    # -- transactions from anvil's unlocked dev accounts ------------------------------------

    def send(self, sender: str, to: str, data: bytes, timeout: float = 30.0) -> dict:
        """eth_sendTransaction (anvil signs for its dev accounts); returns the receipt, whose
        status may be 0x0 (anvil mines reverting transactions)."""
        h = self.rpc("eth_sendTransaction", {"from": sender, "to": to, "data": "0x" + data.hex()})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rec = self.rpc("eth_getTransactionReceipt", h)
            if rec is not None:
                return rec
            time.sleep(0.05)
        raise AssertionError(f"transaction {h} not mined within {timeout}s")

    def end_room(self, sender: str, contract: str, room_id: str) -> dict:
        rec = self.send(sender, contract, SEL_END + room_key(room_id))
        assert int(rec["status"], 16) == 1, f"endRoom({room_id}) reverted: {rec}"
        return rec


# --------------------------------------------------------------------------------------
# anvil process
# --------------------------------------------------------------------------------------

class Anvil:
    """An anvil owned by one test (so the test can kill it), on a free port."""

    def __init__(self, workdir: Path, binary: Path = ANVIL_BIN, port: int | None = None):
        self.binary = binary
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "anvil.log"
        self.proc: subprocess.Popen | None = None
        self.chain = Chain(self.url)
        workdir.mkdir(parents=True, exist_ok=True)

    def start(self, timeout: float = 20.0) -> "Anvil":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(self.binary), "--port", str(self.port), "--host", "127.0.0.1",
                                      "--chain-id", str(CHAIN_ID), "--silent"],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=str(self.workdir), start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"anvil exited {self.proc.returncode}: "
                                     f"{self.log_path.read_text('utf-8', 'replace')[-3000:]}")
            try:
                if self.chain.chain_id() == CHAIN_ID:
                    return self
            except (OSError, urllib.error.URLError, RpcError):
                pass
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"anvil did not answer within {timeout}s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def abi_encode_strings_call(sel: bytes, static_words: list[bytes], strings: list[bytes]) -> bytes:
    """Calldata for a function whose arguments are some static 32-byte words followed by
    dynamic `string`s (passed as raw bytes, so tests can send malformed UTF-8)."""
    head_len = 32 * (len(static_words) + len(strings))
    head, tail = b"".join(static_words), b""
    for s in strings:
        head += (head_len + len(tail)).to_bytes(32, "big")
        tail += len(s).to_bytes(32, "big") + s + b"\x00" * (-len(s) % 32)
    return sel + head + tail


def create_room_calldata(key: bytes, room_id: bytes, title: bytes, meta: bytes,
                         input_uid: bytes = b"", host: str = "0x" + "00" * 20) -> bytes:
    uid = input_uid.ljust(32, b"\x00")
    return abi_encode_strings_call(SEL_CREATE, [key, word_address(host), uid], [room_id, title, meta])

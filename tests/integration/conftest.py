"""Fixtures of the integration suite: the real `build/liveroom` binary, a fake Cloudflare
Stream API, the MongoDB URI of the FerretDB started by the test runner, and FerretDB
processes owned by a test. Machinery lives in liveroom_harness.py.

Environment:
  LIVEROOM_BIN                 binary under test (default <repo>/build/liveroom)
  LIVEROOM_TEST_COPY_BIN=1     run a private copy of it (immune to rebuilds during the run)
  LIVEROOM_FIXTURES_DIR        shared fixtures (default <repo>/../shared/fixtures)
  LIVEROOM_TEST_MONGODB_URI    e.g. mongodb://127.0.0.1:PORT/ (set by scripts/with-ferretdb)
  LIVEROOM_REQUIRE_MONGODB=1   fail instead of skipping MongoDB tests when it is unset
  LIVEROOM_FERRETDB_BIN        FerretDB binary for tests that kill their own (default
                               <repo>/.cache/bin/ferretdb)
  LIVEROOM_ANVIL_BIN           anvil for the contract store tests (default: the one in
                               contracts/node_modules; ANVIL_BIN works too)
  LIVEROOM_REQUIRE_CHAIN=1     fail instead of skipping the contract store tests without anvil
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import liveroom_harness  # noqa: E402
from liveroom_harness import (  # noqa: E402
    CF_FIXTURES, FERRETDB_BIN, LIVEROOM_BIN, FakeCloudflare, FerretDB, LiveroomServer, MongoWire, require_mongo,
)


def pytest_configure(config):
    config.addinivalue_line("markers", "mongodb: needs the FerretDB of the test runner")
    config.addinivalue_line("markers", "ferretdb_process: starts and kills its own FerretDB")
    config.addinivalue_line("markers", "chain: needs anvil, a local EVM chain (LIVEROOM_REQUIRE_CHAIN=1 "
                            "makes a missing anvil a failure)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def _failed(request) -> bool:
    rep = getattr(request.node, "rep_call", None)
    return rep is None or rep.failed


@pytest.fixture(scope="session", autouse=True)
def _binary_present(tmp_path_factory):
    if not LIVEROOM_BIN.exists():
        pytest.exit(f"liveroom binary not found at {LIVEROOM_BIN} (build it or set LIVEROOM_BIN)",
                    returncode=4)
    if not CF_FIXTURES.is_dir():
        pytest.exit(f"Cloudflare fixtures not found at {CF_FIXTURES} (set LIVEROOM_FIXTURES_DIR)",
                    returncode=4)
    # LIVEROOM_TEST_COPY_BIN=1: run a private copy, so a rebuild of build/liveroom during the
    # run cannot mix binaries (off by default: the binary may locate files next to itself).
    if os.environ.get("LIVEROOM_TEST_COPY_BIN") == "1":
        copy = tmp_path_factory.mktemp("bin") / "liveroom"
        shutil.copy2(LIVEROOM_BIN, copy)
        liveroom_harness.ACTIVE_BIN = copy
    yield
    liveroom_harness.ACTIVE_BIN = LIVEROOM_BIN


@pytest.fixture
def fake_cloudflare():
    fake = FakeCloudflare()
    yield fake
    fake.close()


class ServerFactory:
    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.servers: list[LiveroomServer] = []

    def __call__(self, *args: str, env: dict[str, str] | None = None,
                 cf: FakeCloudflare | None = None, legacy_auth: bool = False,
                 data_dir: Path | None = None, port: int | None = None,
                 pass_listen: bool = True, pass_data_dir: bool = True,
                 wait: bool = True, wrapper: list[str] | None = None) -> LiveroomServer:
        n = len(self.servers)
        full_env = {}
        if cf is not None:
            full_env.update(cf.env(legacy=legacy_auth))
        full_env.update(env or {})
        srv = LiveroomServer(args=list(args), env=full_env,
                             data_dir=data_dir or self.tmp_path / f"data{n}",
                             log_path=self.tmp_path / f"liveroom{n}.log", port=port,
                             pass_listen=pass_listen, pass_data_dir=pass_data_dir, wrapper=wrapper)
        self.servers.append(srv)
        return srv.start(wait=wait)

    def close(self, failed: bool):
        for srv in self.servers:
            srv.stop()
        if failed:
            for srv in self.servers:
                print(f"\n----- liveroom log {srv.log_path} (last 4000 chars) -----")
                print(srv.log_text()[-4000:])


@pytest.fixture
def server(tmp_path, request):
    """Factory: server(*extra_args, env=..., cf=fake_cloudflare, ...) -> LiveroomServer."""
    factory = ServerFactory(tmp_path)
    yield factory
    factory.close(_failed(request))


@pytest.fixture
def cf_server(server, fake_cloudflare):
    """A liveroom on SQLite wired to the fake Cloudflare."""
    return server(cf=fake_cloudflare)




class MongoTarget:
    """Unique databases on the runner's FerretDB; dropped at the end of the test."""

    def __init__(self, base_uri: str, test_name: str):
        self.base_uri = base_uri
        self.prefix = "lr_" + "".join(c if c.isalnum() else "_" for c in test_name)[:24] + "_"
        self.dbs: list[str] = []
        self.wire = MongoWire.from_uri(base_uri)

    def uri(self, label: str = "") -> str:
        db = self.prefix + (label + "_" if label else "") + secrets.token_hex(4)
        self.dbs.append(db)
        u = urllib.parse.urlsplit(self.base_uri)
        return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + db, u.query, ""))

    @property
    def db(self) -> str:
        return self.dbs[-1]

    def cleanup(self):
        if self.wire is None:
            return
        for db in self.dbs:
            try:
                self.wire.drop_database(db)
            except Exception:  # noqa: BLE001 - best effort
                pass


@pytest.fixture
def mongo(request):
    base = os.environ.get("LIVEROOM_TEST_MONGODB_URI")
    if not base:
        require_mongo("LIVEROOM_TEST_MONGODB_URI is not set (run under scripts/with-ferretdb)")
    target = MongoTarget(base, request.node.name)
    yield target
    target.cleanup()


@pytest.fixture
def own_ferretdb(tmp_path):
    """Factory for FerretDB processes this test may kill: own_ferretdb() -> FerretDB (started)."""
    if not FERRETDB_BIN.exists():
        require_mongo(f"FerretDB binary not found at {FERRETDB_BIN} (scripts/setup --test, "
                       "or set LIVEROOM_FERRETDB_BIN)")
    started: list[FerretDB] = []

    def make(port: int | None = None) -> FerretDB:
        f = FerretDB(tmp_path / f"ferretdb{len(started)}", port=port)
        started.append(f)
        return f.start()

    yield make
    for f in started:
        f.kill()

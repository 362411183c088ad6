#!/usr/bin/env python3
"""The integration tests' Cloudflare stand-in (tests/integration/liveroom_harness.py,
FakeCloudflare: the fixture bodies, a fresh uid per create), run as a process for the
benchmarks.

  bench/fake_cloudflare.py [--port-file PATH]

Listens on 127.0.0.1 (any free port), prints the port on stdout and writes it to
--port-file once it accepts; accepts account "bench" with token "bench". Runs until
killed. Fixtures come from $LIVEROOM_FIXTURES_DIR, default <repo>/../shared/fixtures.
"""

import argparse
import os
import signal
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from liveroom_harness import FakeCloudflare  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", help="also write the bound port here")
    args = parser.parse_args()

    fake = FakeCloudflare()
    fake.account = "bench"
    fake.token = "bench"
    print(fake.port, flush=True)
    if args.port_file:
        with open(args.port_file, "w", encoding="utf-8") as f:
            f.write(str(fake.port))

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    fake.close()


if __name__ == "__main__":
    main()

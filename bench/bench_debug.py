"""Benchmark: ``DebugSwitch.state(service)`` (what a service asks per request: log at debug
level? give the request an id?), cached against a query per call; and a switch's expiry
honoured by a reader that never re-reads.

Run with ``nox -s bench`` (or ``python bench/bench_debug.py [--seconds S]``). Measures side by
side in one run, on a scratch PostgreSQL cluster of its own (removed after), one process:

1. Calls per second with a switch on for another service and one for ``api`` (the longest
   path): with the default cache (``security.cache_seconds``) and with none (one query per
   call, what a service would otherwise do), and the ratio. Target: >= 1,000,000 cached
   calls/s.
2. A 2 s switch read once by a reader caching for 300 s: how long after the expiry the reader
   answers off (target: within 0.1 s; nothing switches it off).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from opslib.adapters import Database
from opslib.config import SecuritySettings
from opslib.lab._postgres import PostgresCluster
from opslib.maintenance import MaintenanceScope
from opslib.migrations import migrate
from opslib.security import DebugSwitch

TARGET_CALLS = 1_000_000


def _rate(switch: DebugSwitch, seconds: float) -> float:
    state = switch.state
    state("api")
    calls, began = 0, time.perf_counter()
    batch = 1000 if switch.settings.cache_seconds > 0 else 10
    while time.perf_counter() - began < seconds:
        for _ in range(batch):
            state("api")
        calls += batch
    return calls / (time.perf_counter() - began)


def bench_state(dsn: str, seconds: float) -> None:
    with Database(dsn) as db:
        ops = DebugSwitch(db)
        ops.on(timedelta(hours=1), reason="bench", scope=MaintenanceScope.of(["scraper"]))
        ops.on(timedelta(hours=1), reason="bench", scope=MaintenanceScope.of(["api"]))
        cached = _rate(DebugSwitch(db, SecuritySettings()), seconds)
        direct = _rate(DebugSwitch(db, SecuritySettings(cache_seconds=0)), seconds)
        ops.off()
    load = os.getloadavg()[0]
    verdict = "OK" if cached >= TARGET_CALLS else "BELOW TARGET"
    print(
        f"debug_state: cached {cached:,.0f} calls/s, a query per call {direct:,.0f} calls/s:"
        f" {cached / direct:,.0f}x; target >= {TARGET_CALLS:,} cached: {verdict}"
        f" (load average {load:.1f})"
    )


def bench_expiry(dsn: str) -> None:
    with Database(dsn) as db, Database(dsn) as reader_db:
        reader = DebugSwitch(reader_db, SecuritySettings(cache_seconds=300))
        made = DebugSwitch(db).on(timedelta(seconds=2), reason="bench expiry")
        assert reader.state("api").on
        assert made.expires_at is not None
        expires = made.expires_at.timestamp()
        while reader.state("api").on:
            time.sleep(0.001)
        late = time.time() - expires
    print(f"debug_state expiry: off {late * 1000:.0f} ms after it (reader caching 300 s;"
          f" target <= 100 ms): {'OK' if late <= 0.1 else 'LATE'}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput phase")
    args, _other = parser.parse_known_args()  # nox passes the same arguments to every bench
    began = time.perf_counter()
    base = Path(tempfile.mkdtemp(prefix="opslib-bench-debug-"))
    base.chmod(0o755)  # the cluster runs as an unprivileged user that must reach it
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cluster = PostgresCluster(base / "cluster", port)
    try:
        cluster.init()
        cluster.start()
        with Database(cluster.dsn) as db:
            migrate(db, ("opslib",))
        bench_state(cluster.dsn, args.seconds)
        bench_expiry(cluster.dsn)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(f"bench_debug: {time.perf_counter() - began:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: ``RequestRules.check_request`` (rules cached in the process, rates counted over a
sliding window) against asking PostgreSQL for the active rules on every request, the way an
API without the library's cache would, and against a rate limiter keeping a timestamp per
request (a deque per client, the textbook sliding log).

Run with ``nox -s bench`` (or ``python bench/bench_rules.py [--seconds S]``), on a scratch
PostgreSQL cluster of its own (removed after). The rules: four denied path globs, two denied
methods, a required header, a rate per source and per key; the traffic: 10,000 sources, 2,000
keys, one request in 50 to a denied path. Figures: checks per second, single thread.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from opslib.adapters import Database
from opslib.lab._postgres import PostgresCluster
from opslib.migrations import migrate
from opslib.security import RequestRules, RuleSet, VersionStore

RULES = {
    "rate_per_source": 600,
    "rate_per_key": 300,
    "window_seconds": 60,
    "denied_paths": ["/admin*", "*.env", "/.git*", "/wp-*"],
    "denied_methods": ["TRACE", "DELETE"],
    "required_headers": ["user-agent"],
}
HEADERS = ("host", "user-agent", "x-api-key", "accept")


def _traffic(n: int, seed: int = 5) -> list[tuple[str, str, str, str]]:
    rng = random.Random(seed)
    sources = [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(10_000)]
    keys = [f"opk_{i:010d}_secret" for i in range(2_000)]
    out = []
    for _ in range(n):
        path = (
            "/admin/login"
            if rng.random() < 0.02
            else f"/api/v1/prices?product={rng.randrange(500)}"
        )
        out.append(("GET", path, rng.choice(sources), rng.choice(keys)))
    return out


Check = Callable[[str, str, str, str, tuple[str, ...]], object]


def _measure(check: Check, traffic: list[tuple[str, str, str, str]], seconds: float) -> float:
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        for method, path, source, key in traffic:
            check(method, path, source, key, HEADERS)
        done += len(traffic)
    return done / (time.perf_counter() - began)


def _sliding_log(rules: RuleSet) -> Check:
    """The textbook limiter: a deque of request times per client, trimmed on each request."""
    logs: dict[str, deque[float]] = {}
    window = rules.window_seconds
    limit = rules.rate_per_source or 0

    def check(method: str, path: str, source: str, key: str, headers: tuple[str, ...]) -> bool:
        now = time.monotonic()
        log = logs.setdefault(source, deque())
        while log and log[0] <= now - window:
            log.popleft()
        log.append(now)
        return len(log) <= limit

    return check


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args, _other = parser.parse_known_args()  # nox passes the same arguments to every bench
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the cluster is still removed
    base = Path(tempfile.mkdtemp(prefix="opslib-bench-rules-"))
    base.chmod(0o755)  # the cluster runs as an unprivileged user that must reach it
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cluster = PostgresCluster(base / "cluster", port)
    traffic = _traffic(20_000)
    try:
        cluster.init()
        cluster.start()
        with Database(cluster.dsn) as db:
            migrate(db, ("opslib",))
            VersionStore(db, "rules").add(RULES, actor="bench")
            cached = RequestRules(db, ttl=5.0)
            fast = _measure(cached.check_request, traffic, args.seconds)
            uncached = RequestRules(db, ttl=0.0)
            slow = _measure(uncached.check_request, traffic[:2_000], min(args.seconds, 2.0))
        log = _measure(_sliding_log(RuleSet.model_validate(RULES)), traffic, args.seconds)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    print("bench_rules: checks/s, one thread (10,000 sources, 2,000 keys, all rule kinds)")
    print(f"  check_request, rules cached 5 s:        {fast:12,.0f}")
    print(f"  the rules read from PostgreSQL per check: {slow:10,.0f}  ({fast / slow:.0f}x)")
    print(f"  sliding log (rate per source only):     {log:12,.0f}  ({fast / log:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

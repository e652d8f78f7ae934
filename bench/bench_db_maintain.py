"""Benchmark: ``opslib db maintain`` (VACUUM (ANALYZE) of a large ``price_history``, ANALYZE of
the other two) while writers insert, on a scratch PostgreSQL cluster of its own (removed after).

Run with ``nox -s bench`` (or ``python bench/bench_db_maintain.py [--rows N] [--seconds S]``).
Measured side by side in one run:

1. ``--rows`` rows in ``price_history`` (default 10,000,000), 5 % of them updated so the VACUUM
   has dead tuples to remove; statistics left stale.
2. ``WRITERS`` processes insert a price row each every ``PACE`` seconds (autocommit, as the
   scrapers do) for ``--seconds`` before maintenance, during it and after; the p99 insert
   latency during maintenance against before. Target: at most 2x.
3. A sampler reads ``pg_stat_activity`` every 50 ms for sessions waiting on a lock; the longest
   wait seen, of the writers and of the maintenance session. Target: none longer than the lock
   timeout (``MaintainPolicy.lock_timeout``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import socket
import statistics
import tempfile
import threading
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables
from opslib.dbmaintain import MaintainPolicy, apply_maintenance, plan_maintenance
from opslib.lab._postgres import PostgresCluster
from opslib.migrations import migrate

WRITERS = 2
PACE = 0.005
URLS = 1000
TARGET_RATIO = 2.0


def _writer(dsn: str, stop: Event, out: Any) -> None:
    """Insert a row every PACE seconds until ``stop``; send (wall time, latency) pairs."""
    samples: list[tuple[float, float]] = []
    with psycopg.connect(dsn, autocommit=True, application_name="bench-writer") as conn:
        statement = (
            "INSERT INTO price_history (url_id, price, currency, extraction_confidence)"
            " VALUES (%s, 19.99, 'EUR', 0.9)"
        )
        n = 0
        while not stop.is_set():
            began = time.perf_counter()
            conn.execute(statement, (1 + n % URLS,))
            latency = time.perf_counter() - began
            samples.append((time.time(), latency))
            n += 1
            time.sleep(max(0.0, PACE - latency))
    out.put(samples)


def _load(db: Database, rows: int) -> float:
    began = time.perf_counter()
    db.execute(
        "INSERT INTO monitored_urls (domain, url) SELECT 'shop' || (g % 20) || '.test',"
        " 'https://shop.test/p/' || g FROM generate_series(1, 1000) g"
    )
    for table in ("monitored_urls", "price_history", "scrape_logs"):
        db.execute(
            sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(sql.Identifier(table))
        )
    step = 1_000_000
    for start in range(0, rows, step):
        db.execute(
            "INSERT INTO price_history (url_id, price, currency, extraction_confidence,"
            " checked_at) SELECT 1 + g %% 1000, (g %% 9000) / 100.0, 'EUR', 0.9,"
            " now() - g * interval '1 second' FROM generate_series(%s, %s) g",
            (start + 1, min(rows, start + step)),
        )
    db.execute("UPDATE price_history SET price = price + 1 WHERE id % 20 = 0")
    db.execute(
        "INSERT INTO scrape_logs (url_id, domain, outcome, duration_ms)"
        " SELECT 1 + g % 1000, 'shop.test', 'ok', 100 FROM generate_series(1, 100000) g"
    )
    db.execute("SELECT pg_stat_force_next_flush()")
    return time.perf_counter() - began


def _sample_locks(dsn: str, stop: threading.Event, longest: dict[str, float]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            for app, waited in conn.execute(
                "SELECT application_name, extract(epoch FROM now() - state_change)"
                " FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ):
                longest[app] = max(longest.get(app, 0.0), float(waited))
            time.sleep(0.05)


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


def bench(dsn: str, rows: int, seconds: float) -> bool:
    with Database(dsn, statement_timeout=3600) as db:
        migrate(db, ("opslib", "platform"))
        loaded = _load(db, rows)
        size = db.fetch_one("SELECT pg_total_relation_size('price_history') AS b")
        assert size is not None
        print(f"loaded {rows:,} rows ({size['b'] / 2**30:.2f} GiB with indexes) in {loaded:.0f} s")
        ctx = multiprocessing.get_context("spawn")
        stop, out = ctx.Event(), ctx.Queue()
        writers = [ctx.Process(target=_writer, args=(dsn, stop, out)) for _ in range(WRITERS)]
        for proc in writers:
            proc.start()
        lock_stop, longest = threading.Event(), dict[str, float]()
        sampler = threading.Thread(target=_sample_locks, args=(dsn, lock_stop, longest))
        sampler.start()
        time.sleep(seconds)  # the writers' latency before
        policy = MaintainPolicy(fresh_hours=0)
        tables = PlatformTables()
        began = time.time()
        result = apply_maintenance(db, plan_maintenance(db, tables, policy), tables)
        ended = time.time()
        time.sleep(seconds)
        stop.set()
        samples = [s for _ in writers for s in out.get(timeout=60)]
        for proc in writers:
            proc.join(30)
        lock_stop.set()
        sampler.join(10)
    before = [lat for at, lat in samples if at < began and at > began - seconds + 1]
    during = [lat for at, lat in samples if began <= at <= ended]
    after = [lat for at, lat in samples if at > ended]
    for step in result.steps:
        print(f"  {step.statement}: {step.state} in {step.seconds:.1f} s {step.reason}")
    print(f"maintenance took {ended - began:.1f} s; {len(samples):,} inserts by {WRITERS} writers")
    p99 = {
        name: _p99(v) * 1000
        for name, v in (("before", before), ("during", during), ("after", after))
    }
    for name, values in (("before", before), ("during", during), ("after", after)):
        print(
            f"  {name:6} {len(values):6} inserts  p50 {statistics.median(values) * 1000:.2f} ms"
            f"  p99 {p99[name]:.2f} ms"
        )
    ratio = p99["during"] / p99["before"]
    waits = max(longest.values(), default=0.0)
    print(f"p99 during / before = {ratio:.2f} (target <= {TARGET_RATIO:g})")
    print(
        f"longest lock wait seen: {waits:.2f} s (target <= lock timeout"
        f" {policy.lock_timeout:g} s) {longest or ''}"
    )
    return ratio <= TARGET_RATIO and waits <= policy.lock_timeout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    args, _ = parser.parse_known_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = Path(tempfile.mkdtemp(prefix="opslib-bench-dbmaintain-"))
    base.chmod(0o755)  # the cluster runs as an unprivileged user that must reach it
    cluster = PostgresCluster(base / "cluster", port)
    try:
        cluster.init()
        cluster.start()
        ok = bench(cluster.dsn, args.rows, args.seconds)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    print("db maintain bench:", "PASS" if ok else "FAIL")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

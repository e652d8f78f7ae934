"""Benchmark: ``opslib db partition`` (price_history partitioned by month, online) against what
an operator would otherwise run: the same partitioned copy made in one transaction that locks
the table for the whole copy. Both on a scratch PostgreSQL cluster of its own (removed after),
each on a database of its own loaded alike, while writers insert.

Run with ``nox -s bench`` (or ``python bench/bench_partition.py [--rows N] [--seconds S]``).
Printed side by side: the time taken, the writers' p99 and longest insert latency before and
during (by when each insert started), the inserts done meanwhile, and the longest lock wait a
writer was seen in. Target for opslib: no writer waits longer than the swap's lock
timeout, and the p99 during at most 2x before (the same target as ``db maintain``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench_db_maintain import _load, _p99, _sample_locks, _writer  # the script next to this one
from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables
from opslib.dbmaintain import PartitionPlan, apply_partitioning, plan_partitioning
from opslib.lab._postgres import PostgresCluster
from opslib.migrations import migrate

WRITERS = 2
TARGET_RATIO = 2.0


def _one_transaction(db: Database, plan: PartitionPlan) -> None:
    """The by-hand way: lock, copy everything, index, swap, in one transaction."""
    with db.transaction():
        db.execute("LOCK TABLE price_history IN ACCESS EXCLUSIVE MODE")
        db.execute(
            "CREATE TABLE ph_new (LIKE price_history INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            " PARTITION BY RANGE (checked_at)"
        )
        for name, low, high in plan.partitions:
            part = sql.Identifier(name)
            if low is None or high is None:
                db.execute(sql.SQL("CREATE TABLE {} PARTITION OF ph_new DEFAULT").format(part))
            else:
                db.execute(
                    sql.SQL("CREATE TABLE {} PARTITION OF ph_new FOR VALUES FROM ({}) TO ({})")
                    .format(part, sql.Literal(low.isoformat()), sql.Literal(high.isoformat()))
                )  # fmt: skip
        db.execute("INSERT INTO ph_new SELECT * FROM price_history")
        db.execute("ALTER TABLE ph_new ADD PRIMARY KEY (id, checked_at)")
        db.execute("CREATE INDEX ON ph_new (checked_at)")
        db.execute("CREATE INDEX ON ph_new (url_id, checked_at)")
        db.execute("ALTER TABLE price_history RENAME TO price_history_unpartitioned")
        db.execute("ALTER TABLE ph_new RENAME TO price_history")


def _wait_for_writers(db: Database, limit: float = 120.0) -> None:
    """Until every writer process has connected (spawned processes start slowly)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        row = db.fetch_one(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'bench-writer'"
        )
        if row and row["n"] >= WRITERS:
            return
        time.sleep(0.1)


def _run(dsn: str, rows: int, seconds: float, how: Callable[[Database, PartitionPlan], object]
         ) -> dict[str, float]:  # fmt: skip
    with Database(dsn, statement_timeout=3600) as db:
        migrate(db, ("opslib", "platform"))
        loaded = _load(db, rows)
        plan = plan_partitioning(db, PlatformTables())
        ctx = multiprocessing.get_context("spawn")
        stop, out = ctx.Event(), ctx.Queue()
        writers = [ctx.Process(target=_writer, args=(dsn, stop, out)) for _ in range(WRITERS)]
        for proc in writers:
            proc.start()
        lock_stop, longest = threading.Event(), dict[str, float]()
        sampler = threading.Thread(target=_sample_locks, args=(dsn, lock_stop, longest))
        sampler.start()
        _wait_for_writers(db)
        time.sleep(seconds)
        began = time.time()
        how(db, plan)
        ended = time.time()
        time.sleep(2)
        stop.set()
        samples = [s for _ in writers for s in out.get(timeout=120)]
        for proc in writers:
            proc.join(30)
        lock_stop.set()
        sampler.join(10)
        counted = db.fetch_one("SELECT count(*) AS n FROM price_history")
    before = [lat for at, lat in samples if began - seconds + 1 < at < began]
    # by when each insert started: one blocked by the lock ends after the copy
    during = [lat for at, lat in samples if began <= at - lat <= ended]
    lost = rows + len(samples) - (int(counted["n"]) if counted else 0)
    return {
        "load_s": loaded,
        "seconds": ended - began,
        "p99_before_ms": _p99(before) * 1000,
        "p99_during_ms": _p99(during) * 1000 if during else float("nan"),
        "max_during_ms": max(during) * 1000 if during else float("nan"),
        "inserts_during": float(len(during)),
        "writer_wait_s": longest.get("bench-writer", 0.0),
        "rows_lost": float(lost),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args, _ = parser.parse_known_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = Path(tempfile.mkdtemp(prefix="opslib-bench-partition-"))
    base.chmod(0o755)  # the cluster runs as an unprivileged user that must reach it
    cluster = PostgresCluster(base / "cluster", port)
    ok = False
    try:
        cluster.init()
        cluster.start()
        results = {}
        for name, how in (("opslib db partition", apply_partitioning),
                          ("one transaction", _one_transaction)):  # fmt: skip
            with Database(cluster.dsn) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name[:3])))
            dsn = cluster.dsn.replace(f"dbname={cluster.database}", f"dbname={name[:3]}")
            results[name] = _run(dsn, args.rows, args.seconds, how)
        print(f"{args.rows:,} rows, {WRITERS} writers")
        keys = list(next(iter(results.values())))
        print(f"{'':22}" + "".join(f"{k:>16}" for k in keys))
        for name, figures in results.items():
            print(f"{name:22}" + "".join(f"{figures[k]:>16.2f}" for k in keys))
        ours = results["opslib db partition"]
        ratio = ours["p99_during_ms"] / ours["p99_before_ms"]
        print(f"opslib: p99 during / before = {ratio:.2f} (target <= {TARGET_RATIO:g})")
        ok = ours["rows_lost"] == 0 and ours["writer_wait_s"] <= 2.0 and ratio <= TARGET_RATIO
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    print("db partition bench:", "PASS" if ok else "FAIL")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: ``opslib db activity`` and ``opslib db slow-queries`` with 200 sessions and 5,000
distinct statements, side by side with the same SQL run raw.

Run with ``nox -s bench`` (or ``python bench/bench_db.py [--rounds N]``). On a scratch
PostgreSQL cluster of its own (removed after), with ``pg_stat_statements`` loaded:

- 200 client sessions: 150 idle, 30 idle in a transaction, 14 running ``pg_sleep``, a blocker
  and 5 writers waiting behind it (a blocking tree);
- 5,000 distinct statements in ``pg_stat_statements`` (shapes that normalise differently).

Measured, alternating, ``--rounds`` times each (medians and ranges):

1. the commands as an operator runs them (``opslib --json db activity`` / ``slow-queries``,
   a new process each: interpreter start, imports, connect, queries, output). Target: < 1 s.
   Beside it ``opslib --version``: the interpreter and the command line's imports alone, and
   the CPU seconds of each (less sensitive than wall time to a machine busy with other work).
2. the library call on an open connection (``read_activity`` and the three checks;
   ``slow_query_report`` with its 3 plans and the index advice), against exactly the SQL it
   sends (recorded, then replayed with the values inlined) run by ``psql -f`` (a new process:
   connect, run, print) and replayed on an open psycopg connection (the queries alone, no
   modelling). Target: library <= 1.5x psql.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, LiteralString

import psycopg
from psycopg import ClientCursor, sql

from opslib.adapters import Database
from opslib.config import Settings
from opslib.dbactivity import (
    blocked_sessions,
    connection_usage,
    long_queries,
    read_activity,
    slow_query_report,
)
from opslib.lab._postgres import PostgresCluster, find_pg_bindir
from opslib.migrations import migrate

SESSIONS = 200
STATEMENTS = 5_000
TARGET_SECONDS = 1.0
TARGET_RATIO = 1.5


class _Recorder(Database):
    """A Database that keeps every statement it sends (with BEGIN/COMMIT around transactions)."""

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn, statement_timeout=60)
        self.sent: list[tuple[Any, Any]] = []

    def fetch_all(self, query: Any, params: Any = None) -> list[dict[str, Any]]:
        self.sent.append((query, params))
        return super().fetch_all(query, params)

    def fetch_one(self, query: Any, params: Any = None) -> dict[str, Any] | None:
        self.sent.append((query, params))
        return super().fetch_one(query, params)

    def execute(self, query: Any, params: Any = None) -> int:
        self.sent.append((query, params))
        return super().execute(query, params)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.sent.append(("BEGIN", None))
        with super().transaction():
            yield
        self.sent.append(("COMMIT", None))


def _script(dsn: str, sent: Sequence[tuple[Any, Any]]) -> str:
    """The recorded statements as one SQL script, values inlined."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = ClientCursor(conn)
        lines = [cur.mogrify(q, p).strip().rstrip(";") + ";" for q, p in sent]
    return "\n".join(lines) + "\n"


def _median(run: Callable[[], object], rounds: int) -> tuple[float, float, float]:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), min(times), max(times)


# The load: 200 sessions and 5,000 statements


def _statements(dsn: str) -> None:
    """5,000 distinct normalised statements (IN-lists of 1-50 values x filter column x sort x
    select list x offset), run until pg_stat_statements holds that many."""
    columns = ("url_id", "price", "extraction_confidence", "checked_at", "id")
    orders = ("id", "url_id", "price", "checked_at")
    selects = (("id",), ("id", "price"), ("url_id", "checked_at"))
    offsets = ("", " OFFSET 1")
    shapes = itertools.product(range(1, 51), columns, orders, ("ASC", "DESC"), selects, offsets)
    count = "SELECT count(*) FROM pg_stat_statements WHERE query LIKE 'SELECT %% price_history%%'"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
        for n, (size, column, order, direction, select, offset) in enumerate(shapes):
            query = sql.SQL(
                "SELECT {} FROM price_history WHERE {} IS NOT NULL AND url_id IN ({})"
                " ORDER BY {} {} LIMIT 5{}"
            ).format(
                sql.SQL(", ").join(sql.Identifier(c) for c in select),
                sql.Identifier(column),
                sql.SQL(", ").join([sql.Placeholder()] * size),
                sql.Identifier(order),
                sql.SQL(direction),
                sql.SQL(offset),
            )
            conn.execute(query, list(range(size)))
            if n % 250 == 249:
                row = conn.execute(count).fetchone()
                if row is not None and row[0] >= STATEMENTS:
                    return
    raise RuntimeError(f"fewer than {STATEMENTS} distinct statements")


@contextmanager
def _sessions(dsn: str) -> Iterator[None]:
    conns: list[psycopg.Connection[Any]] = []
    threads: list[threading.Thread] = []

    def background(conn: psycopg.Connection[Any], query: LiteralString) -> None:
        def run() -> None:
            with contextlib.suppress(psycopg.Error):  # cancelled at the end
                conn.execute(query)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)

    try:
        admin = psycopg.connect(dsn, autocommit=True)
        conns.append(admin)
        admin.execute("CREATE TABLE IF NOT EXISTS bench_lock (id int PRIMARY KEY, n int)")
        admin.execute("INSERT INTO bench_lock VALUES (1, 0) ON CONFLICT DO NOTHING")
        blocker = psycopg.connect(dsn, application_name="bench-blocker")
        conns.append(blocker)
        blocker.execute("UPDATE bench_lock SET n = n + 1 WHERE id = 1")
        for n in range(SESSIONS - 2):
            conn = psycopg.connect(dsn, autocommit=n >= 30, application_name=f"bench-{n}")
            conns.append(conn)
            if n < 30:
                conn.execute("SELECT 1")  # idle in transaction
            elif n < 44:
                background(conn, "SELECT pg_sleep(600)")
            elif n < 49:
                background(conn, "UPDATE bench_lock SET n = n + 1 WHERE id = 1")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = admin.execute(
                "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),"
                " count(*) FILTER (WHERE backend_type = 'client backend') FROM pg_stat_activity"
            ).fetchone()
            if row is not None and row[0] >= 5 and row[1] >= SESSIONS:
                break
            time.sleep(0.1)
        yield
    finally:
        for conn in conns:
            conn.cancel_safe(timeout=2)
        for conn in conns:
            conn.close()
        for thread in threads:
            thread.join(timeout=10)


# What is timed


def _activity(db: Database, settings: Settings) -> None:
    activity = read_activity(db)
    for check in (connection_usage, long_queries, blocked_sessions):
        check(db, settings, activity)


def _slow(db: Database, settings: Settings) -> None:
    slow_query_report(db, settings, limit=10, explain=3)


def _command(config: Path, *argv: str, cpu: list[float]) -> Callable[[], object]:
    """``opslib --json db ARGV`` in a new process (``--version`` alone: the start); each run's
    CPU seconds (user + system of the child) go to ``cpu``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_CONFIG"] = str(config)
    full = ["--version"] if argv == ("--version",) else ["--json", "db", *argv]

    def run() -> object:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [sys.executable, "-m", "opslib.cli", *full],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode not in (0, 1, 2):
            raise RuntimeError(done.stderr)
        return done.stdout

    return run


def _psql(cluster: PostgresCluster, script: Path) -> Callable[[], object]:
    psql = str(find_pg_bindir() / "psql")
    env = {"PATH": os.environ.get("PATH", ""), "PGPASSWORD": cluster.password, "LC_ALL": "C"}
    argv = [psql, "-X", "-q", "-A", "-h", "127.0.0.1", "-p", str(cluster.port),
            "-U", cluster.user, "-d", cluster.database, "-f", str(script)]  # fmt: skip

    def run() -> object:
        return subprocess.run(argv, env=env, capture_output=True, check=True, timeout=60)

    return run


def _replay(conn: psycopg.Connection[Any], sent: Sequence[tuple[Any, Any]]) -> Callable[[], None]:
    def run() -> None:
        for query, params in sent:
            try:  # a plan opslib could not get fails here too (psql goes on as well)
                cur = conn.execute(query, params)
            except psycopg.Error:
                continue
            if cur.description:
                cur.fetchall()

    return run


def bench(cluster: PostgresCluster, config: Path, work: Path, rounds: int) -> None:
    settings = Settings()
    cases = (("activity", _activity, ("activity",)), ("slow-queries", _slow, ("slow-queries",)))
    load = os.getloadavg()[0]
    print(
        f"{SESSIONS} sessions, {STATEMENTS:,} distinct statements; {os.cpu_count()} cores, load"
        f" average {load:.1f} before; medians of {rounds} (range)"
    )
    with _sessions(cluster.dsn), psycopg.connect(cluster.dsn, autocommit=True) as raw:
        for name, call, argv in cases:
            recorder = _Recorder(cluster.dsn)
            call(recorder, settings)  # connect, and record what one call sends
            sent = list(recorder.sent)
            script = work / f"{name}.sql"
            script.write_text(_script(cluster.dsn, sent))
            with Database(cluster.dsn, statement_timeout=60) as db:
                call(db, settings)  # connected
                library = _median(functools.partial(call, db, settings), rounds)
            psql = _median(_psql(cluster, script), rounds)
            replay = _median(_replay(raw, sent), rounds)
            command_cpu: list[float] = []
            start_cpu: list[float] = []
            command = _median(_command(config, *argv, cpu=command_cpu), rounds)
            start = _median(_command(config, "--version", cpu=start_cpu), rounds)
            recorder.close()
            ratio = library[0] / psql[0]
            print(f"opslib db {name} ({len(sent)} statements):")
            for label, (med, low, high) in (
                ("command (new process)", command),
                ("  of which: start", start),
                ("library call", library),
                ("psql -f, same SQL", psql),
                ("same SQL, open conn", replay),
            ):
                print(
                    f"   {label:<22}: {med * 1000:8.1f} ms ({low * 1000:.1f} - {high * 1000:.1f})"
                )
            print(
                f"   CPU of the command: {statistics.median(command_cpu):.2f} s, of which the"
                f" start {statistics.median(start_cpu):.2f} s (wall time above includes waiting"
                " for a loaded machine's cores)"
            )
            met = "met" if command[2] < TARGET_SECONDS and ratio <= TARGET_RATIO else "NOT met"
            print(
                f"   library / psql: {ratio:.2f}x (target <= {TARGET_RATIO}x); command worst"
                f" {command[2]:.2f} s (target < {TARGET_SECONDS:g} s): {met}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each")
    args, _other = parser.parse_known_args()  # nox passes the same arguments to every bench
    began = time.perf_counter()
    base = Path(tempfile.mkdtemp(prefix="opslib-bench-db-"))
    base.chmod(0o755)  # the cluster runs as an unprivileged user that must reach it
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cluster = PostgresCluster(base / "cluster", port)
    config = base / "opslib.toml"
    try:
        cluster.init()
        with (cluster.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"max_connections = {SESSIONS + 40}\npg_stat_statements.max = 10000\n")
        cluster.start()
        with Database(cluster.dsn) as db:
            migrate(db, ("opslib", "platform"))
        config.write_text(f"database_dsn = {json.dumps(cluster.dsn)}\n")
        config.chmod(0o600)
        _statements(cluster.dsn)
        bench(cluster, config, base, args.rounds)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(f"bench_db: {time.perf_counter() - began:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

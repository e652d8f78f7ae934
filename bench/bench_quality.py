"""Benchmark: the per-domain quality query (``opslib quality by-domain``) on a ``price_history``
of 1 million and of 10 million rows, side by side; and the plans' index use.

Run with ``nox -s bench`` (or ``python bench/bench_quality.py [--rounds N] [--small N]
[--large N]``). On a scratch PostgreSQL cluster of its own (removed after), two databases with
the platform schema (the lab's migration: indexes on ``checked_at`` and ``(url_id,
checked_at)``) are filled server-side (``generate_series``): the same 2,000 URLs over 20 shop
domains, each checked about every 23 minutes, so both tables hold the same ~5,200 rows per
hour; the large one reaches 10x further back. What the query reads is the same in both: the
last hour, the same hour on each of the last 7 days, and one index probe per URL. Target: the
10M time within 1.2x of the 1M time. Then one ``EXPLAIN (ANALYZE, BUFFERS)`` per statement of
the query on the large table: which scans, which indexes, how many buffers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from psycopg import sql

from opslib.adapters import Database, Query, Row
from opslib.config import Settings
from opslib.lab._postgres import PostgresCluster
from opslib.migrations import migrate
from opslib.quality import domain_quality

URLS = 2000
DOMAINS = 20
ROWS_PER_HOUR = 5200
TARGET_RATIO = 1.2
WINDOW_MINUTES = 60

_URLS_SQL = """
INSERT INTO monitored_urls (domain, url, check_interval, currency)
SELECT 'shop-' || (i %% %(domains)s) || '.test', 'http://shop-' || (i %% %(domains)s)
       || '.test/product/' || i, make_interval(secs => %(urls)s * 3600.0 / %(per_hour)s), 'EUR'
FROM generate_series(1, %(urls)s) AS i
"""

# Oldest first, one row every 3600 / per_hour seconds, the URLs in turn; ~2 % without a price,
# an occasional jump (0.1 %), confidence 0.85-0.99.
_ROWS_SQL = """
INSERT INTO price_history (url_id, price, currency, extraction_confidence, extraction_method,
                           checked_at)
SELECT 1 + g %% %(urls)s,
       CASE WHEN random() < 0.02 THEN NULL
            ELSE round(((10 + g %% %(urls)s) * CASE WHEN random() < 0.001 THEN 3 ELSE 1 END
                        * (1 + 0.01 * random()))::numeric, 2) END,
       'EUR', 0.85 + 0.14 * random(), 'microdata',
       now() - (%(rows)s - g) * make_interval(secs => 3600.0 / %(per_hour)s)
FROM generate_series(1, %(rows)s) AS g
"""


class _Explaining(Database):
    """A Database that, for every composed statement (the quality queries), also records its
    ``EXPLAIN (ANALYZE, BUFFERS)`` plan."""

    plans: list[dict[str, Any]]

    def fetch_all(self, query: Query, params: Any = None) -> list[Row]:
        if isinstance(query, sql.Composed):
            explain = sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ") + query
            row = super().fetch_all(explain, params)[0]
            self.plans.append(row["QUERY PLAN"][0])
        return super().fetch_all(query, params)


def _fill(db: Database, rows: int) -> float:
    began = time.perf_counter()
    db.execute(_URLS_SQL, {"urls": URLS, "domains": DOMAINS, "per_hour": ROWS_PER_HOUR})
    db.execute(_ROWS_SQL, {"urls": URLS, "rows": rows, "per_hour": ROWS_PER_HOUR})
    db.execute("VACUUM ANALYZE monitored_urls")
    db.execute("VACUUM ANALYZE price_history")
    return time.perf_counter() - began


def _time(dbs: dict[int, Database], settings: Settings, rounds: int) -> dict[int, list[float]]:
    """Each round times every table once, in turn, so both see the same load."""
    times: dict[int, list[float]] = {rows: [] for rows in dbs}
    for db in dbs.values():
        domain_quality(db, settings, WINDOW_MINUTES)  # warm: catalog, buffers
    for _ in range(rounds):
        for rows, db in dbs.items():
            began = time.perf_counter()
            found = domain_quality(db, settings, WINDOW_MINUTES)
            times[rows].append(time.perf_counter() - began)
            assert len(found) == DOMAINS, len(found)
    return times


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += _nodes(child)
    return found


def _summary(plan: dict[str, Any]) -> list[str]:
    """Execution time, buffers, and every table or index scan (the same scan summed)."""
    top = plan["Plan"]
    scans: dict[str, tuple[int, int]] = {}
    for node in _nodes(top):
        kind = node["Node Type"]
        if "Scan" not in kind or kind in ("CTE Scan", "Function Scan", "Subquery Scan"):
            continue
        index = f" using {node['Index Name']}" if "Index Name" in node else ""
        what = f"{kind}{index} on {node.get('Relation Name', '')}"
        loops = node.get("Actual Loops", 1)
        rows, scans_of = scans.get(what, (0, 0))
        scans[what] = (rows + node.get("Actual Rows", 0) * loops, scans_of + loops)
    hit, read = top.get("Shared Hit Blocks", 0), top.get("Shared Read Blocks", 0)
    return [
        f"{plan['Execution Time']:.1f} ms, buffers hit {hit:,} read {read:,}",
        *(f"{what}: {rows:,} rows in {loops:,} scan(s)" for what, (rows, loops) in scans.items()),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="timed runs per table")
    parser.add_argument("--small", type=int, default=1_000_000, help="rows of the small table")
    parser.add_argument("--large", type=int, default=10_000_000, help="rows of the large table")
    args, _other = parser.parse_known_args()  # nox passes the same arguments to every bench
    began = time.perf_counter()
    base = Path(tempfile.mkdtemp(prefix="opslib-bench-quality-"))
    base.chmod(0o755)  # the cluster runs as an unprivileged user that must reach it
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cluster = PostgresCluster(base / "cluster", port)
    settings = Settings()
    results: dict[int, list[float]] = {}
    load = 0.0
    plans: list[dict[str, Any]] = []
    try:
        cluster.init()
        cluster.start()
        with Database(cluster.dsn) as admin:
            for rows in (args.small, args.large):
                name = f"quality_{rows}"
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                with admin.open(name, statement_timeout=3600) as db:
                    migrate(db, ("platform",))
                    took = _fill(db, rows)
                    days = rows / ROWS_PER_HOUR / 24
                    print(f"filled {rows:,} rows ({days:.0f} days) in {took:.0f} s")
            load = os.getloadavg()[0]
            with (
                admin.open(f"quality_{args.small}") as small_db,
                admin.open(f"quality_{args.large}") as large_db,
            ):
                results = _time({args.small: small_db, args.large: large_db}, settings, args.rounds)
            with _Explaining(
                cluster.dsn.replace(f"dbname={cluster.database}", f"dbname=quality_{args.large}")
            ) as db:
                db.plans = plans
                domain_quality(db, settings, WINDOW_MINUTES)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    small, large = (statistics.median(results[n]) for n in (args.small, args.large))
    print(
        f"per-domain quality ({DOMAINS} domains, {URLS:,} URLs, last {WINDOW_MINUTES} min and the"
        f" same window on 7 days; median of {args.rounds}, alternating; load average {load:.1f}):"
    )
    for rows in (args.small, args.large):
        times = results[rows]
        print(
            f"  {rows:>12,} rows: {statistics.median(times) * 1000:8.1f} ms"
            f" (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})"
        )
    ratio = large / small
    met = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"  {args.large:,} / {args.small:,}: {ratio:.2f}x; target <= {TARGET_RATIO}x: {met}")
    labels = ("window (rows, confidence, missing, implausible)", "coverage", "drift baseline")
    for label, plan in zip(labels, plans[-3:], strict=True):
        print(f"  plan of {label}, {args.large:,} rows:")
        for line in _summary(plan):
            print(f"    {line}")
    print(json.dumps({"small_ms": small * 1000, "large_ms": large * 1000, "ratio": ratio}))
    print(f"bench_quality: {time.perf_counter() - began:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

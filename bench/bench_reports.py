"""Benchmark: ``opslib capacity report`` and ``opslib review weekly`` on 180 days of history,
side by side with the raw SQL an operator would run for the same figures.

Run with ``nox -s bench`` (or ``python bench/bench_reports.py [--rounds N] [--volume V]``). A
scratch PostgreSQL cluster of its own (removed after) is seeded with the lab's 180-day history
(trend and weekly seasonality; ``--volume`` rows per URL per hour, default 1: ~1.1M rows in
each of price_history and scrape_logs). Target: each report under 5 s. Prometheus is not
running: its part ends UNKNOWN at once (connection refused), so the figures are the database's.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from opslib.adapters import Database, Prometheus
from opslib.capacity import capacity_report
from opslib.config import Settings
from opslib.lab._postgres import PostgresCluster
from opslib.lab._seed import seed
from opslib.lab._settings import LabSettings
from opslib.migrations import migrate
from opslib.review import performance_review

RAW_CAPACITY = """
SELECT (checked_at AT TIME ZONE 'UTC')::date AS day, count(*), count(DISTINCT url_id)
FROM price_history WHERE checked_at >= now() - interval '180 days' GROUP BY 1;
SELECT (started_at AT TIME ZONE 'UTC')::date AS day, count(*)
FROM scrape_logs WHERE started_at >= now() - interval '180 days' GROUP BY 1;
SELECT pg_total_relation_size('price_history'), pg_total_relation_size('scrape_logs'),
       pg_database_size(current_database());
"""
RAW_REVIEW = """
SELECT domain, started_at >= now() - interval '7 days', count(*),
       count(*) FILTER (WHERE status_code BETWEEN 200 AND 399),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)
FROM scrape_logs WHERE started_at >= now() - interval '14 days' GROUP BY 1, 2;
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--volume", type=float, default=1.0)
    args, _ = parser.parse_known_args()
    base = Path(tempfile.mkdtemp(prefix="opslib-bench-reports-"))
    cluster = PostgresCluster(base, _free_port())
    try:
        cluster.init()
        cluster.start()
        with Database(cluster.dsn, statement_timeout=900) as db:
            migrate(db, ("opslib", "platform"))
            lab = LabSettings(state_dir=base / "lab", port_base=20000, history_days=180,
                              history_volume=args.volume)  # fmt: skip
            took = _timed(lambda: seed(db, lab, datetime.now(UTC)))
            rows = db.fetch_one("SELECT count(*) AS n FROM price_history")
            print(f"seeded 180 days ({rows['n'] if rows else 0:,} price rows) in {took:.1f} s")
            settings = Settings(database_dsn=cluster.dsn, prometheus_url="http://127.0.0.1:9",
                                backups={"backup_dir": base})  # fmt: skip
            with Prometheus(settings.prometheus_url, timeout=2) as prometheus:
                kinds = ("capacity", "raw capacity SQL", "review", "raw review SQL")
                figures: dict[str, list[float]] = {k: [] for k in kinds}
                for _ in range(args.rounds):
                    figures["capacity"].append(
                        _timed(lambda: capacity_report(db, settings, prometheus=prometheus))
                    )
                    figures["raw capacity SQL"].append(
                        _timed(lambda: db.execute_script(RAW_CAPACITY))
                    )
                    figures["review"].append(
                        _timed(lambda: performance_review(db, settings, prometheus=prometheus))
                    )
                    figures["raw review SQL"].append(_timed(lambda: db.execute_script(RAW_REVIEW)))
            report = capacity_report(db, settings)
            for name, b in report.backtests:
                print(f"backtest {name}: MAPE {b.mape:.2%}, last {b.holdout_days} days held out")
        for name, times in figures.items():
            target = "  (target < 5 s)" if not name.startswith("raw") else ""
            print(f"{name:18s} {min(times):6.2f} .. {max(times):6.2f} s, {len(times)} runs{target}")
        for report_name in ("capacity", "review"):
            ratio = max(figures[report_name]) / max(min(figures[f"raw {report_name} SQL"]), 1e-9)
            print(f"{report_name}: {ratio:.1f}x the raw SQL")
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()

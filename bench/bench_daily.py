"""Benchmark: the daily checks against the runbook's raw daily commands, on the lab.

Run with ``nox -s bench`` (or ``python bench/bench_daily.py [--rounds N]``). Starts its own lab
(5 scraper containers, project ``pricewatch-bench``, ports from 46000), then measures side by side,
alternating, in one run:

1. ``pytest checks/daily`` writing the HTML, JSON and JUnit reports, against running the runbook's
   daily commands one after another: ``docker ps`` (for ``docker-compose ps``),
   ``docker stats --no-stream``, the Prometheus error-rate query with curl, and the data-quality
   SQL with psql. Target: at most 1.0x.
2. CPU and memory of every container of the stack with ``Platform.usage`` against
   ``docker stats --no-stream``. Target: at most 0.25x.

Prints the medians and the ratios, and stops the lab.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from opslib.adapters import Platform
from opslib.config import load_settings
from opslib.lab import Lab, LabSettings

ROOT = Path(__file__).resolve().parent.parent
DAILY_SQL = """SELECT date_trunc('hour', checked_at) as hour, count(*) as total,
 count(*) filter (where price is not null) as with_price,
 avg(extraction_confidence) as avg_confidence
FROM price_history WHERE checked_at > now() - interval '24 hours' GROUP BY 1 ORDER BY 1 DESC;"""


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=120)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({result.returncode}): {result.stderr[-500:]}")


def _time(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="opslib-bench-"))
    state.chmod(0o755)
    lab = Lab(LabSettings.for_tests(state / "lab", 46000, project="pricewatch-bench", workers=5))
    print("bench: starting the lab (5 scraper containers) ...", flush=True)
    lab.up()
    try:
        time.sleep(10)  # let Prometheus collect a few samples, as a deployed fleet would have
        return _measure(lab, args.rounds, state)
    finally:
        lab.down()
        shutil.rmtree(state, ignore_errors=True)


def _measure(lab: Lab, rounds: int, state: Path) -> int:
    settings = load_settings(lab.config_file)
    assert settings.database_dsn is not None
    # The password goes to psql through its environment, never its command line (ps shows it).
    params = conninfo_to_dict(settings.database_dsn.get_secret_value())
    psql_env = {**os.environ, "PGPASSWORD": str(params.pop("password", ""))}
    conninfo = make_conninfo(**{k: str(v) for k, v in params.items()})
    project = settings.compose_project
    label = f"label=com.docker.compose.project={project}"
    env = {**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}
    reports = state / "reports"
    reports.mkdir()
    pytest_argv = [
        sys.executable, "-m", "pytest", str(ROOT / "checks" / "daily"), "-q",
        "-p", "no:cacheprovider", "--html", str(reports / "daily.html"),
        "--self-contained-html", "--junitxml", str(reports / "daily.xml"),
    ]  # fmt: skip
    query = f"{settings.prometheus_url}/api/v1/query?query=rate(scraper_errors_total[1h])"

    def raw_commands() -> None:
        ids = subprocess.run(
            ["docker", "ps", "-q", "--filter", label], capture_output=True, text=True, check=True
        ).stdout.split()
        _run(["docker", "ps", "--filter", label])
        _run(["docker", "stats", "--no-stream", *ids])
        _run(["curl", "-s", "-g", "--max-time", "5", query])
        _run(["psql", conninfo, "-q", "-c", DAILY_SQL], psql_env)

    with Platform(project) as platform:
        running = [c for c in platform.containers() if c.running]
        ids = [c.id for c in running]

        def opslib_usage() -> None:
            platform.usage(running, sample_seconds=settings.stats_sample_seconds)

        def docker_stats() -> None:
            _run(["docker", "stats", "--no-stream", *ids])

        timings: dict[str, list[float]] = {k: [] for k in ("checks", "raw", "usage", "stats")}
        _time(lambda: _run(pytest_argv, env))  # warm-up: imports, page cache
        for _ in range(rounds):
            timings["checks"].append(_time(lambda: _run(pytest_argv, env)))
            timings["raw"].append(_time(raw_commands))
            timings["usage"].append(_time(opslib_usage))
            timings["stats"].append(_time(docker_stats))

    med = {k: statistics.median(v) for k, v in timings.items()}
    print(f"\ncontainers in the stack: {len(running)}; rounds: {rounds}")
    print(f"pytest checks/daily + reports : {med['checks']:.2f} s (median)")
    print(f"raw runbook daily commands    : {med['raw']:.2f} s (median)")
    print(f"ratio checks / raw            : {med['checks'] / med['raw']:.2f}x  (target <= 1.0x)")
    print(f"Platform.usage, all containers: {med['usage']:.2f} s (median)")
    print(f"docker stats --no-stream      : {med['stats']:.2f} s (median)")
    print(f"ratio usage / docker stats    : {med['usage'] / med['stats']:.2f}x  (target <= 0.25x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

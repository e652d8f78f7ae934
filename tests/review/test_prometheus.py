"""The review's and capacity's Prometheus side against a real Prometheus whose history was
backfilled with promtool: two weeks with the scraper's CPU doubled this week, and a server with
two days only."""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from opslib.adapters import Prometheus
from opslib.capacity import capacity_report
from opslib.config import Settings
from opslib.errors import OpsError
from opslib.lab._prometheus import find_promtool
from opslib.results import Severity
from opslib.review import performance_review
from tests.review.conftest import Seeder, settings_for
from tests.support import free_port, wait_until

STEP = 300
END = time.time() - 60
"""The backfilled history's end: the review is asked as of then (a slow start-up would leave
the newest sample older than Prometheus' 5-minute look-back)."""
AS_OF = datetime.fromtimestamp(END, UTC)
SERVICE = "container_label_com_docker_compose_service"


def _history(days: int, end: float) -> str:
    """OpenMetrics: up, the queue, the processed counter and containers' CPU and memory; the
    scraper uses 0.5 cores until 7 days before ``end``, then 1.0."""
    times = range(int(end) - days * 86400, int(end) + 1, STEP)
    week = end - 7 * 86400
    lines = ["# TYPE up gauge", *(f'up{{job="scraper"}} 1 {t}' for t in times)]
    lines += ["# TYPE queue_size gauge", *(f"queue_size 3 {t}" for t in times)]
    lines.append("# TYPE scraper_processed counter")
    lines += [f"scraper_processed_total {(t - times[0]) * 2} {t}" for t in times]
    lines.append("# TYPE container_cpu_usage_seconds counter")
    for service, cores in (("scraper", (0.5, 1.0)), ("postgres", (0.2, 0.2))):
        total = 0.0
        for t in times:
            total += STEP * (cores[1] if t >= week else cores[0])
            lines.append(f'container_cpu_usage_seconds_total{{{SERVICE}="{service}"}} {total} {t}')
    lines.append("# TYPE scraper_request_duration_seconds histogram")
    shares = {False: (0.96, 0.99, 1.0), True: (0.5, 0.8, 1.0)}  # this week: slower fetches
    counts = [0.0, 0.0, 0.0]
    for t in times:
        for n, share in enumerate(shares[t >= week]):
            counts[n] += 100 * share
        for bound, count in zip(("0.1", "0.5", "1.0"), counts, strict=True):
            lines.append(f'scraper_request_duration_seconds_bucket{{le="{bound}"}} {count} {t}')
        lines.append(f'scraper_request_duration_seconds_bucket{{le="+Inf"}} {counts[2]} {t}')
        lines.append(f"scraper_request_duration_seconds_count {counts[2]} {t}")
        lines.append(f"scraper_request_duration_seconds_sum {counts[2] * 0.1} {t}")
    lines.append("# TYPE container_memory_working_set_bytes gauge")
    lines += [f'container_memory_working_set_bytes{{{SERVICE}="scraper"}} 2e8 {t}' for t in times]
    return "\n".join([*lines, "# EOF"]) + "\n"


def _start(
    prometheus_bin: str, base: Path, days: int, end: float
) -> tuple[subprocess.Popen[bytes], str]:
    promtool = find_promtool()
    if promtool is None:
        pytest.skip("promtool not available")
    base.mkdir(parents=True, exist_ok=True)
    source = base / "history.om"
    source.write_text(_history(days, end))
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(source),
         str(base / "data")], check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    (base / "prometheus.yml").write_text("global:\n  scrape_interval: 1m\n")
    port = free_port()
    proc = subprocess.Popen(
        [prometheus_bin, f"--config.file={base / 'prometheus.yml'}",
         f"--storage.tsdb.path={base / 'data'}", "--storage.tsdb.retention.time=60d",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with Prometheus(url, timeout=2) as prom:

        def ready() -> bool:
            try:
                return bool(prom.query("count(up)", at=datetime.fromtimestamp(end, UTC)))
            except OpsError:
                return False

        try:
            wait_until(ready, 60, "Prometheus serving its backfilled history")
        except BaseException:
            proc.terminate()
            proc.wait(10)
            raise
    return proc, url


@pytest.fixture(scope="module")
def servers(
    prometheus_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[int, str]]:
    """Two servers: 15 days of history up to :data:`END`, and 2."""
    base = tmp_path_factory.mktemp("prometheus-review")
    started = [(_start(prometheus_bin, base / str(days), days, END), days) for days in (15, 2)]
    try:
        yield {days: url for (_proc, url), days in started}
    finally:
        for (proc, _url), _days in started:
            proc.terminate()
            proc.wait(10)


def test_two_weeks_of_prometheus_rank_the_scraper_service(
    servers: dict[int, str], seeded: Seeder, tmp_path: Path
) -> None:
    db = seeded(15)
    settings = settings_for(db, tmp_path)
    with Prometheus(servers[15], timeout=5) as prom:
        report = performance_review(db, settings, prometheus=prom, now=AS_OF)
    result = report.results[2]
    by = {(m.name, m.subject): m for m in result.measurements}
    assert by[("cpu_rise", "scraper")].value == pytest.approx(1.0, rel=0.1)
    assert by[("cpu_rise", "scraper")].severity is Severity.CRITICAL
    assert by[("cpu_rise", "postgres")].severity is Severity.OK
    assert by[("throughput_drop", "processed")].value == pytest.approx(0, abs=0.02)
    assert (by[("latency_rise", "fetch histogram")].value or 0) > 5  # p95 ~0.1 s -> ~0.9 s
    assert result.severity is Severity.CRITICAL
    services = [a for a in report.areas if a.kind == "service"]
    assert services[0].subject == "scraper"


def test_two_days_of_prometheus_is_unknown_in_one_line(
    servers: dict[int, str], seeded: Seeder, tmp_path: Path
) -> None:
    db = seeded(15)
    with Prometheus(servers[2], timeout=5) as prom:
        review = performance_review(db, settings_for(db, tmp_path), prometheus=prom, now=AS_OF)
    result = review.results[2]
    assert result.severity is Severity.UNKNOWN
    assert "need 14 days of history" in result.error
    assert "\n" not in result.error


def test_capacity_forecasts_cpu_per_service(
    servers: dict[int, str], seeded: Seeder, tmp_path: Path
) -> None:
    db = seeded(20)
    settings: Settings = settings_for(db, tmp_path)
    with Prometheus(servers[15], timeout=5) as prom:
        report = capacity_report(db, settings, prometheus=prom, today=AS_OF.date())
    cpu = report.line("CPU[scraper]")
    assert cpu is not None
    assert cpu.history[-1][1] == pytest.approx(1.0, rel=0.1)
    assert isinstance(cpu.history[0][0], date)
    assert not math.isnan(cpu.current or math.nan)

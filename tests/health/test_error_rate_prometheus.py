"""The error-rate check against a real Prometheus scraping a platform with its own names: the
errors counter ``crawler_failures_total`` labelled ``site``, and no requests counter."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from opslib.adapters import Prometheus
from opslib.config import MetricNames, Settings
from opslib.errors import OpsError
from opslib.health import error_rate
from opslib.results import Severity
from tests.support import free_port, wait_until

WINDOW = "10s"
NAMES = MetricNames(errors="crawler_failures_total", domain_label="site")
# errors per second each site's exporter adds: alpha over the warn limit (1/s), bravo under it
PER_SECOND = {"alpha-shop.test": 2.0, "bravo-shop.test": 0.2}
TICK = 0.25


@pytest.fixture(scope="module")
def prometheus(prometheus_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prometheus (1 s scrapes) with more than ``WINDOW`` of a steadily failing platform's
    history."""
    registry = CollectorRegistry()
    failures = Counter("crawler_failures", "Failed fetches.", ["site"], registry=registry)
    exporter_port = free_port()
    exporter, exporter_thread = start_http_server(
        exporter_port, addr="127.0.0.1", registry=registry
    )
    stop = threading.Event()

    def fail_steadily() -> None:
        while not stop.wait(TICK):
            for site, rate in PER_SECOND.items():
                failures.labels(site).inc(rate * TICK)

    ticker = threading.Thread(target=fail_steadily, name="failures", daemon=True)
    ticker.start()
    base = tmp_path_factory.mktemp("prometheus-names")
    port = free_port()
    config = base / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 500ms\n"
        "scrape_configs:\n"
        "  - job_name: crawler\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n"
    )
    log_path = base / "prometheus.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                prometheus_bin,
                f"--config.file={config}",
                f"--storage.tsdb.path={base / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        with Prometheus(url, timeout=2) as prom:

            def history() -> bool:
                if proc.poll() is not None:
                    pytest.fail(f"prometheus exited: {Path(log_path).read_text()[-2000:]}")
                try:
                    seen = prom.scalar("min(count_over_time(crawler_failures_total[1m]))")
                except OpsError:  # still starting up
                    return False
                # rate() divides by the whole window: the series must be older than it
                return (seen or 0) >= 13

            wait_until(history, 40, f"{WINDOW} of crawler_failures_total in prometheus")
        yield url
    finally:
        stop.set()
        ticker.join(5)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        exporter.shutdown()
        exporter.server_close()
        exporter_thread.join(5)


def test_own_names_without_requests_counter_are_judged_in_errors_per_second(
    prometheus: str,
) -> None:
    settings = Settings(error_window=WINDOW, metric_names=NAMES)
    with Prometheus(prometheus, timeout=5) as prom:
        result = error_rate(prom, settings)
    assert result.severity is Severity.WARNING, result.message()
    by_subject = {m.subject: m for m in result.measurements}
    assert set(by_subject) == {"", "alpha-shop.test", "bravo-shop.test"}
    assert all(m.name == "error_rate" for m in result.measurements)
    assert by_subject[""].value == pytest.approx(2.2, rel=0.3)
    assert by_subject["alpha-shop.test"].value == pytest.approx(2.0, rel=0.3)
    assert by_subject["alpha-shop.test"].severity is Severity.WARNING
    assert by_subject["bravo-shop.test"].value == pytest.approx(0.2, rel=0.3)
    assert by_subject["bravo-shop.test"].severity is Severity.OK
    assert by_subject[""].note == (
        "error share not judged: Prometheus has no scraper_requests_total series "
        "(export a requests counter, or set metric_names.requests)"
    )
    [table] = result.tables
    assert [row[0] for row in table.rows] == ["alpha-shop.test", "bravo-shop.test"]


def test_the_runbook_names_on_that_platform_are_unknown_saying_what_to_set(
    prometheus: str,
) -> None:
    with Prometheus(prometheus, timeout=5) as prom:
        result = error_rate(prom, Settings(error_window=WINDOW))
    assert result.severity is Severity.UNKNOWN
    assert result.error == (
        "Prometheus has no scraper_errors_total series: scrape the scrapers' /metrics, "
        "or set metric_names.errors"
    )

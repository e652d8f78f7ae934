"""daily.performance against real /metrics endpoints (prometheus_client exporters) of a platform
with its own names and no Prometheus series: growth and rate from two real samples, a stopped
scraper named while the other is judged."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from opslib.adapters import scrape_all
from opslib.config import MetricNames, Settings
from opslib.performance import processing_rate, queue_size
from opslib.results import Severity
from tests.performance.fakes import FakeRates
from tests.support import free_port

NAMES = MetricNames(queue="crawl_backlog", processed="crawler_pages_done_total", sample_seconds=1)
PER_SECOND = 100.0
TICK = 0.1
BACKLOG = 250


@pytest.fixture(scope="module")
def endpoints() -> Iterator[list[str]]:
    """The /metrics URL of a running scraper (steady backlog, 100 pages/s) and of a stopped one."""
    registry = CollectorRegistry()
    done = Counter("crawler_pages_done", "Pages processed.", registry=registry)
    Gauge("crawl_backlog", "Pages due.", registry=registry).set(BACKLOG)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    stop = threading.Event()

    def work() -> None:
        while not stop.wait(TICK):
            done.inc(PER_SECOND * TICK)

    worker = threading.Thread(target=work, name="pages", daemon=True)
    worker.start()
    try:
        yield [f"http://127.0.0.1:{port}/metrics", f"http://127.0.0.1:{free_port()}/metrics"]
    finally:
        stop.set()
        worker.join(5)
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_queue_judged_on_the_running_scraper_with_growth_from_two_samples(
    endpoints: list[str],
) -> None:
    settings = Settings(metrics_urls=endpoints, metric_names=NAMES)
    prometheus = FakeRates({"max(deriv(crawl_backlog[1h])) * 3600": None})
    result = queue_size(scrape_all, prometheus, settings)
    assert result.severity is Severity.OK, result.message()
    values = {m.name: m.value for m in result.measurements}
    assert values == {"queue_size": BACKLOG, "queue_growth": 0.0}
    notes = {m.name: m.note for m in result.measurements}
    assert notes["queue_size"].startswith(f"from 1 of 2 /metrics endpoints; metrics {endpoints[1]}")
    # the interval is the sleep and the time a scrape takes: the readings are that far apart
    apart = re.match(
        r"from two /metrics samples ([0-9.]+) s apart \(250 -> 250;", notes["queue_growth"]
    )
    assert apart is not None, notes["queue_growth"]
    assert 1.0 <= float(apart[1]) < 1.0 + 2 * settings.timeouts.http
    [table] = result.tables
    assert [row[:2] for row in table.rows] == [
        (endpoints[0], str(BACKLOG)),
        (endpoints[1], "unreachable"),
    ]


def test_processing_rate_from_two_samples_of_the_counter(endpoints: list[str]) -> None:
    settings = Settings(metrics_urls=endpoints, metric_names=NAMES)
    prometheus = FakeRates({"sum(rate(crawler_pages_done_total[5m]))": None})
    result = processing_rate(scrape_all, prometheus, settings)
    assert result.severity is Severity.OK, result.message()
    rate = next(m for m in result.measurements if m.name == "processing_rate")
    assert rate.value == pytest.approx(PER_SECOND, rel=0.25)
    assert "on 1 endpoint(s)" in rate.note
    assert f"metrics {endpoints[1]}" in rate.note

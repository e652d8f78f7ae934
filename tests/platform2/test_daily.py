"""``pytest checks/daily`` on the second platform: every check's true answer, the platform named
at the top of the reports; then one thing broken at a time turns its own check red and no other.

The module runs before ``test_doctor.py`` and ``test_weekly.py`` (file order) and heals each
fault before it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from opslib.adapters import Prometheus
from opslib.config import load_settings
from opslib.health import error_rate
from opslib.results import CheckResult, Severity
from tests.platform2.stack import (
    COUNTRIES,
    ITEMS_PER_SECOND,
    PLATFORM_NAME,
    QUEUE_DEPTH,
    SITES,
    Platform2,
)
from tests.platform2.suites import SuiteRun, run_suite
from tests.support import poll_until, wait_until

# The daily checks this module reads figures from (the suite may hold more: each must be OK too).
DAILY_CHECKS = {
    "test_services_running", "test_restarts_not_climbing", "test_resource_usage",
    "test_error_rate", "test_queue_size", "test_processing_rate", "test_proxy_performance",
    "test_data_freshness", "test_price_coverage", "test_extraction_confidence",
    "test_domain_confidence",
}  # fmt: skip


def _all_ok_but(run: SuiteRun, red: str) -> None:
    __tracebackhide__ = True
    assert set(run.severities) >= DAILY_CHECKS, run.severities
    others = {name: sev for name, sev in run.severities.items() if name != red}
    assert set(others.values()) == {"OK"}, {n: run.checks[n]["message"] for n in others}


def test_daily_on_the_second_platform_is_true_and_names_it(
    platform2: Platform2, tmp_path: Path
) -> None:
    run = run_suite(platform2, "daily", tmp_path)
    assert run.process.returncode == 0, run.process.stdout[-3000:]
    assert set(run.severities) >= DAILY_CHECKS, run.severities
    assert set(run.severities.values()) == {"OK"}, run.severities

    # The platform is named at the top of every report, and nothing secret is in any of them.
    assert run.summary["platform"] == PLATFORM_NAME
    html = run.html.read_text()
    top = html.index(f"Platform checked:</b> {PLATFORM_NAME}")
    assert top < html.index('id="results-table"')  # in the summary, above the results
    assert f'name="opslib_platform" value="{PLATFORM_NAME}"' in run.junit.read_text()
    assert platform2.password not in run.text()

    # daily.health: the crawler runs; the migrate job exited 0 by design and is not a failure.
    assert run.figure("test_services_running", "running_containers", "crawler")["value"] == 1
    assert len(run.checks["test_services_running"]["measurements"]) == 1
    restarts = "test_restarts_not_climbing", "restarts_per_hour"
    assert run.figure(*restarts, platform2.migrate)["value"] == 0  # it ran once: no restart
    assert run.figure(*restarts, platform2.crawler)["value"] == 0
    cpu = run.subjects("test_resource_usage", "cpu_percent")
    assert cpu == {platform2.crawler}  # only the running container is sampled
    # errors/s from crawler_failures_total{site} alone: 0.2 + 0.1 + 0.1
    errors = run.figure("test_error_rate", "error_rate")
    assert errors["value"] == pytest.approx(0.4, rel=0.35)
    assert errors["note"].startswith("error share not judged: Prometheus has no scraper_requests")
    assert run.subjects("test_error_rate", "error_rate") == {"", *SITES}

    # daily.performance: the queue from /metrics, its growth from two samples (steady: 0).
    assert run.figure("test_queue_size", "queue_size")["value"] == QUEUE_DEPTH
    growth = run.figure("test_queue_size", "queue_growth")
    assert growth["value"] == 0
    assert "from two /metrics samples" in growth["note"]
    assert "Prometheus has no work_queue_depth series" in growth["note"]
    rate = run.figure("test_processing_rate", "processing_rate")
    assert rate["value"] == pytest.approx(ITEMS_PER_SECOND, rel=0.3)
    assert rate["note"] == ""  # from Prometheus' crawler_items_done_total
    drain = run.figure("test_processing_rate", "drain_time")["value"]
    assert drain == pytest.approx(QUEUE_DEPTH / ITEMS_PER_SECOND, rel=0.4)
    # proxy performance from opslib's pool (shop.fetch_log has no proxy columns)
    proxies = run.checks["test_proxy_performance"]
    assert "from opslib's proxy pool" in proxies["title"]
    used = run.subjects("test_proxy_performance", "success_rate")
    assert len(used) == len(COUNTRIES)  # the scraper spread its leases over the whole pool
    for proxy in used:
        assert run.figure("test_proxy_performance", "success_rate", proxy)["value"] == 1.0
        latency = run.figure("test_proxy_performance", "mean_latency", proxy)["value"]
        assert 0 < latency < 2000

    # daily.data_quality over shop.prices / shop.pages: ~2 % without a price, confidence ~0.93.
    assert run.figure("test_data_freshness", "missing_hours")["value"] == 0
    assert run.figure("test_data_freshness", "newest_row_age")["value"] < 2
    coverage = run.checks["test_price_coverage"]["measurements"]
    assert coverage
    assert all(0.95 < m["value"] <= 1 for m in coverage), coverage
    confidence = run.checks["test_extraction_confidence"]["measurements"]
    assert confidence
    assert all(0.9 <= m["value"] <= 0.97 for m in confidence), confidence
    assert run.subjects("test_domain_confidence", "confidence") == set(SITES)
    for site in SITES:
        value = run.figure("test_domain_confidence", "confidence", site)["value"]
        assert value == pytest.approx(0.93, abs=0.03)


def test_stopped_crawler_turns_services_red_and_nothing_else(
    platform2: Platform2, tmp_path: Path
) -> None:
    crawler = platform2.container(platform2.crawler)
    crawler.stop(timeout=5)  # it exits 0 on SIGTERM: a stopped replica is still down
    try:
        run = run_suite(platform2, "daily", tmp_path)
    finally:
        crawler.start()
        wait_until(
            lambda: platform2.container(platform2.crawler).status == "running", 20, "the crawler"
        )
    assert run.process.returncode == 1, run.process.stdout[-3000:]
    assert run.severities["test_services_running"] == "CRITICAL"
    services = run.checks["test_services_running"]
    assert run.figure("test_services_running", "running_containers", "crawler")["value"] == 0
    stopped = run.figure("test_services_running", "not_running", platform2.crawler)
    assert stopped["note"] == "exited (exit code 0)"
    assert platform2.migrate not in services["message"]  # the one-shot job is still fine
    stop = run.figure("test_restarts_not_climbing", "restarts_per_hour", platform2.crawler)
    assert stop["value"] == 0  # stopped, not restarted
    _all_ok_but(run, "test_services_running")
    # Nothing to sample is nothing over a limit: the stopped crawler is the services check's.
    assert run.figure("test_resource_usage", "running_containers")["value"] == 0


def _error_rate(platform: Platform2) -> Callable[[], CheckResult]:
    settings = load_settings(platform.config)

    def check() -> CheckResult:
        with Prometheus(platform.prometheus_url, timeout=5) as prom:
            return error_rate(prom, settings)

    return check


def test_failure_burst_on_one_site_turns_the_error_rate_red_and_nothing_else(
    platform2: Platform2, tmp_path: Path
) -> None:
    site = SITES[1]
    platform2.exporter.burst(site, 20.0)  # errors/s, over the critical 5/s
    try:
        red = poll_until(
            _error_rate(platform2),
            lambda r: r.severity is Severity.CRITICAL,
            deadline=30,
            interval=1,
        )
        assert red.severity is Severity.CRITICAL, red.message()
        run = run_suite(platform2, "daily", tmp_path)
    finally:
        platform2.exporter.calm()
    assert run.process.returncode == 1, run.process.stdout[-3000:]
    assert run.severities["test_error_rate"] == "CRITICAL"
    assert site in run.checks["test_error_rate"]["message"]
    assert run.figure("test_error_rate", "error_rate", site)["severity"] == "CRITICAL"
    for other in set(SITES) - {site}:
        assert run.figure("test_error_rate", "error_rate", other)["severity"] == "OK"
    _all_ok_but(run, "test_error_rate")

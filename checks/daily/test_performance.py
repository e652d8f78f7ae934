"""daily.performance: Daily Operations 2 (queue, processing rate, proxy performance)."""

from __future__ import annotations

import pytest

from opslib import performance, proxies
from opslib.adapters import Database, Prometheus, scrape_all
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("daily.performance")


def test_queue_size(
    ops_prometheus: Prometheus, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """queue_size under threshold and not growing over the last hour."""
    ops_verdict(performance.queue_size(scrape_all, ops_prometheus, ops_settings))


def test_processing_rate(
    ops_prometheus: Prometheus, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """Items processed per second above the floor; estimated time to drain the queue."""
    ops_verdict(performance.processing_rate(scrape_all, ops_prometheus, ops_settings))


def test_proxy_performance(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """Success rate and p95 latency of every proxy the scrapers used."""
    ops_verdict(proxies.proxy_performance(ops_db, ops_settings))

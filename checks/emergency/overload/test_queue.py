"""emergency.overload: System Overload Response, the queue (runbook ``queue_size`` on
``/metrics``): its size and growth, the processing rate and the time to drain it, naming
``opslib urls pause --priority low``, ``opslib urls interval --priority low --factor 2`` and
``opslib scale scraper N``."""

from __future__ import annotations

import pytest

from opslib import overload
from opslib.adapters import Prometheus, scrape_all
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("emergency.overload")


def test_queue_load(
    ops_prometheus: Prometheus, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """queue_size under performance.queue_size and not growing (performance.queue_growth)."""
    ops_verdict(overload.queue_load(scrape_all, ops_prometheus, ops_settings))


def test_drain_time(
    ops_prometheus: Prometheus, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """Processing rate above its floor and the queue drained within performance.drain_time."""
    ops_verdict(overload.drain_time(scrape_all, ops_prometheus, ops_settings))


def test_cache_hit_rate(
    ops_prometheus: Prometheus, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """The share of requests answered 304 Not Modified, per domain (shown, not judged)."""
    ops_verdict(overload.cache_hit_rate(ops_prometheus, ops_settings))

"""daily.health: Daily Operations 1 (service status, resource usage, error rates)."""

from __future__ import annotations

import pytest

from opslib import health
from opslib.adapters import Platform, Prometheus
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("daily.health")


def test_services_running(
    ops_platform: Platform, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """Every expected service has a running container; none stopped, restarting or unhealthy."""
    ops_verdict(health.service_status(ops_platform, ops_settings))


def test_restarts_not_climbing(
    ops_platform: Platform, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """No container restarted more often than allowed in the last hour."""
    ops_verdict(health.restart_trend(ops_platform, ops_settings))


def test_resource_usage(
    ops_platform: Platform, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """CPU % and memory % of limit of every container under thresholds."""
    ops_verdict(health.resource_usage(ops_platform, ops_settings))


def test_error_rate(
    ops_prometheus: Prometheus, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """rate(scraper_errors_total[1h]), overall, as a share of requests, and per domain."""
    ops_verdict(health.error_rate(ops_prometheus, ops_settings))

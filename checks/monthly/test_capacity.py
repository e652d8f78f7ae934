"""monthly.capacity: Monthly Maintenance 3 (storage growth, resource allocations, scaling).

Forecasts for capacity.horizons days with a 95 % interval, backtested on the held-out last
days; ``opslib capacity report --html FILE`` shows the same with charts.
"""

from __future__ import annotations

import pytest

from opslib.adapters import Database, Platform, Prometheus
from opslib.capacity import CapacityReport, capacity_report
from opslib.config import Settings
from opslib.errors import OpsError
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("monthly.capacity")


@pytest.fixture(scope="module")
def capacity(
    request: pytest.FixtureRequest, ops_db: Database, ops_settings: Settings
) -> CapacityReport:
    """The capacity report, computed once; Prometheus and the Docker engine when reachable."""
    prometheus: Prometheus | None
    try:
        prometheus = request.getfixturevalue("ops_prometheus")
    except OpsError:
        prometheus = None
    replicas = None
    try:
        platform: Platform = request.getfixturevalue("ops_platform")
        replicas = sum(c.running for c in platform.containers(ops_settings.scraper_service))
    except OpsError:
        pass
    return capacity_report(ops_db, ops_settings, prometheus=prometheus, replicas=replicas)


def test_volumes_hold_growth(capacity: CapacityReport, ops_verdict: Verdict) -> None:
    """The database and backup volumes hold the forecast growth beyond the horizon."""
    ops_verdict(capacity.results[0])


def test_scraper_replicas(capacity: CapacityReport, ops_verdict: Verdict) -> None:
    """The running scraper replicas carry the forecast requests per day."""
    ops_verdict(capacity.results[1])


def test_forecast_backtest(capacity: CapacityReport, ops_verdict: Verdict) -> None:
    """The forecast's error on the held-out last days (MAPE) under its limit."""
    ops_verdict(capacity.results[2])


def test_backup_volume_holds_policy(capacity: CapacityReport, ops_verdict: Verdict) -> None:
    """The backup volume holds what the retention policy in force keeps 90 days ahead."""
    ops_verdict(capacity.results[3])

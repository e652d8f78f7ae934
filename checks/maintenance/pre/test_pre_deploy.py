"""maintenance.pre_deploy: before a deploy (runbook Maintenance Procedures: back up, check the
stack), and the baseline the post-deploy gate compares with (``--ops-baseline``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opslib import backups, gate, health
from opslib.adapters import Database, Platform, Prometheus, scrape_all
from opslib.config import Settings
from opslib.connect import describe_platform
from opslib.errors import OpsError
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("maintenance.pre_deploy")


def test_backup_within_rpo(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """The newest backup is younger than the recovery point objective (backups.newest_age)."""
    ops_verdict(backups.backup_recency(ops_db, ops_settings))


def test_verified_backup_recent(
    ops_db: Database, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """A backup proven by a restore, younger than gate.verified_backup_age: a rollback point."""
    ops_verdict(gate.verified_backup_recent(ops_db, ops_settings))


def test_no_maintenance_window_open(
    ops_db: Database, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """No maintenance window is open (another maintenance in progress, or one left on)."""
    ops_verdict(gate.maintenance_off(ops_db, ops_settings, sop=gate.PRE_SOP))


def test_services_running(
    ops_platform: Platform, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """Every expected service has a running container (the daily health check)."""
    ops_verdict(health.service_status(ops_platform, ops_settings))


def test_restarts_not_climbing(
    ops_platform: Platform, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """No container restarted more often than allowed in the last hour."""
    ops_verdict(health.restart_trend(ops_platform, ops_settings))


def test_error_rate(
    ops_prometheus: Prometheus, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """Error rate overall and per domain under its thresholds (the daily health check)."""
    ops_verdict(health.error_rate(ops_prometheus, ops_settings))


def _reachable(request: pytest.FixtureRequest, fixture: str) -> Any:
    """The fixture's adapter, or None when its dependency cannot be reached."""
    try:
        return request.getfixturevalue(fixture)
    except OpsError:
        return None


def test_save_baseline(
    request: pytest.FixtureRequest,
    ops_settings: Settings,
    ops_baseline: Path,
    ops_verdict: Verdict,
) -> None:
    """The figures the post gate compares with, written to --ops-baseline (saved even when
    checks above are red: the post gate then tells what the deploy made worse)."""
    prometheus = _reachable(request, "ops_prometheus")
    baseline = gate.capture(
        ops_settings,
        platform_name=describe_platform(ops_settings),
        db=_reachable(request, "ops_db"),
        prometheus=prometheus,
        platform=_reachable(request, "ops_platform"),
        scrape=scrape_all if prometheus is not None else None,
    )
    gate.save_baseline(ops_baseline, baseline)
    ops_verdict(gate.baseline_saved(baseline, str(ops_baseline)))

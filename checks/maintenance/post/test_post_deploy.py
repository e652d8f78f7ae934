"""maintenance.post_deploy: the gate CI runs after a deploy (runbook Maintenance Procedures:
verify health, verify data flow, maintenance mode off). It fails on what the deploy made worse
than the baseline the pre-deploy checks saved; what was already red is a WARNING."""

from __future__ import annotations

import pytest

from opslib import gate
from opslib.adapters import Database, Platform, Prometheus
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("maintenance.post_deploy")


def test_baseline(
    baseline: gate.BaselineFile, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """The baseline from before the deploy; without one the gate judges absolute thresholds."""
    ops_verdict(gate.baseline_status(baseline, ops_settings))


def test_services_up(
    ops_platform: Platform,
    ops_settings: Settings,
    baseline: gate.BaselineFile,
    ops_verdict: Verdict,
) -> None:
    """Every expected service running, none with fewer containers than before the deploy."""
    ops_verdict(gate.services_up(ops_platform, ops_settings, baseline))


def test_maintenance_off(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """Maintenance mode is off: the deploy closed its window."""
    ops_verdict(gate.maintenance_off(ops_db, ops_settings))


def test_data_flowing(
    ops_db: Database, ops_settings: Settings, baseline: gate.BaselineFile, ops_verdict: Verdict
) -> None:
    """New price_history rows from every expected domain, written after the gate began."""
    ops_verdict(gate.data_flowing(ops_db, ops_settings, baseline))


def test_error_rate_not_worse(
    ops_prometheus: Prometheus,
    ops_settings: Settings,
    baseline: gate.BaselineFile,
    ops_verdict: Verdict,
) -> None:
    """Error share overall and per domain not worse than before the deploy."""
    ops_verdict(gate.errors_not_worse(ops_prometheus, ops_settings, baseline))


def test_confidence_not_worse(
    ops_db: Database, ops_settings: Settings, baseline: gate.BaselineFile, ops_verdict: Verdict
) -> None:
    """Extraction confidence overall and per domain not worse than before the deploy."""
    ops_verdict(gate.confidence_not_worse(ops_db, ops_settings, baseline))


def test_price_coverage_not_worse(
    ops_db: Database, ops_settings: Settings, baseline: gate.BaselineFile, ops_verdict: Verdict
) -> None:
    """Price coverage not worse than before the deploy."""
    ops_verdict(gate.coverage_not_worse(ops_db, ops_settings, baseline))

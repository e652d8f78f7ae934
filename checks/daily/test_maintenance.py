"""daily.health: maintenance mode is never left on silently (runbook Maintenance Procedures:
"disable maintenance mode" is the step a tired operator forgets)."""

from __future__ import annotations

import pytest

from opslib import maintenance
from opslib.adapters import Database
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("daily.health")


def test_maintenance_not_stuck(
    ops_db: Database, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """No maintenance window past its expected end (CRITICAL); an open one is a WARNING."""
    ops_verdict(maintenance.stuck_windows(ops_db, ops_settings))

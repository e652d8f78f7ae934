"""monthly.backups: Monthly Maintenance 2 (restore test, integrity, retention)."""

from __future__ import annotations

import pytest

from opslib import backups
from opslib.adapters import Database
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("monthly.backups")


def test_backup_recency(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """The newest backup is younger than the recovery point objective (26 h)."""
    ops_verdict(backups.backup_recency(ops_db, ops_settings))


def test_verified_recency(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """The newest backup proven by a restore is younger than 35 days."""
    ops_verdict(backups.verified_recency(ops_db, ops_settings))


def test_backup_integrity(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """Every retained backup: checksums, pg_restore --list, tarball read to the end."""
    ops_verdict(backups.backup_integrity(ops_db, ops_settings))


def test_restore_drill(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """The newest backup restores into a scratch database and matches its manifest."""
    ops_verdict(backups.restore_drill(ops_db, ops_settings))


def test_retention(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """Catalogue and directory agree, at least min_count kept, nothing overdue for pruning."""
    ops_verdict(backups.retention_status(ops_db, ops_settings))


def test_scratch_leftovers(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """No scratch database left behind by a killed restore drill."""
    ops_verdict(backups.scratch_leftovers(ops_db, ops_settings))

"""weekly.db_maintenance: Weekly Operations 1 (ANALYZE, VACUUM ANALYZE price_history, index
health).

Run ``opslib db maintain`` first (the runbook's maintenance step): these checks judge the state
it leaves, and each red one names the command that mends it.
"""

from __future__ import annotations

import pytest

from opslib import dbmaintain
from opslib.adapters import Database
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("weekly.db_maintenance")


def test_vacuum_and_analyze_age(
    ops_db: Database, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """Each platform table vacuumed and analysed (by hand or autovacuum) within its age."""
    ops_verdict(dbmaintain.maintenance_age(ops_db, ops_settings))


def test_table_bloat(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """Estimated bloat of each platform table under its threshold."""
    ops_verdict(dbmaintain.table_bloat(ops_db, ops_settings))


def test_transaction_id_age(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """Transaction ID age far from autovacuum_freeze_max_age (wraparound)."""
    ops_verdict(dbmaintain.xid_age(ops_db, ops_settings))


def test_index_health(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """No invalid, unused or duplicate index."""
    ops_verdict(dbmaintain.index_health(ops_db, ops_settings))


def test_partitioning(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """price_history below the size past which it is partitioned by checked_at."""
    ops_verdict(dbmaintain.partition_advice(ops_db, ops_settings))

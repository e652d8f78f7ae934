"""Weekly database maintenance (runbook Weekly 1): ``ANALYZE`` of the platform tables and
``VACUUM (ANALYZE)`` of ``price_history`` under a lock timeout, their figures before and after,
and the checks of weekly.db_maintenance (ages, bloat, transaction ID age, indexes, size)."""

from opslib.dbmaintain._checks import (
    SOP,
    index_health,
    maintenance_age,
    partition_advice,
    table_bloat,
    xid_age,
)
from opslib.dbmaintain._maintain import (
    MaintainPlan,
    MaintainPolicy,
    MaintainResult,
    MaintainStep,
    apply_maintenance,
    plan_maintenance,
)
from opslib.dbmaintain._stats import TABLE_KEYS, TableStats, read_stats, stats_table

__all__ = [
    "SOP",
    "TABLE_KEYS",
    "MaintainPlan",
    "MaintainPolicy",
    "MaintainResult",
    "MaintainStep",
    "TableStats",
    "apply_maintenance",
    "index_health",
    "maintenance_age",
    "partition_advice",
    "plan_maintenance",
    "read_stats",
    "stats_table",
    "table_bloat",
    "xid_age",
]

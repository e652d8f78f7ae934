"""Weekly database maintenance (runbook Weekly 1): ``ANALYZE`` of the platform tables and
``VACUUM (ANALYZE)`` of ``price_history`` under a lock timeout, their figures before and after,
and the checks of weekly.db_maintenance (ages, bloat, transaction ID age, indexes, size);
``price_history`` partitioned by month of ``checked_at``, online."""

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
from opslib.dbmaintain._partition import (
    PartitionPlan,
    PartitionResult,
    apply_partitioning,
    plan_partitioning,
)
from opslib.dbmaintain._stats import TABLE_KEYS, TableStats, read_stats, stats_table

__all__ = [
    "SOP",
    "TABLE_KEYS",
    "MaintainPlan",
    "MaintainPolicy",
    "MaintainResult",
    "MaintainStep",
    "PartitionPlan",
    "PartitionResult",
    "TableStats",
    "apply_maintenance",
    "apply_partitioning",
    "index_health",
    "maintenance_age",
    "partition_advice",
    "plan_maintenance",
    "plan_partitioning",
    "read_stats",
    "stats_table",
    "table_bloat",
    "xid_age",
]

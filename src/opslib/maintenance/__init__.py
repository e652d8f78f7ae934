"""Maintenance mode (runbook Maintenance Procedures): windows operators open and close, that
services ask about cheaply, and the daily check that none is left on past its expected end."""

from opslib.maintenance._checks import judge_windows, stuck_windows
from opslib.maintenance._mode import (
    MaintenanceMode,
    MaintenancePlan,
    MaintenanceStatus,
    plan_disable,
    plan_enable,
)
from opslib.maintenance._model import (
    MaintenanceScope,
    MaintenanceWindow,
    check_reason,
    parse_until,
)

__all__ = [
    "MaintenanceMode",
    "MaintenancePlan",
    "MaintenanceScope",
    "MaintenanceStatus",
    "MaintenanceWindow",
    "check_reason",
    "judge_windows",
    "parse_until",
    "plan_disable",
    "plan_enable",
    "stuck_windows",
]

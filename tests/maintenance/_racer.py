"""Run in child processes: one operator's ``enable`` or ``disable``, as the command runs it."""

from __future__ import annotations

from opslib.adapters import Database
from opslib.maintenance import MaintenanceMode, MaintenanceScope


def race(dsn: str, action: str, actor: str) -> tuple[str, tuple[int, ...]]:
    """(the plan's action, the ids of the windows it touched)."""
    with Database(dsn) as db:
        mode = MaintenanceMode(db)
        if action == "on":
            plan = mode.enable("deploy", scope=MaintenanceScope.of(["scraper"]), actor=actor)
        else:
            plan = mode.disable(actor)
    return plan.action, tuple(w.id for w in plan.windows)

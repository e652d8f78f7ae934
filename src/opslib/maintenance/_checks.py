"""The daily check that maintenance mode is never left on silently: a window past its expected
end is CRITICAL (threshold ``maintenance.overdue``), an open one within its time a WARNING."""

from __future__ import annotations

from opslib.adapters import Database
from opslib.config import Settings
from opslib.errors import OpsError
from opslib.maintenance._mode import MaintenanceMode, MaintenanceStatus
from opslib.results import CheckResult, Measurement, Table, Threshold

__all__ = ["judge_windows", "stuck_windows"]

SOP = "daily.health"
TITLE = "maintenance mode is not stuck"
_OPEN = Threshold(warn=0.5, unit="windows")  # an open window is worth seeing, not an alarm
_REMEDIATION = (
    "if the maintenance is over: `opslib maintenance off`; if it runs long, give the window a"
    " new expected end: `opslib maintenance on --reason ... --until 1h` with the same"
    " --service/--domain"
)


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


def judge_windows(status: MaintenanceStatus, settings: Settings) -> CheckResult:
    """OK without an open window; WARNING for each open window within its time; CRITICAL for
    one past its expected end by more than ``maintenance.overdue`` (minutes, crit 0)."""
    now = status.now
    overdue = settings.threshold("maintenance.overdue")
    measurements = []
    rows = []
    on = []
    for w in status.windows:
        scope = w.scope.describe()
        late = _minutes(w.overdue(now).total_seconds())
        left = _minutes((w.expected_end - now).total_seconds())
        since = f"{w.reason!r} by {w.actor} since {w.started_at:%Y-%m-%d %H:%M %Z}"
        if late > 0:
            note = f"past its expected end {w.expected_end:%H:%M %Z} by {late:g} min; {since}"
        else:
            note = f"{left:g} min left; {since}"
            on.append(f"{scope} ({note})")
        measurements.append(Measurement("minutes_past_expected_end", late, overdue, scope, note))
        state = "stuck" if late > 0 else "on"
        rows.append(
            (
                scope,
                state,
                w.reason,
                w.actor,
                f"{w.started_at:%Y-%m-%d %H:%M %Z}",
                f"{w.expected_end:%Y-%m-%d %H:%M %Z}",
            )
        )
    tables = (
        (
            Table(
                ("scope", "state", "reason", "by", "since", "expected end"),
                tuple(rows),
                "open maintenance windows",
            ),
        )
        if rows
        else ()
    )
    if not status.windows:
        summary = "maintenance mode is off"
    elif on:
        summary = "maintenance mode is on for " + "; ".join(on)
    else:
        summary = "maintenance mode is on, every window past its expected end"
    opened = Measurement("open_windows", len(status.windows), _OPEN, note=summary)
    return CheckResult(
        sop=SOP,
        title=TITLE,
        measurements=(opened, *measurements),
        remediation=_REMEDIATION,
        tables=tables,
    )


def stuck_windows(db: Database, settings: Settings) -> CheckResult:
    """The open maintenance windows judged by :func:`judge_windows`; UNKNOWN in one line when
    the database or opslib's schema cannot be read."""
    try:
        found = db.fetch_one("SELECT to_regclass('opslib.maintenance_windows') IS NOT NULL AS ok")
        if not found or not found["ok"]:
            missing = "opslib's schema has no maintenance_windows table: run opslib db migrate"
            return CheckResult.unknown(SOP, TITLE, missing)
        status = MaintenanceMode(db, settings.maintenance).status()
    except OpsError as exc:
        return CheckResult.unknown(SOP, TITLE, str(exc))
    return judge_windows(status, settings)

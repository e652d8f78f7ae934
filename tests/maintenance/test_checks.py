"""The daily check: no window OK, an open one WARNING, one past its expected end CRITICAL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opslib.config import Settings, ThresholdSpec
from opslib.maintenance import (
    MaintenanceScope,
    MaintenanceStatus,
    MaintenanceWindow,
    judge_windows,
    stuck_windows,
)
from opslib.results import Severity
from tests.dbkit import TestDatabase

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _window(minutes_left: float, scope: MaintenanceScope | None = None) -> MaintenanceWindow:
    return MaintenanceWindow(
        7,
        "deploy v2",
        "alice",
        NOW - timedelta(hours=1),
        NOW + timedelta(minutes=minutes_left),
        scope or MaintenanceScope.of(),
    )


def test_no_window_is_ok() -> None:
    result = judge_windows(MaintenanceStatus((), NOW), Settings())
    assert result.severity is Severity.OK
    assert result.measurements[0].note == "maintenance mode is off"
    assert result.sop == "daily.health"


def test_an_open_window_within_its_time_is_a_warning_saying_so() -> None:
    scope = MaintenanceScope.of(domains=["alpha.test"])
    result = judge_windows(MaintenanceStatus((_window(42, scope),), NOW), Settings())
    assert result.severity is Severity.WARNING
    message = result.message()
    assert "maintenance mode is on for domain alpha.test (42 min left; 'deploy v2' by alice" in (
        message
    )
    assert result.tables[0].rows[0][:2] == ("domain alpha.test", "on")


def test_a_window_past_its_expected_end_is_critical() -> None:
    result = judge_windows(MaintenanceStatus((_window(-30), _window(10)), NOW), Settings())
    assert result.severity is Severity.CRITICAL
    message = result.message()
    assert "minutes_past_expected_end[everything] = 30 min" in message
    assert "past its expected end 11:30 UTC by 30 min" in message
    assert "next: if the maintenance is over: `opslib maintenance off`" in message
    assert [row[1] for row in result.tables[0].rows] == ["stuck", "on"]


def test_a_grace_period_is_the_threshold() -> None:
    settings = Settings(thresholds={"maintenance.overdue": ThresholdSpec(crit=45)})
    result = judge_windows(MaintenanceStatus((_window(-30),), NOW), settings)
    assert result.severity is Severity.WARNING


def test_on_the_database(platform_db: TestDatabase) -> None:
    assert stuck_windows(platform_db, Settings()).severity is Severity.OK
    platform_db.execute(
        "INSERT INTO opslib.maintenance_windows (reason, actor, started_at, expected_end)"
        " VALUES ('forgotten', 'bob', now() - interval '3 h', now() - interval '1 h')"
    )
    result = stuck_windows(platform_db, Settings())
    assert result.severity is Severity.CRITICAL
    assert "'forgotten' by bob" in result.message()


def test_without_the_schema_it_is_unknown_in_one_line(fresh_db: TestDatabase) -> None:
    result = stuck_windows(fresh_db, Settings())
    assert result.severity is Severity.UNKNOWN
    assert result.message() == (
        "UNKNOWN: maintenance mode is not stuck: opslib's schema has no maintenance_windows"
        " table: run opslib db migrate"
    )

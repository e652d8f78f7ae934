"""The capacity report on a real PostgreSQL seeded with 180 days of the lab's history."""

from __future__ import annotations

from pathlib import Path

from opslib.capacity import capacity_report
from opslib.results import Severity
from tests.capacity.conftest import Seeder, settings_for


def test_180_days_forecast_backtested_and_volume_crossing(seeded: Seeder, tmp_path: Path) -> None:
    db = seeded(180)
    size = 2 * db.fetch_one("SELECT pg_database_size(current_database()) AS b")["b"]  # type: ignore[index]
    settings = settings_for(db, tmp_path, database_volume_bytes=size, requests_per_replica=800)
    report = capacity_report(db, settings, replicas=1)
    storage, replicas, backtested, policy = report.results
    assert policy.severity is Severity.UNKNOWN  # no backup catalogued: no size to project
    assert backtested.severity is Severity.OK
    assert {name for name, _ in report.backtests} == {
        "price_history rows/day",
        "scrape_logs rows/day",
    }
    assert all(b.mape < 0.1 for _, b in report.backtests)
    database = report.line("database size")
    assert database is not None
    assert database.crosses_on is not None
    assert [h.days for h in database.horizons] == [30, 90, 180]
    assert all(h.low <= h.estimate <= h.high for h in database.horizons)
    assert storage.measurements[0].subject == "database volume"
    assert storage.measurements[0].value is not None
    # 1 replica at 800 requests/day: already short, CRITICAL with the command
    assert replicas.severity is Severity.CRITICAL
    assert "opslib scale scraper" in replicas.remediation
    assert any("scraper replica(s) needed by" in s for s in report.scaling)
    urls = report.line("URLs monitored")
    assert urls is not None
    assert urls.horizons[0].estimate > urls.history[0][1]


def test_too_few_days_is_unknown_with_a_reason(seeded: Seeder, tmp_path: Path) -> None:
    db = seeded(7)
    report = capacity_report(db, settings_for(db, tmp_path))
    storage, replicas, backtested, policy = report.results
    assert policy.severity is Severity.UNKNOWN  # no backup catalogued: no size to project
    assert backtested.severity is Severity.UNKNOWN
    assert "too few points to backtest" in backtested.error
    assert storage.severity is Severity.UNKNOWN
    assert "too few points to forecast" in storage.error
    assert "\n" not in storage.message()  # one line: what the half-configured suites demand
    assert replicas.severity is Severity.UNKNOWN


def test_remote_database_volume_unknown_without_its_size(seeded: Seeder, tmp_path: Path) -> None:
    db = seeded(30)
    report = capacity_report(db, settings_for(db, tmp_path))
    volume = report.volumes[0]
    # The test cluster runs on this machine: its data directory's disk is measured.
    assert volume.size is not None or "capacity.database_volume_bytes" in volume.note

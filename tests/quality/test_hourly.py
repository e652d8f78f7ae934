"""Data quality checks against a real database filled with known hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opslib.adapters import Database
from opslib.config import Settings
from opslib.quality import data_freshness, domain_confidence, extraction_confidence, price_coverage
from opslib.results import Severity


def _fill(
    db: Database,
    hours_ago: list[int],
    *,
    per_hour: int = 40,
    priced: float = 1.0,
    confidence: float = 0.95,
    domain: str = "alpha-shop.test",
    seconds_ago: float | None = None,
) -> None:
    """Rows in the clock hours ``hours_ago`` (0 = the current one), well inside each hour, so the
    result does not depend on the minute the test runs; or all ``seconds_ago`` before now."""
    db.execute(
        "INSERT INTO monitored_urls (domain, url) VALUES (%s, %s) ON CONFLICT (url) DO NOTHING",
        (domain, f"http://{domain}/p/1"),
    )
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    rows = []
    for h in hours_ago:
        if seconds_ago is not None:
            at = now - timedelta(seconds=seconds_ago)
        elif h == 0:  # recent (fresh), yet inside the current hour whatever the minute
            at = now - min(timedelta(seconds=30), (now - hour) / 2)
        else:
            at = hour - timedelta(hours=h) + timedelta(minutes=30)
        for i in range(per_hour):
            price = 10.0 if i < priced * per_hour else None
            rows.append((f"http://{domain}/p/1", price, confidence, at - timedelta(microseconds=i)))
    db.execute_many(
        "INSERT INTO price_history (url_id, price, extraction_confidence, checked_at)"
        " SELECT id, %s, %s, %s FROM monitored_urls WHERE url = %s",
        [(p, c, t, u) for u, p, c, t in rows],
    )


@pytest.fixture
def settings() -> Settings:
    return Settings()


def test_healthy_day_passes_everything(platform_db: Database, settings: Settings) -> None:
    _fill(platform_db, list(range(24)))
    for check in (data_freshness, price_coverage, extraction_confidence, domain_confidence):
        result = check(platform_db, settings)
        assert result.severity is Severity.OK, result.message()


def test_missing_hours_and_stale_newest_row_are_critical(
    platform_db: Database, settings: Settings
) -> None:
    _fill(platform_db, [h for h in range(3, 24) if h not in (7, 8)])
    result = data_freshness(platform_db, settings)
    assert result.severity is Severity.CRITICAL
    by_name = {m.name: m for m in result.measurements}
    assert by_name["missing_hours"].value == 4  # hours 1, 2, 7, 8
    assert by_name["newest_row_age"].value is not None
    assert by_name["newest_row_age"].value > 120
    assert "missing_hours" in result.message()
    assert "next:" in result.message()


def test_low_coverage_hour_is_named(platform_db: Database, settings: Settings) -> None:
    _fill(platform_db, [h for h in range(24) if h != 5])
    _fill(platform_db, [5], priced=0.5)
    result = price_coverage(platform_db, settings)
    assert result.severity is Severity.CRITICAL
    assert [m.value for m in result.problems] == [0.5]
    assert "next: Data Quality response: `pytest checks/emergency/data_quality`" in (
        result.message()
    )
    points = result.charts[0].series[0].points
    assert len(points) == 24
    assert len({label for label, _ in points}) == 24  # each hour its own x position


def test_window_is_whole_hours_not_a_sliver_of_the_oldest(
    platform_db: Database, settings: Settings
) -> None:
    _fill(platform_db, list(range(24)))
    # The last seconds of the hour before the window: inside the runbook's `now() - 24 h` (at
    # any minute but the first seconds of an hour), a small unrepresentative sample.
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    _fill(platform_db, [1], priced=0.0, per_hour=30)
    platform_db.execute(
        "UPDATE price_history SET checked_at = %s WHERE price IS NULL",
        (hour - timedelta(hours=23, seconds=5),),
    )
    result = price_coverage(platform_db, settings)
    assert result.severity is Severity.OK, result.message()
    assert len(result.charts[0].series[0].points) == 24


def test_warning_band_for_confidence(platform_db: Database, settings: Settings) -> None:
    _fill(platform_db, list(range(24)), confidence=0.8)
    assert extraction_confidence(platform_db, settings).severity is Severity.WARNING


def test_null_confidences_are_unknown_not_a_crash(
    platform_db: Database, settings: Settings
) -> None:
    _fill(platform_db, list(range(24)))
    platform_db.execute("UPDATE price_history SET extraction_confidence = NULL")
    result = extraction_confidence(platform_db, settings)
    assert result.severity is Severity.UNKNOWN
    assert "all values NULL" in result.message()


def test_one_bad_domain_turns_domain_check_red(platform_db: Database, settings: Settings) -> None:
    _fill(platform_db, [0], domain="alpha-shop.test")
    _fill(platform_db, [0], domain="beta-shop.test", confidence=0.45)
    result = domain_confidence(platform_db, settings)
    assert result.severity is Severity.CRITICAL
    assert [m.subject for m in result.problems] == ["beta-shop.test"]
    assert "next: the site probably changed: `pytest checks/emergency/data_quality`" in (
        result.message()
    )


def test_empty_table_is_unknown(platform_db: Database, settings: Settings) -> None:
    assert price_coverage(platform_db, settings).severity is Severity.UNKNOWN
    fresh = data_freshness(platform_db, settings)
    assert fresh.severity is Severity.CRITICAL  # 23 missing hours, and nothing at all
    assert "price_history is empty" in fresh.message()


def test_recent_minutes_are_judged_on_their_own(platform_db: Database) -> None:
    """The last ``recent_minutes`` are a measurement of their own, beside the hours."""
    _fill(platform_db, list(range(1, 24)), per_hour=400)
    _fill(platform_db, [0], per_hour=30, priced=0.2, seconds_ago=5)  # prices just went
    settings = Settings(recent_minutes=1)
    result = price_coverage(platform_db, settings)
    assert result.severity is Severity.CRITICAL
    recent = next(m for m in result.measurements if m.subject == "last 1 min")
    assert recent.value == 0.2
    assert recent.severity is Severity.CRITICAL

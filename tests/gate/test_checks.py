"""The gate's checks on a real database: data flow waits for new rows, maintenance off, the
quality figures and the comparing checks with and without a baseline."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from opslib.config import Settings, ThresholdSpec
from opslib.gate import (
    Baseline,
    BaselineFile,
    QualityFigures,
    confidence_not_worse,
    data_flowing,
    maintenance_off,
    quality_figures,
)
from opslib.maintenance import MaintenanceMode
from opslib.results import Severity
from tests.dbkit import TestDatabase
from tests.support import without_opslib_environment

DOMAINS = ("a.test", "b.test")


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    without_opslib_environment(monkeypatch)
    return Settings(thresholds={"gate.data_flow": ThresholdSpec(warn=5, crit=10)})


@pytest.fixture
def shop(platform_db: TestDatabase) -> TestDatabase:
    """Two domains, one URL each, 30 rows each in the last minutes (b.test at 0.5 confidence)."""
    for domain, confidence in zip(DOMAINS, (0.95, 0.5), strict=True):
        platform_db.execute(
            "INSERT INTO monitored_urls (domain, url) VALUES (%(d)s, %(u)s)",
            {"d": domain, "u": f"http://{domain}/p"},
        )
        platform_db.execute(
            "INSERT INTO price_history (url_id, price, extraction_confidence, checked_at)"
            " SELECT id, 10, %(c)s, now() - i * interval '1 second'"
            " FROM monitored_urls, generate_series(1, 30) i WHERE domain = %(d)s",
            {"d": domain, "c": confidence},
        )
    return platform_db


def _write(db: TestDatabase, domain: str) -> None:
    db.execute(
        "INSERT INTO price_history (url_id, price, extraction_confidence, checked_at)"
        " SELECT id, 10, 0.9, clock_timestamp() FROM monitored_urls WHERE domain = %(d)s",
        {"d": domain},
    )


class Clock:
    """A clock that moves only when the check sleeps; each sleep runs ``on_sleep`` first."""

    def __init__(self, on_sleep: list[str], db: TestDatabase) -> None:
        self.now = 0.0
        self.sleeps = 0
        self.pending = on_sleep
        self.db = db

    def sleep(self, seconds: float) -> None:
        if self.pending:
            _write(self.db, self.pending.pop(0))
        self.sleeps += 1
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_data_flow_waits_for_every_domain(shop: TestDatabase, settings: Settings) -> None:
    clock = Clock(["a.test", "b.test"], shop)
    result = data_flowing(shop, settings, BaselineFile(Path("x")), sleep=clock.sleep, clock=clock)
    assert result.severity is Severity.OK, result.message()
    assert clock.sleeps == 2  # rows written before the check began do not count
    assert {m.subject for m in result.measurements} == set(DOMAINS)
    assert "last 24 h" in result.title


def test_a_domain_that_stops_delivering_is_critical_after_the_limit(
    shop: TestDatabase, settings: Settings
) -> None:
    clock = Clock(["a.test"], shop)
    result = data_flowing(shop, settings, BaselineFile(Path("x")), sleep=clock.sleep, clock=clock)
    assert result.severity is Severity.CRITICAL
    assert clock.now == 10  # waited up to gate.data_flow's crit, no longer
    (bad,) = result.problems
    assert (bad.subject, bad.note) == ("b.test", "no new row within 10 s")


def test_the_baseline_names_the_expected_domains(shop: TestDatabase, settings: Settings) -> None:
    baseline = Baseline(
        captured_at=datetime.now(UTC),
        platform="p",
        quality=QualityFigures(minutes=60, rows=30, domain_rows={"a.test": 30}),
    )
    clock = Clock(["a.test"], shop)
    found = BaselineFile(Path("x"), baseline)
    result = data_flowing(shop, settings, found, sleep=clock.sleep, clock=clock)
    assert result.severity is Severity.OK, result.message()
    assert [m.subject for m in result.measurements] == ["a.test"]
    assert "delivered before the deploy" in result.title


def test_maintenance_off_is_critical_with_a_window_open(
    platform_db: TestDatabase, settings: Settings
) -> None:
    assert maintenance_off(platform_db, settings).severity is Severity.OK
    MaintenanceMode(platform_db, settings.maintenance).enable("deploy 42", actor="ci")
    result = maintenance_off(platform_db, settings)
    assert result.severity is Severity.CRITICAL
    assert "'deploy 42' by ci" in result.message()


def test_confidence_already_low_before_warns(shop: TestDatabase, settings: Settings) -> None:
    figures = quality_figures(shop, settings)
    assert figures.domain_confidence == {"a.test": 0.95, "b.test": 0.5}
    assert figures.rows == 60
    without = confidence_not_worse(shop, settings, BaselineFile(Path("x"), missing="none"))
    assert without.severity is Severity.CRITICAL
    assert "b.test" in without.message()
    before = Baseline(captured_at=datetime.now(UTC), platform="p", quality=figures)
    withit = confidence_not_worse(shop, settings, BaselineFile(Path("x"), before))
    assert withit.severity is Severity.WARNING
    assert "already red before the deploy" in withit.message()

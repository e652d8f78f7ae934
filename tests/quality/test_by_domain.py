"""Quality per domain against a real database filled with crafted rows."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from opslib.adapters import Database
from opslib.config import Settings
from opslib.quality import (
    DomainQuality,
    domain_quality,
    implausible_prices,
    low_confidence_domains,
    missing_price_rates,
    quality_by_domain,
)
from opslib.results import CheckResult, Severity

# (minutes ago, price, confidence, currency)
Row = tuple[float, float | None, float, str]


def _url(
    db: Database, domain: str, n: int, *, interval: str = "1 hour", active: bool = True
) -> int:
    row = db.fetch_one(
        "INSERT INTO monitored_urls (domain, url, check_interval, active)"
        " VALUES (%s, %s, %s::interval, %s) RETURNING id",
        (domain, f"http://{domain}/p/{n}", interval, active),
    )
    assert row is not None
    return int(row["id"])


def _rows(db: Database, url_id: int, rows: Sequence[Row]) -> None:
    db.execute_many(
        "INSERT INTO price_history (url_id, price, currency, extraction_confidence, checked_at)"
        " VALUES (%s, %s, %s, %s, now() - make_interval(secs => %s))",
        [(url_id, price, cur, conf, ago * 60) for ago, price, conf, cur in rows],
    )


def _steady(
    db: Database,
    domain: str,
    *,
    urls: int = 5,
    confidence: float = 0.95,
    missing_every: int = 0,
    start: int = 0,
) -> list[int]:
    """``urls`` URLs, each checked every 10 min for the last 70 min at 10.00 EUR (6 rows in the
    hour's window, one before it); every ``missing_every``-th row of the window has no price."""
    ids = []
    for n in range(start, start + urls):
        url_id = _url(db, domain, n)
        rows: list[Row] = [(70.0, 10.0, confidence, "EUR")]
        for i, ago in enumerate((55, 45, 35, 25, 15, 5)):
            missing = missing_every and (n * 6 + i) % missing_every == 0
            rows.append((float(ago), None if missing else 10.0, confidence, "EUR"))
        _rows(db, url_id, rows)
        ids.append(url_id)
    return ids


def _by(found: Sequence[DomainQuality]) -> dict[str, DomainQuality]:
    return {q.domain: q for q in found}


def _measured(result: CheckResult, name: str, domain: str) -> float | None:
    [m] = [m for m in result.measurements if m.name == name and m.subject == domain]
    return m.value


@pytest.fixture
def settings() -> Settings:
    return Settings()


def test_healthy_domains_pass_every_check(platform_db: Database, settings: Settings) -> None:
    _steady(platform_db, "alpha.test")
    _steady(platform_db, "bravo.test", start=10)
    for check in (low_confidence_domains, missing_price_rates, implausible_prices):
        result = check(platform_db, settings)
        assert result.severity is Severity.OK, result.message()
        assert result.sop == "emergency.data_quality"
    result = quality_by_domain(platform_db, settings, 60)
    assert result.severity is Severity.OK, result.message()
    q = _by(domain_quality(platform_db, settings, 60))["alpha.test"]
    assert (q.rows, q.priced, q.implausible, q.urls, q.overdue) == (30, 30, 0, 5, 0)
    assert q.confidence == pytest.approx(0.95)


def test_jumps_against_the_previous_price_of_the_same_url(
    platform_db: Database, settings: Settings
) -> None:
    _steady(platform_db, "alpha.test", urls=4)
    jumpy = _url(platform_db, "alpha.test", 99)
    # 10 before the window; 20 is +100 % (a jump), 25 is +25 %, a missing price is skipped,
    # 8 is -68 % from 25 (a jump), 9 is +12.5 %.
    _rows(platform_db, jumpy, [(70, 10.0, 0.9, "EUR"), (50, 20.0, 0.9, "EUR"),
                               (40, 25.0, 0.9, "EUR"), (30, None, 0.9, "EUR"),
                               (20, 8.0, 0.9, "EUR"), (10, 9.0, 0.9, "EUR")])  # fmt: skip
    # Another URL's price never counts as the previous one.
    other = _url(platform_db, "alpha.test", 98)
    _rows(platform_db, other, [(45, 1000.0, 0.9, "EUR"), (5, 1000.0, 0.9, "EUR")])
    q = _by(domain_quality(platform_db, settings, 60))["alpha.test"]
    assert (q.jumps, q.zero, q.negative, q.currency_changes, q.implausible) == (2, 0, 0, 0, 2)
    assert q.priced == 24 + 4 + 2
    result = implausible_prices(platform_db, settings)
    assert result.severity is Severity.CRITICAL  # 2 of 30 prices: above 5 %
    assert "2 jump > 50 %" in result.message()
    assert "opslib patterns verify" in result.message()
    loose = Settings(quality={"price_jump_percent": 150})
    assert _by(domain_quality(platform_db, loose, 60))["alpha.test"].jumps == 0


def test_zero_negative_and_currency_change(platform_db: Database, settings: Settings) -> None:
    platform_db.execute("ALTER TABLE price_history DROP CONSTRAINT price_history_price_check")
    _steady(platform_db, "alpha.test", urls=4)
    odd = _url(platform_db, "alpha.test", 99)
    _rows(platform_db, odd, [(70, 10.0, 0.9, "EUR"), (50, 0.0, 0.9, "EUR"),
                             (40, -10.0, 0.9, "EUR"), (30, 10.0, 0.9, "EUR"),
                             (20, 10.0, 0.9, "USD"), (10, 10.0, 0.9, "USD")])  # fmt: skip
    q = _by(domain_quality(platform_db, settings, 60))["alpha.test"]
    # 0 and -10 are not jumps (only positive prices are compared); 10 after -10 neither.
    assert (q.zero, q.negative, q.jumps, q.currency_changes, q.implausible) == (1, 1, 0, 1, 3)
    message = implausible_prices(platform_db, settings).message()
    assert "1 zero, 1 negative, 1 currency change" in message


def test_without_a_currency_column_changes_are_skipped_with_a_note(
    platform_db: Database, settings: Settings
) -> None:
    _steady(platform_db, "alpha.test")
    platform_db.execute("ALTER TABLE price_history DROP COLUMN currency")
    q = _by(domain_quality(platform_db, settings, 60))["alpha.test"]
    assert q.currency_changes is None
    assert q.implausible == 0
    result = implausible_prices(platform_db, settings)
    assert result.severity is Severity.OK
    notes = " ".join(m.note for m in result.measurements)
    assert "currency changes not looked for (no currency column)" in notes


def test_missing_price_rate_is_judged_per_domain(platform_db: Database, settings: Settings) -> None:
    _steady(platform_db, "alpha.test", missing_every=2)  # half of the rows
    _steady(platform_db, "bravo.test", missing_every=6, start=10)  # 5 of 30: out of stock
    result = missing_price_rates(platform_db, settings)
    assert result.severity is Severity.CRITICAL
    assert [m.subject for m in result.problems] == ["alpha.test"]
    assert _measured(result, "missing_price_rate", "alpha.test") == pytest.approx(0.5)
    assert _measured(result, "missing_price_rate", "bravo.test") == pytest.approx(5 / 30, 1e-3)
    assert "15 of 30 rows without a price" in result.message()
    assert "opslib sites changes" in result.message()
    # A shop whose products are mostly out of stock gets its own limit.
    relaxed = Settings(
        domains={"alpha.test": {"thresholds": {"quality.missing_price_rate": {"crit": 0.6}}}}
    )
    assert missing_price_rates(platform_db, relaxed).severity is Severity.WARNING


def test_low_confidence_domain_is_named_with_the_commands(
    platform_db: Database, settings: Settings
) -> None:
    _steady(platform_db, "alpha.test")
    _steady(platform_db, "bravo.test", confidence=0.45, start=10)
    result = low_confidence_domains(platform_db, settings)
    assert result.severity is Severity.CRITICAL
    assert [m.subject for m in result.problems] == ["bravo.test"]
    message = result.message()
    for command in ("opslib patterns verify", "opslib sites changes", "opslib patterns generate"):
        assert command in message


def test_too_few_rows_are_shown_not_judged(platform_db: Database, settings: Settings) -> None:
    _steady(platform_db, "alpha.test")
    _steady(platform_db, "tiny.test", urls=1, confidence=0.1, start=10)  # 6 rows
    result = low_confidence_domains(platform_db, settings)
    assert result.severity is Severity.OK, result.message()
    [tiny] = [m for m in result.measurements if m.subject == "tiny.test"]
    assert tiny.threshold is None
    assert "not judged" in tiny.note
    platform_db.execute("DELETE FROM price_history WHERE url_id IN"
                        " (SELECT id FROM monitored_urls WHERE domain = 'alpha.test')")  # fmt: skip
    only_tiny = low_confidence_domains(platform_db, settings)
    assert only_tiny.severity is Severity.UNKNOWN
    assert "no domain has 20 rows or more" in only_tiny.error


def test_overdue_urls_by_their_own_interval(platform_db: Database, settings: Settings) -> None:
    _steady(platform_db, "alpha.test", urls=10)
    # Checked 4 h ago with an hourly interval: overdue (3x); every 2 h: not yet.
    _rows(platform_db, _url(platform_db, "alpha.test", 50), [(240, 10.0, 0.9, "EUR")])
    _rows(platform_db, _url(platform_db, "alpha.test", 51, interval="2 hours"),
          [(240, 10.0, 0.9, "EUR")])  # fmt: skip
    _url(platform_db, "alpha.test", 52)  # never checked: overdue
    _url(platform_db, "alpha.test", 53, active=False)  # not monitored: not counted
    _url(platform_db, "silent.test", 1)  # a domain with no rows at all
    found = _by(domain_quality(platform_db, settings, 60))
    assert (found["alpha.test"].urls, found["alpha.test"].overdue) == (13, 2)
    assert (found["silent.test"].rows, found["silent.test"].overdue) == (0, 1)
    result = quality_by_domain(platform_db, settings, 60)
    assert _measured(result, "overdue_urls", "alpha.test") == pytest.approx(2 / 13, 1e-3)
    assert result.severity is Severity.CRITICAL  # silent.test: 1 of 1 overdue
    assert "1 of 1 URLs not checked within 3x their interval" in result.message()


def test_without_an_interval_column_the_default_interval(
    platform_db: Database, settings: Settings
) -> None:
    _rows(platform_db, _url(platform_db, "alpha.test", 1), [(100, 10.0, 0.9, "EUR")])
    platform_db.execute("ALTER TABLE monitored_urls DROP COLUMN check_interval")
    platform_db.execute("ALTER TABLE monitored_urls DROP COLUMN active")
    assert _by(domain_quality(platform_db, settings, 60))["alpha.test"].overdue == 0  # 3 x 1 h
    fast = Settings(quality={"default_interval_minutes": 20})
    assert _by(domain_quality(platform_db, fast, 60))["alpha.test"].overdue == 1


def _history(db: Database, url_id: int, confidences: Sequence[float]) -> None:
    """For day d = 1.. of ``confidences``: 25 rows of ``url_id`` in the same hour's window d
    days ago."""
    rows: list[Row] = []
    for day, confidence in enumerate(confidences, start=1):
        rows += [(day * 1440 + 5 + i * 2, 10.0, confidence, "EUR") for i in range(25)]
    _rows(db, url_id, rows)


def test_drift_against_the_same_window_on_the_last_days(
    platform_db: Database, settings: Settings
) -> None:
    week = [0.95, 0.96, 0.94, 0.95, 0.96, 0.95, 0.94]
    alpha = _steady(platform_db, "alpha.test", confidence=0.85)  # 0.1 below: beyond 3 sigma
    bravo = _steady(platform_db, "bravo.test", confidence=0.92, start=10)  # 0.03: within 0.05
    _history(platform_db, alpha[0], week)
    _history(platform_db, bravo[0], week)
    found = _by(domain_quality(platform_db, settings, 60))
    baseline = found["alpha.test"].baseline
    assert baseline is not None
    assert baseline.days == 7
    assert baseline.confidence_mean == pytest.approx(0.95, abs=1e-3)
    assert baseline.missing_mean == 0
    result = quality_by_domain(platform_db, settings, 60)
    assert result.severity is Severity.WARNING, result.message()
    [drift] = result.problems
    assert (drift.name, drift.subject) == ("confidence_drift", "alpha.test")
    assert drift.value is not None
    assert drift.value > 3
    assert "against 0.950" in drift.note
    assert _measured(result, "confidence_drift", "bravo.test") < 3  # type: ignore[operator]


def test_no_drift_without_enough_days(platform_db: Database, settings: Settings) -> None:
    alpha = _steady(platform_db, "alpha.test", confidence=0.85)
    _history(platform_db, alpha[0], [0.95])  # one day: no spread
    result = quality_by_domain(platform_db, settings, 60)
    assert not [m for m in result.measurements if m.name.endswith("_drift")]
    assert result.severity is Severity.OK, result.message()


def test_missing_tables_and_columns(platform_db: Database, settings: Settings) -> None:
    _steady(platform_db, "alpha.test")
    platform_db.execute("ALTER TABLE price_history RENAME COLUMN price TO amount")
    result = missing_price_rates(platform_db, settings)
    assert result.severity is Severity.UNKNOWN
    assert "set tables.price_history.price" in result.error
    # Without a price the rest is still measured.
    q = _by(domain_quality(platform_db, settings, 60))["alpha.test"]
    assert (q.priced, q.missing, q.implausible, q.rows) == (None, None, None, 30)
    assert low_confidence_domains(platform_db, settings).severity is Severity.OK
    renamed = Settings(tables={"price_history": {"price": "amount"}})
    assert missing_price_rates(platform_db, renamed).severity is Severity.OK
    platform_db.execute("ALTER TABLE monitored_urls RENAME TO urls")
    result = quality_by_domain(platform_db, settings, 60)
    assert result.severity is Severity.UNKNOWN
    assert "table monitored_urls not found" in result.error


def test_no_rows_is_unknown(platform_db: Database, settings: Settings) -> None:
    result = low_confidence_domains(platform_db, settings)
    assert result.severity is Severity.UNKNOWN
    assert "no rows in the last 60 min" in result.error

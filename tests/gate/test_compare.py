"""compare() on plain figures: what the deploy made worse fails, what was already red warns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opslib.config import DomainSettings, Settings, ThresholdSpec
from opslib.gate import Baseline, Comparison, ErrorFigures, QualityFigures, compare
from opslib.results import CheckResult, Severity, Threshold
from tests.support import without_opslib_environment

AT = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    without_opslib_environment(monkeypatch)
    return Settings()


def errors(ratio: float | None = 0.01, **domains: float) -> Baseline:
    """A snapshot of the error figures: 0.5 errors/s, ``ratio`` overall, a share per domain
    (keyword names: ``a`` is a.test)."""
    return Baseline(
        captured_at=AT,
        platform="p",
        errors=ErrorFigures(
            window="1h",
            rate=0.5,
            ratio=ratio,
            domain_ratio={f"{d}.test": v for d, v in domains.items()} if ratio is not None else {},
            domain_rate={} if ratio is not None else {f"{d}.test": v for d, v in domains.items()},
        ),
    )


def quality(confidence: float = 0.95, coverage: float = 0.99, **domains: float) -> Baseline:
    """A snapshot of the quality figures with a confidence per domain."""
    return Baseline(
        captured_at=AT,
        platform="p",
        quality=QualityFigures(
            minutes=60,
            rows=1000,
            confidence=confidence,
            coverage=coverage,
            domain_confidence={f"{d}.test": v for d, v in domains.items()},
            domain_rows={f"{d}.test": 100 for d in domains},
        ),
    )


def by_key(found: tuple[Comparison, ...]) -> dict[tuple[str, str], Comparison]:
    return {(c.figure, c.subject): c for c in found}


def test_unchanged_figures_are_ok(settings: Settings) -> None:
    before = errors(0.01, a=0.01, b=0.02)
    found = compare(before, errors(0.011, a=0.012, b=0.02), settings.threshold)
    assert {c.severity for c in found} == {Severity.OK}
    ratio = by_key(found)[("error_ratio", "a.test")]
    assert ratio.change == 0.2  # percentage points
    names = [m.name for m in ratio.measurements]
    assert names == ["error_ratio", "error_ratio_rise"]


def test_a_rise_beyond_the_tolerance_fails_even_under_the_absolute_limit(
    settings: Settings,
) -> None:
    # 0.5% -> 12%: under health.error_ratio's crit (15%), but 11.5 pp worse (crit 10 pp).
    found = by_key(compare(errors(a=0.005), errors(a=0.12), settings.threshold))
    a = found[("error_ratio", "a.test")]
    assert a.severity is Severity.CRITICAL
    rise = a.measurements[1]
    assert (rise.name, rise.severity, rise.value) == ("error_ratio_rise", Severity.CRITICAL, 11.5)
    assert "0.5% before the deploy, 12.0% now" in rise.note
    result = CheckResult("maintenance.post_deploy", "t", a.measurements)
    assert "a.test" in result.message()


def test_newly_red_fails_even_within_the_tolerance(settings: Settings) -> None:
    # 12% -> 16%: 4 pp (within the tolerance) but over the 15% crit it was not over before.
    a = by_key(compare(errors(a=0.12), errors(a=0.16), settings.threshold))[
        ("error_ratio", "a.test")
    ]
    assert not a.already_red
    assert a.measurements[0].severity is Severity.CRITICAL
    assert a.measurements[1].severity is Severity.WARNING
    assert a.severity is Severity.CRITICAL


def test_already_red_and_not_worse_is_a_warning(settings: Settings) -> None:
    a = by_key(compare(errors(a=0.40), errors(a=0.41), settings.threshold))[
        ("error_ratio", "a.test")
    ]
    assert a.already_red
    level = a.measurements[0]
    assert level.severity is Severity.WARNING
    assert "already red before the deploy (40.0% then" in level.note
    assert a.severity is Severity.WARNING


def test_already_red_and_worse_beyond_the_tolerance_fails(settings: Settings) -> None:
    a = by_key(compare(errors(a=0.40), errors(a=0.55), settings.threshold))[
        ("error_ratio", "a.test")
    ]
    assert a.already_red
    assert a.measurements[0].severity is Severity.WARNING
    assert a.measurements[1].severity is Severity.CRITICAL
    assert a.severity is Severity.CRITICAL


def test_an_improvement_is_a_negative_change(settings: Settings) -> None:
    a = by_key(compare(errors(a=0.40), errors(a=0.01), settings.threshold))[
        ("error_ratio", "a.test")
    ]
    assert a.change == -39.0
    assert a.severity is Severity.OK


def test_without_a_baseline_only_the_absolute_limits_judge(settings: Settings) -> None:
    found = by_key(compare(None, errors(0.2, a=0.40, b=0.01), settings.threshold))
    a, b = found[("error_ratio", "a.test")], found[("error_ratio", "b.test")]
    assert len(a.measurements) == 1  # no change to judge
    assert a.severity is Severity.CRITICAL  # red, and nothing says it was red before
    assert a.measurements[0].note == "not in the baseline"
    assert b.severity is Severity.OK


def test_a_domain_new_since_the_baseline_is_judged_on_its_limit(settings: Settings) -> None:
    found = by_key(compare(errors(a=0.01), errors(a=0.01, c=0.5), settings.threshold))
    assert found[("error_ratio", "c.test")].severity is Severity.CRITICAL
    assert found[("error_ratio", "c.test")].before is None


def test_with_a_requests_counter_errors_per_second_are_not_judged_on_their_change(
    settings: Settings,
) -> None:
    before, now = errors(0.01), errors(0.01)
    now = now.model_copy(
        update={"errors": now.errors.model_copy(update={"rate": 14.0})}  # type: ignore[union-attr]
    )
    rate = by_key(compare(before, now, settings.threshold))[("error_rate", "")]
    assert rate.tolerance is None
    assert [m.name for m in rate.measurements] == ["error_rate"]


def test_without_a_requests_counter_errors_per_second_are(settings: Settings) -> None:
    found = by_key(compare(errors(None, a=0.1), errors(None, a=2.5), settings.threshold))
    a = found[("error_rate", "a.test")]
    assert a.measurements[1].name == "error_rate_rise"
    assert a.measurements[1].severity is Severity.CRITICAL  # 2.4 errors/s more (crit 2)


def test_confidence_is_worse_when_it_falls(settings: Settings) -> None:
    found = by_key(compare(quality(a=0.95, b=0.90), quality(a=0.80, b=0.97), settings.threshold))
    a, b = found[("confidence", "a.test")], found[("confidence", "b.test")]
    assert a.measurements[1].name == "confidence_drop"
    assert a.change == pytest.approx(0.15)
    assert a.severity is Severity.CRITICAL  # dropped 0.15 (crit 0.1), though 0.80 is no alarm
    assert b.change == pytest.approx(-0.07)
    assert b.severity is Severity.OK


def test_low_confidence_already_before_is_a_warning(settings: Settings) -> None:
    a = by_key(compare(quality(a=0.45), quality(a=0.44), settings.threshold))[
        ("confidence", "a.test")
    ]
    assert a.already_red
    assert a.severity is Severity.WARNING
    assert "already red before the deploy (0.45 then, warn < 0.8, crit < 0.6)" in (
        a.measurements[0].note
    )


def test_price_coverage_drop_in_percentage_points(settings: Settings) -> None:
    c = by_key(compare(quality(coverage=0.99), quality(coverage=0.90), settings.threshold))[
        ("price_coverage", "")
    ]
    assert c.change == 9.0
    assert c.measurements[1].severity is Severity.WARNING  # warn 3 pp, crit 10 pp
    assert c.measurements[0].severity is Severity.WARNING  # quality.price_coverage warn 0.95


def test_tolerances_follow_the_configured_thresholds_per_domain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    without_opslib_environment(monkeypatch)
    settings = Settings(
        thresholds={"gate.confidence_drop": ThresholdSpec(crit=0.3)},
        domains={"a.test": DomainSettings(thresholds={"gate.confidence_drop": {"crit": 0.02}})},
    )
    found = by_key(compare(quality(a=0.95, b=0.95), quality(a=0.90, b=0.80), settings.threshold))
    assert found[("confidence", "a.test")].severity is Severity.CRITICAL  # 0.05 > 0.02
    b = found[("confidence", "b.test")]
    assert b.severity is Severity.WARNING  # 0.15: over the default warn 0.05, under crit 0.3


def test_a_part_not_measured_now_is_not_compared(settings: Settings) -> None:
    assert compare(errors(a=0.5), quality(a=0.9), settings.threshold) == tuple(
        compare(None, quality(a=0.9), settings.threshold)
    )
    only_quality = {c.figure for c in compare(errors(a=0.5), quality(a=0.9), settings.threshold)}
    assert only_quality == {"avg_confidence", "price_coverage", "confidence"}


def test_a_limit_without_warn_softens_to_its_crit() -> None:
    c = Comparison("x", "", 5.0, 5.0, Threshold(crit=1.0))
    assert c.already_red
    assert c.measurements[0].threshold == Threshold(warn=1.0)
    assert c.severity is Severity.WARNING

from __future__ import annotations

import math

import pytest

from opslib.results import CheckResult, Measurement, Severity, Threshold, worst


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10, Severity.OK),
        (80, Severity.OK),
        (80.1, Severity.WARNING),
        (95.5, Severity.CRITICAL),
        (None, Severity.UNKNOWN),
        (math.nan, Severity.UNKNOWN),
    ],
)
def test_threshold_above(value: float | None, expected: Severity) -> None:
    assert Threshold(warn=80, crit=95).evaluate(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.99, Severity.OK), (0.9, Severity.OK), (0.89, Severity.WARNING), (0.5, Severity.CRITICAL)],
)
def test_threshold_below(value: float, expected: Severity) -> None:
    assert Threshold(warn=0.9, crit=0.7, bad="below").evaluate(value) is expected


def test_threshold_without_warn_goes_straight_to_critical() -> None:
    assert Threshold(crit=1, bad="below").evaluate(0) is Severity.CRITICAL
    assert Threshold(crit=1, bad="below").evaluate(1) is Severity.OK


def test_worst_ranks_critical_over_unknown_over_warning() -> None:
    assert worst([Severity.OK, Severity.WARNING]) is Severity.WARNING
    assert worst([Severity.UNKNOWN, Severity.WARNING]) is Severity.UNKNOWN
    assert worst([Severity.UNKNOWN, Severity.CRITICAL, Severity.OK]) is Severity.CRITICAL
    assert worst([]) is Severity.OK


def test_result_severity_is_worst_measurement_and_message_names_limit_and_action() -> None:
    cpu = Threshold(warn=80, crit=95, unit="%")
    result = CheckResult(
        "daily.health",
        "cpu",
        (Measurement("cpu_percent", 50, cpu, "a"), Measurement("cpu_percent", 97.25, cpu, "b")),
        remediation="scale up",
    )
    assert result.severity is Severity.CRITICAL
    assert [m.subject for m in result.problems] == ["b"]
    message = result.message()
    assert message.startswith("CRITICAL: cpu")
    assert "cpu_percent[b] = 97.25 % (warn > 80 %, crit > 95 %)" in message
    assert "next: scale up" in message
    assert "[a]" not in message


def test_result_without_measurements_or_with_error_is_unknown() -> None:
    assert CheckResult("x", "t").severity is Severity.UNKNOWN
    broken = CheckResult.unknown("x", "t", "prometheus unreachable")
    assert broken.severity is Severity.UNKNOWN
    assert broken.message() == "UNKNOWN: t: prometheus unreachable"


def test_ok_result_message_has_no_remediation() -> None:
    ok = CheckResult("x", "t", (Measurement("m", 1, Threshold(warn=5)),), remediation="do things")
    assert ok.severity is Severity.OK
    assert "next:" not in ok.message()


def test_severity_values_are_nagios_exit_codes() -> None:
    assert [int(s) for s in Severity] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("value", "shown", "severity"),
    [(math.nan, "x = nan s", Severity.UNKNOWN), (math.inf, "x = inf s", Severity.CRITICAL)],
)
def test_non_finite_values_are_described_not_a_crash(
    value: float, shown: str, severity: Severity
) -> None:
    measurement = Measurement("x", value, Threshold(warn=1, crit=2, unit="s"))
    assert measurement.severity is severity
    assert measurement.describe() == f"{shown} (warn > 1 s, crit > 2 s)"

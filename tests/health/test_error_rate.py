"""daily.health part 3 judged on a fake Prometheus: errors/s, the share of requests when the
requests counter exists, per domain, and the platform's own metric names."""

from __future__ import annotations

import math

import pytest

from opslib.adapters import Sample
from opslib.config import DomainSettings, MetricNames, Settings, ThresholdSpec, load_settings
from opslib.errors import ConfigError, DependencyError, UnreachableError
from opslib.health import error_rate
from opslib.results import CheckResult, Severity
from tests.health.fakes import FakePrometheus

REQUESTS = "sum(rate(scraper_requests_total[{w}]))"
ERRORS = "sum(rate(scraper_errors_total[{w}]))"
REQUESTS_BY_DOMAIN = "sum by (domain) (rate(scraper_requests_total[{w}]))"
ERRORS_BY_DOMAIN = "sum by (domain) (rate(scraper_errors_total[{w}]))"
NO_SHARE = (
    "error share not judged: Prometheus has no scraper_requests_total series "
    "(export a requests counter, or set metric_names.requests)"
)


def _prometheus(
    requests: float | None,
    errors: float | None,
    by_domain: dict[str, tuple[float | None, float | None]] | None = None,
    window: str = "1h",
) -> FakePrometheus:
    """Answers for a fleet making ``requests``/s of which ``errors``/s fail (None: no such
    series); ``by_domain`` maps a domain to its (requests/s, errors/s), None where the domain
    has no such series."""
    domains = by_domain or {}
    return FakePrometheus(
        scalars={REQUESTS.format(w=window): requests, ERRORS.format(w=window): errors},
        vectors={
            REQUESTS_BY_DOMAIN.format(w=window): [
                Sample({"domain": d}, req) for d, (req, _) in domains.items() if req is not None
            ],
            ERRORS_BY_DOMAIN.format(w=window): [
                Sample({"domain": d}, err) for d, (_, err) in domains.items() if err is not None
            ],
        },
    )


def _overall(result: CheckResult) -> dict[str, float | None]:
    return {m.name: m.value for m in result.measurements if not m.subject}


def test_low_error_rate_is_ok_with_both_figures() -> None:
    prometheus = _prometheus(20.0, 0.2, {"alpha-shop.test": (20.0, 0.2)})
    result = error_rate(prometheus, Settings())
    assert result.severity is Severity.OK
    assert _overall(result) == {"error_rate": 0.2, "error_ratio": 0.01}
    assert result.title == "scraper error rate over 1h"
    assert all(m.note == "" for m in result.measurements)


@pytest.mark.parametrize(
    ("errors", "severity"),
    [(1.0, Severity.OK), (1.5, Severity.WARNING), (5.0, Severity.WARNING),
     (6.0, Severity.CRITICAL)],
)  # fmt: skip
def test_error_rate_over_threshold(errors: float, severity: Severity) -> None:
    # a big fleet: the share stays under its limits, so only the absolute rate can turn red
    result = error_rate(_prometheus(1000.0, errors), Settings())
    assert result.severity is severity
    rate = next(m for m in result.measurements if m.name == "error_rate")
    assert (rate.value, rate.severity) == (errors, severity)


@pytest.mark.parametrize(
    ("errors", "ratio", "severity"),
    [(0.4, 0.04, Severity.OK), (0.8, 0.08, Severity.WARNING), (0.9, 0.09, Severity.WARNING),
     (2.0, 0.2, Severity.CRITICAL)],
)  # fmt: skip
def test_error_share_over_threshold(errors: float, ratio: float, severity: Severity) -> None:
    result = error_rate(_prometheus(10.0, errors), Settings())
    measured = next(m for m in result.measurements if m.name == "error_ratio")
    assert (measured.value, measured.severity) == (ratio, severity)
    assert result.severity is severity


def test_message_says_what_was_measured_against_which_limit() -> None:
    message = error_rate(_prometheus(10.0, 2.0), Settings()).message()
    assert message.splitlines() == [
        "CRITICAL: scraper error rate over 1h",
        "  CRITICAL: error_ratio = 0.2 of requests (warn > 0.05 of requests, "
        "crit > 0.15 of requests)",
        "  WARNING: error_rate = 2 errors/s (warn > 1 errors/s, crit > 5 errors/s)",
        "  next: High Error Rate response: run `pytest checks/emergency/high_error_rate` (error "
        "patterns, proxy health, site verdicts, each naming its cause and the command that acts "
        "on it)",
    ]


def test_one_failing_domain_turns_the_check_red_and_is_named() -> None:
    # the fleet as a whole is fine: only the per-domain share shows bravo failing
    prometheus = _prometheus(
        204.0,
        0.9,
        {"alpha-shop.test": (100.0, 0.05), "bravo-shop.test": (4.0, 0.8),
         "charlie-shop.test": (100.0, 0.05)},
    )  # fmt: skip
    result = error_rate(prometheus, Settings())
    assert result.severity is Severity.CRITICAL
    assert [(m.name, m.subject, m.value, m.severity) for m in result.problems] == [
        ("error_ratio", "bravo-shop.test", 0.2, Severity.CRITICAL)
    ]
    assert "CRITICAL: error_ratio[bravo-shop.test] = 0.2 of requests" in result.message()
    [table] = result.tables
    assert table.rows == (
        ("alpha-shop.test", "100.000", "0.050", "0.1%"),
        ("bravo-shop.test", "4.000", "0.800", "20.0%"),
        ("charlie-shop.test", "100.000", "0.050", "0.1%"),
    )


def test_domain_thresholds_override_the_global_one() -> None:
    prometheus = _prometheus(
        20.0, 0.4, {"alpha-shop.test": (10.0, 0.2), "bravo-shop.test": (10.0, 0.2)}
    )
    settings = Settings(
        domains={
            "bravo-shop.test": DomainSettings(
                thresholds={"health.error_ratio": ThresholdSpec(warn=0.01)}
            )
        }
    )
    result = error_rate(prometheus, settings)
    assert result.severity is Severity.WARNING
    assert [(m.subject, m.value) for m in result.problems] == [("bravo-shop.test", 0.02)]


def test_window_and_thresholds_come_from_settings() -> None:
    prometheus = _prometheus(10.0, 0.3, window="5m")
    settings = Settings(
        error_window="5m", thresholds={"health.error_rate": ThresholdSpec(warn=0.1, crit=0.25)}
    )
    result = error_rate(prometheus, settings)
    assert result.title == "scraper error rate over 5m"
    assert set(prometheus.asked) == {
        REQUESTS.format(w="5m"),
        ERRORS.format(w="5m"),
        REQUESTS_BY_DOMAIN.format(w="5m"),
        ERRORS_BY_DOMAIN.format(w="5m"),
    }
    assert [(m.name, m.severity) for m in result.problems] == [("error_rate", Severity.CRITICAL)]


def test_fleet_without_error_series_has_no_errors() -> None:
    result = error_rate(_prometheus(5.0, None, {"alpha-shop.test": (5.0, None)}), Settings())
    assert result.severity is Severity.OK
    assert _overall(result) == {"error_rate": 0.0, "error_ratio": 0.0}
    [table] = result.tables
    assert table.rows == (("alpha-shop.test", "5.000", "0.000", "0.0%"),)


def test_domain_with_errors_but_no_requests_series_is_judged_on_errors_per_second() -> None:
    prometheus = _prometheus(
        10.0, 2.5, {"alpha-shop.test": (10.0, 0.5), "proxyfail-shop.test": (None, 2.0)}
    )
    result = error_rate(prometheus, Settings())
    assert [(m.name, m.subject, m.value, m.severity) for m in result.measurements if m.subject] == [
        ("error_ratio", "alpha-shop.test", 0.05, Severity.OK),
        ("error_rate", "proxyfail-shop.test", 2.0, Severity.WARNING),
    ]
    [table] = result.tables
    assert table.rows[1] == ("proxyfail-shop.test", "-", "2.000", "-")


# the runbook's counter alone: no requests counter


def test_without_requests_counter_errors_per_second_are_judged_with_a_note() -> None:
    prometheus = _prometheus(None, 0.3, {"alpha-shop.test": (None, 0.1),
                                         "bravo-shop.test": (None, 0.2)})  # fmt: skip
    result = error_rate(prometheus, Settings())
    assert result.severity is Severity.OK
    assert _overall(result) == {"error_rate": 0.3}
    [overall] = [m for m in result.measurements if not m.subject]
    assert overall.note == NO_SHARE
    assert [(m.name, m.subject, m.value) for m in result.measurements if m.subject] == [
        ("error_rate", "alpha-shop.test", 0.1),
        ("error_rate", "bravo-shop.test", 0.2),
    ]
    [table] = result.tables
    assert table.columns == ("domain", "errors/s")
    assert table.rows == (("alpha-shop.test", "0.100"), ("bravo-shop.test", "0.200"))
    assert REQUESTS_BY_DOMAIN.format(w="1h") not in prometheus.asked
    assert f"OK: error_rate = 0.3 errors/s (warn > 1 errors/s, crit > 5 errors/s): {NO_SHARE}" in (
        result.message()
    )


@pytest.mark.parametrize(
    ("errors", "severity"),
    [(0.9, Severity.OK), (2.0, Severity.WARNING), (7.0, Severity.CRITICAL)],
)
def test_without_requests_counter_errors_per_second_turn_the_check_red(
    errors: float, severity: Severity
) -> None:
    result = error_rate(_prometheus(None, errors, {"alpha-shop.test": (None, errors)}), Settings())
    assert result.severity is severity
    assert {(m.subject, m.severity) for m in result.measurements} == {
        ("", severity),
        ("alpha-shop.test", severity),
    }


def test_without_requests_counter_a_domain_threshold_names_the_domain() -> None:
    prometheus = _prometheus(None, 0.5, {"alpha-shop.test": (None, 0.1),
                                         "bravo-shop.test": (None, 0.4)})  # fmt: skip
    settings = Settings(
        domains={
            "bravo-shop.test": DomainSettings(
                thresholds={"health.error_rate": ThresholdSpec(warn=0.2, crit=0.3)}
            )
        }
    )
    result = error_rate(prometheus, settings)
    assert result.severity is Severity.CRITICAL
    assert [(m.subject, m.value) for m in result.problems] == [("bravo-shop.test", 0.4)]
    assert "CRITICAL: error_rate[bravo-shop.test] = 0.4 errors/s" in result.message()


def test_neither_series_is_unknown_and_says_what_to_provide() -> None:
    prometheus = _prometheus(None, None)
    result = error_rate(prometheus, Settings())
    assert result.severity is Severity.UNKNOWN
    assert result.message() == (
        "UNKNOWN: scraper error rate over 1h: Prometheus has no scraper_errors_total series: "
        "scrape the scrapers' /metrics, or set metric_names.errors"
    )
    assert prometheus.asked == [ERRORS.format(w="1h"), REQUESTS.format(w="1h")]


def test_no_requests_in_the_window_cannot_judge_the_share() -> None:
    result = error_rate(_prometheus(0.0, 0.0), Settings())
    assert result.severity is Severity.UNKNOWN
    [problem] = result.problems
    assert (problem.name, problem.value, problem.note) == (
        "error_ratio",
        None,
        "no requests in the window",
    )
    assert "UNKNOWN: error_ratio = not measured" in result.message()


def test_idle_domains_and_unlabelled_or_nan_samples_are_left_out() -> None:
    window = "1h"
    prometheus = _prometheus(10.0, 0.1)
    prometheus.vectors[REQUESTS_BY_DOMAIN.format(w=window)] = [
        Sample({"domain": "alpha-shop.test"}, 10.0),
        Sample({"domain": "idle-shop.test"}, 0.0),
        Sample({"domain": "nan-shop.test"}, math.nan),
        Sample({}, 3.0),
    ]
    prometheus.vectors[ERRORS_BY_DOMAIN.format(w=window)] = [
        Sample({"domain": "alpha-shop.test"}, 0.1),
        Sample({"domain": "idle-shop.test"}, 0.0),
    ]
    result = error_rate(prometheus, Settings())
    assert [m.subject for m in result.measurements if m.subject] == ["alpha-shop.test"]
    [table] = result.tables
    assert table.columns == ("domain", "requests/s", "errors/s", "error share")
    assert table.rows == (("alpha-shop.test", "10.000", "0.100", "1.0%"),)


# the platform's own names


def test_metric_and_label_names_come_from_settings() -> None:
    names = MetricNames(errors="crawler_failures_total", domain_label="site")
    prometheus = FakePrometheus(
        scalars={
            "sum(rate(crawler_failures_total[1h]))": 1.5,
            "sum(rate(scraper_requests_total[1h]))": None,
        },
        vectors={
            "sum by (site) (rate(crawler_failures_total[1h]))": [
                Sample({"site": "alpha-shop.test"}, 1.5),
                Sample({"domain": "wrong-label.test"}, 9.0),
            ]
        },
    )
    result = error_rate(prometheus, Settings(metric_names=names))
    assert result.severity is Severity.WARNING
    assert [(m.subject, m.value) for m in result.problems] == [("", 1.5), ("alpha-shop.test", 1.5)]
    assert "no scraper_requests_total series" in result.measurements[0].note


def test_a_renamed_errors_counter_is_named_when_missing() -> None:
    names = MetricNames(errors="crawler_failures_total", requests="crawler_fetches_total")
    prometheus = FakePrometheus(
        scalars={
            "sum(rate(crawler_failures_total[1h]))": None,
            "sum(rate(crawler_fetches_total[1h]))": None,
        }
    )
    result = error_rate(prometheus, Settings(metric_names=names))
    assert result.error == (
        "Prometheus has no crawler_failures_total series: scrape the scrapers' /metrics, "
        "or set metric_names.errors"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("errors", 'scraper_errors_total{job="x"}'),
        ("errors", "scraper_errors_total[5m]) or vector(1"),
        ("requests", "scraper requests"),
        ("processed", "9_processed_total"),
        ("queue", "queue_size\n"),
        ("domain_label", "shop:domain"),
        ("domain_label", "domain) (up"),
        ("requests", ""),
    ],
)
def test_names_that_are_not_prometheus_names_are_refused(field: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(metric_names={field: value})
    [problem] = raised.value.problems
    assert problem.startswith(f"metric_names.{field}: String should match pattern")


@pytest.mark.parametrize(
    "error",
    [
        UnreachableError("prometheus", "http://localhost:9090: connection refused"),
        DependencyError("prometheus", "bad_data: parse error at char 5"),
    ],
    ids=["unreachable", "answered-with-an-error"],
)
def test_prometheus_errors_propagate_for_the_plugin_to_report_unknown(
    error: DependencyError,
) -> None:
    with pytest.raises(DependencyError) as raised:
        error_rate(FakePrometheus(error=error), Settings())
    assert raised.value is error

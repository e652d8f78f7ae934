"""daily.performance judged on scraper /metrics snapshots and a fake of the RateQuery Protocol."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from opslib.adapters import MetricSample, MetricsSnapshot
from opslib.config import Settings, ThresholdSpec
from opslib.errors import DataError, DependencyError, OpsError, UnreachableError
from opslib.performance import processing_rate, queue_size
from opslib.results import CheckResult, Severity

GROWTH = "max(deriv(queue_size[1h])) * 3600"
PROCESSED = "sum(rate(scraper_processed_total[{w}]))"


@dataclass
class FakeRates:
    """A RateQuery answering PromQL from ``scalars``; any other query fails the test."""

    scalars: dict[str, float | None] = field(default_factory=dict)
    error: OpsError | None = None
    asked: list[str] = field(default_factory=list)

    def scalar(self, promql: str) -> float | None:
        self.asked.append(promql)
        if self.error is not None:
            raise self.error
        if promql not in self.scalars:
            raise AssertionError(f"unexpected scalar query {promql!r}")
        return self.scalars[promql]


def snapshot(queue: float | None, port: int = 8000) -> MetricsSnapshot:
    """One scraper's /metrics: its ``queue_size`` (None: not exported) beside other samples."""
    samples = [MetricSample("scraper_processed_total", {"domain": "alpha-shop.test"}, 1234.0)]
    if queue is not None:
        samples.append(MetricSample("queue_size", {}, queue))
    return MetricsSnapshot(f"http://127.0.0.1:{port}/metrics", tuple(samples))


def _values(result: CheckResult) -> dict[str, tuple[float | None, Severity]]:
    return {m.name: (m.value, m.severity) for m in result.measurements}


# queue_size


def test_small_steady_queue_is_ok() -> None:
    result = queue_size([snapshot(120)], FakeRates({GROWTH: 3.2}), Settings())
    assert result.severity is Severity.OK
    assert _values(result) == {
        "queue_size": (120, Severity.OK),
        "queue_growth": (3.2, Severity.OK),
    }


@pytest.mark.parametrize(
    ("size", "severity"),
    [(1000, Severity.OK), (1001, Severity.WARNING), (5001, Severity.CRITICAL)],
)
def test_queue_over_threshold(size: float, severity: Severity) -> None:
    result = queue_size([snapshot(size)], FakeRates({GROWTH: 0.0}), Settings())
    assert result.severity is severity
    assert _values(result)["queue_size"] == (size, severity)


@pytest.mark.parametrize(
    ("growth", "shown", "severity"),
    [(499.96, 500.0, Severity.OK), (640.04, 640.0, Severity.WARNING),
     (2500.0, 2500.0, Severity.CRITICAL)],
)  # fmt: skip
def test_growing_queue_turns_the_check_red(growth: float, shown: float, severity: Severity) -> None:
    prometheus = FakeRates({GROWTH: growth})
    result = queue_size([snapshot(10)], prometheus, Settings())
    assert prometheus.asked == [GROWTH]
    assert result.severity is severity
    assert _values(result)["queue_growth"] == (shown, severity)


def test_growing_queue_message_says_how_fast_and_what_to_do() -> None:
    message = queue_size([snapshot(800)], FakeRates({GROWTH: 900.0}), Settings()).message()
    assert message.splitlines() == [
        "WARNING: queue size under threshold and not growing",
        "  WARNING: queue_growth = 900 items/h (warn > 500 items/h, crit > 2000 items/h)",
        "  next: System Overload response: scale scrapers (`docker-compose up -d --scale "
        "scraper=N`), pause low-priority scraping, increase intervals",
    ]


def test_queue_is_the_largest_any_scraper_reports() -> None:
    # every scraper reports the shared queue; one that has not refreshed it yet reports less
    snapshots = [snapshot(700, 8000), snapshot(1500, 8001), snapshot(math.nan, 8002)]
    result = queue_size(snapshots, FakeRates({GROWTH: 0.0}), Settings())
    assert _values(result)["queue_size"] == (1500, Severity.WARNING)
    [table] = result.tables
    assert table.rows == (
        ("http://127.0.0.1:8000/metrics", "700", ""),
        ("http://127.0.0.1:8001/metrics", "1500", ""),
        ("http://127.0.0.1:8002/metrics", "nan", ""),
    )


def test_thresholds_come_from_settings() -> None:
    settings = Settings(
        thresholds={
            "performance.queue_size": ThresholdSpec(warn=10, crit=50),
            "performance.queue_growth": ThresholdSpec(warn=1),
        }
    )
    result = queue_size([snapshot(60)], FakeRates({GROWTH: 2.0}), settings)
    assert {(m.name, m.severity) for m in result.problems} == {
        ("queue_size", Severity.CRITICAL),
        ("queue_growth", Severity.WARNING),
    }


def test_no_queue_history_is_unknown_growth() -> None:
    result = queue_size([snapshot(10)], FakeRates({GROWTH: None}), Settings())
    assert result.severity is Severity.UNKNOWN
    [problem] = result.problems
    assert (problem.name, problem.value, problem.note) == (
        "queue_growth",
        None,
        "no queue_size history in Prometheus",
    )


def test_an_unreachable_scraper_is_unknown_even_when_another_answers() -> None:
    failure = UnreachableError("metrics http://127.0.0.1:8001/metrics", "connection refused")
    result = queue_size([snapshot(10), failure], FakeRates({GROWTH: 0.0}), Settings())
    assert result.severity is Severity.UNKNOWN
    [problem] = result.problems
    assert (problem.name, problem.value, problem.note) == (
        "endpoint_unreachable",
        None,
        "metrics http://127.0.0.1:8001/metrics: connection refused",
    )
    [table] = result.tables
    assert table.rows[1] == (
        "-",
        "unreachable",
        "metrics http://127.0.0.1:8001/metrics: connection refused",
    )


def test_a_measured_critical_queue_outranks_an_unreachable_scraper() -> None:
    failure = DataError("metrics http://127.0.0.1:8001/metrics: not Prometheus text format")
    result = queue_size([snapshot(9000), failure], FakeRates({GROWTH: 0.0}), Settings())
    assert result.severity is Severity.CRITICAL
    assert [m.name for m in result.problems] == ["queue_size", "endpoint_unreachable"]


def test_every_scraper_unreachable_is_unknown_naming_the_first() -> None:
    failures = [
        UnreachableError("metrics http://127.0.0.1:8000/metrics", "timed out after 5 s"),
        UnreachableError("metrics http://127.0.0.1:8001/metrics", "connection refused"),
    ]
    prometheus = FakeRates()
    result = queue_size(failures, prometheus, Settings())
    assert result.severity is Severity.UNKNOWN
    assert result.message() == (
        "UNKNOWN: queue size under threshold and not growing: "
        "metrics http://127.0.0.1:8000/metrics: timed out after 5 s"
    )
    assert prometheus.asked == []


@pytest.mark.parametrize(
    "snapshots",
    [[], [snapshot(None)], [snapshot(math.inf)]],
    ids=["no-endpoints", "not-exported", "infinite"],
)
def test_no_queue_size_exported_is_unknown(snapshots: list[MetricsSnapshot]) -> None:
    result = queue_size(snapshots, FakeRates(), Settings())
    assert result.severity is Severity.UNKNOWN
    assert result.error == "no scraper /metrics endpoint exports queue_size"


def test_prometheus_error_on_growth_propagates_for_the_plugin_to_report_unknown() -> None:
    error = UnreachableError("prometheus", "http://localhost:9090: connection refused")
    with pytest.raises(UnreachableError) as raised:
        queue_size([snapshot(10)], FakeRates(error=error), Settings())
    assert raised.value is error


# processing_rate


@pytest.mark.parametrize(
    ("rate", "severity"),
    [(1.0, Severity.OK), (0.95, Severity.WARNING), (0.2, Severity.WARNING),
     (0.15, Severity.CRITICAL), (0.0, Severity.CRITICAL)],
)  # fmt: skip
def test_processing_rate_falling_turns_the_check_red(rate: float, severity: Severity) -> None:
    prometheus = FakeRates({PROCESSED.format(w="5m"): rate})
    result = processing_rate([snapshot(0)], prometheus, Settings())
    assert prometheus.asked == [PROCESSED.format(w="5m")]
    assert _values(result)["processing_rate"] == (rate, severity)
    assert result.severity is severity


def test_window_comes_from_settings() -> None:
    prometheus = FakeRates({PROCESSED.format(w="15m"): 3.0})
    result = processing_rate([snapshot(0)], prometheus, Settings(rate_window="15m"))
    assert prometheus.asked == [PROCESSED.format(w="15m")]
    assert result.title == "processing rate above its floor (over 15m) and queue drains in time"


@pytest.mark.parametrize(
    ("size", "rate", "drain", "severity"),
    [(0, 5.0, 0.0, Severity.OK), (3000, 2.0, 1500.0, Severity.OK),
     (9000, 2.0, 4500.0, Severity.WARNING), (30000, 2.0, 15000.0, Severity.CRITICAL)],
)  # fmt: skip
def test_drain_time_is_queue_over_rate(
    size: float, rate: float, drain: float, severity: Severity
) -> None:
    result = processing_rate(
        [snapshot(size)], FakeRates({PROCESSED.format(w="5m"): rate}), Settings()
    )
    assert _values(result)["drain_time"] == (drain, severity)
    assert result.severity is severity


def test_stalled_processing_never_drains_and_says_so() -> None:
    result = processing_rate([snapshot(50)], FakeRates({PROCESSED.format(w="5m"): 0.0}), Settings())
    assert result.severity is Severity.CRITICAL
    assert _values(result) == {
        "processing_rate": (0.0, Severity.CRITICAL),
        "drain_time": (math.inf, Severity.CRITICAL),
    }
    lines = result.message().splitlines()
    assert lines[0] == (
        "CRITICAL: processing rate above its floor (over 5m) and queue drains in time"
    )
    assert "  CRITICAL: processing_rate = 0 items/s (warn < 1 items/s, crit < 0.2 items/s)" in lines
    assert "  CRITICAL: drain_time = inf s (warn > 3600 s, crit > 14400 s)" in lines


def test_unknown_queue_size_leaves_the_drain_time_unmeasured() -> None:
    failure = UnreachableError("metrics http://127.0.0.1:8000/metrics", "connection refused")
    result = processing_rate([failure], FakeRates({PROCESSED.format(w="5m"): 4.0}), Settings())
    assert result.severity is Severity.UNKNOWN
    [problem] = result.problems
    assert (problem.name, problem.value, problem.note) == (
        "drain_time",
        None,
        "queue size unknown",
    )
    assert _values(result)["processing_rate"] == (4.0, Severity.OK)


def test_no_processed_series_is_unknown() -> None:
    result = processing_rate(
        [snapshot(10)], FakeRates({PROCESSED.format(w="5m"): None}), Settings()
    )
    assert result.severity is Severity.UNKNOWN
    assert result.message() == (
        "UNKNOWN: processing rate above its floor (over 5m) and queue drains in time: "
        "Prometheus has no scraper_processed_total series: is it scraping the scrapers?"
    )


def test_processing_rate_lets_a_prometheus_error_through() -> None:
    error = DependencyError("prometheus", "HTTP 503: service unavailable")
    with pytest.raises(DependencyError) as raised:
        processing_rate([snapshot(10)], FakeRates(error=error), Settings())
    assert raised.value is error

"""daily.performance judged on fakes of its own Protocols: scrapers' /metrics (MetricsScrape),
Prometheus (RateQuery) and a clock, including platforms without the optional series."""

from __future__ import annotations

import math

import pytest

from opslib.adapters import MetricsSnapshot
from opslib.config import MetricNames, Settings, ThresholdSpec, load_settings
from opslib.errors import ConfigError, DataError, DependencyError, OpsError, UnreachableError
from opslib.performance import processing_rate, queue_size
from opslib.results import CheckResult, Severity
from tests.performance.fakes import FakeClock, FakeRates, FakeScrapers, snapshot, url

GROWTH = "max(deriv(queue_size[1h])) * 3600"
PROCESSED = "sum(rate(scraper_processed_total[{w}]))"
REFUSED = "metrics http://127.0.0.1:8001/metrics: connection refused"

Round = list[MetricsSnapshot | OpsError]


def refused(port: int = 8001) -> UnreachableError:
    return UnreachableError(f"metrics {url(port)}", "connection refused")


def _settings(ports: int | list[int] = 8000, **values: object) -> Settings:
    """Settings whose metrics_urls are the fake scrapers on ``ports``."""
    listed = [ports] if isinstance(ports, int) else ports
    return Settings(metrics_urls=[url(p) for p in listed], **values)  # type: ignore[arg-type]


def _queue(
    rounds: list[Round], rates: FakeRates, settings: Settings | None = None
) -> tuple[CheckResult, FakeScrapers, FakeClock]:
    scrapers, clock = FakeScrapers(rounds), FakeClock()
    if settings is None:
        settings = _settings(list(range(8000, 8000 + len(rounds[0]))))
    result = queue_size(scrapers, rates, settings, sleep=clock.sleep, clock=clock)
    return result, scrapers, clock


def _processing(
    rounds: list[Round], rates: FakeRates, settings: Settings | None = None
) -> tuple[CheckResult, FakeScrapers, FakeClock]:
    scrapers, clock = FakeScrapers(rounds), FakeClock()
    if settings is None:
        settings = _settings(list(range(8000, 8000 + len(rounds[0]))))
    result = processing_rate(scrapers, rates, settings, sleep=clock.sleep, clock=clock)
    return result, scrapers, clock


def _values(result: CheckResult) -> dict[str, tuple[float | None, Severity]]:
    return {m.name: (m.value, m.severity) for m in result.measurements}


def _notes(result: CheckResult) -> dict[str, str]:
    return {m.name: m.note for m in result.measurements}


# queue_size: the size from /metrics, growth from Prometheus


def test_small_steady_queue_is_ok() -> None:
    result, scrapers, clock = _queue([[snapshot(120)]], FakeRates({GROWTH: 3.2}))
    assert result.severity is Severity.OK
    assert _values(result) == {
        "queue_size": (120, Severity.OK),
        "queue_growth": (3.2, Severity.OK),
    }
    assert scrapers.calls == [([url(8000)], 5.0)]  # one scrape, with the http timeout
    assert clock.slept == []


@pytest.mark.parametrize(
    ("size", "severity"),
    [(1000, Severity.OK), (1001, Severity.WARNING), (5001, Severity.CRITICAL)],
)
def test_queue_over_threshold(size: float, severity: Severity) -> None:
    result, _, _ = _queue([[snapshot(size)]], FakeRates({GROWTH: 0.0}))
    assert result.severity is severity
    assert _values(result)["queue_size"] == (size, severity)


@pytest.mark.parametrize(
    ("growth", "shown", "severity"),
    [(499.96, 500.0, Severity.OK), (640.04, 640.0, Severity.WARNING),
     (2500.0, 2500.0, Severity.CRITICAL)],
)  # fmt: skip
def test_growing_queue_turns_the_check_red(growth: float, shown: float, severity: Severity) -> None:
    prometheus = FakeRates({GROWTH: growth})
    result, _, _ = _queue([[snapshot(10)]], prometheus)
    assert prometheus.asked == [GROWTH]
    assert result.severity is severity
    assert _values(result)["queue_growth"] == (shown, severity)


def test_growing_queue_message_says_how_fast_and_what_to_do() -> None:
    result, _, _ = _queue([[snapshot(800)]], FakeRates({GROWTH: 900.0}))
    assert result.message().splitlines() == [
        "WARNING: queue size under threshold and not growing",
        "  WARNING: queue_growth = 900 items/h (warn > 500 items/h, crit > 2000 items/h)",
        "  next: System Overload response: `pytest checks/emergency/overload` (it names `opslib"
        " urls pause --priority low`, `opslib urls interval --priority low --factor 2`, `opslib"
        " scale scraper N`)",
    ]


def test_queue_is_the_largest_any_scraper_reports() -> None:
    # every scraper reports the shared queue; one that has not refreshed it yet reports less
    rounds: list[Round] = [[snapshot(700, 8000), snapshot(1500, 8001), snapshot(math.nan, 8002)]]
    result, _, _ = _queue(rounds, FakeRates({GROWTH: 0.0}))
    assert _values(result)["queue_size"] == (1500, Severity.WARNING)
    [table] = result.tables
    assert table.rows == (
        (url(8000), "700", ""),
        (url(8001), "1500", ""),
        (url(8002), "nan", ""),
    )


def test_thresholds_come_from_settings() -> None:
    settings = _settings(
        thresholds={
            "performance.queue_size": ThresholdSpec(warn=10, crit=50),
            "performance.queue_growth": ThresholdSpec(warn=1),
        }
    )
    result, _, _ = _queue([[snapshot(60)]], FakeRates({GROWTH: 2.0}), settings)
    assert {(m.name, m.severity) for m in result.problems} == {
        ("queue_size", Severity.CRITICAL),
        ("queue_growth", Severity.WARNING),
    }


# queue_size: growth from two /metrics samples when Prometheus has no queue series


@pytest.mark.parametrize(
    ("before", "after", "growth", "severity"),
    [(100, 100, 0.0, Severity.OK), (100, 90, -7200.0, Severity.OK),
     (100, 101, 720.0, Severity.WARNING), (100, 110, 7200.0, Severity.CRITICAL)],
)  # fmt: skip
def test_without_queue_history_growth_comes_from_two_samples(
    before: float, after: float, growth: float, severity: Severity
) -> None:
    prometheus = FakeRates({GROWTH: None})
    result, scrapers, clock = _queue([[snapshot(before)], [snapshot(after)]], prometheus)
    assert clock.slept == [5.0]
    assert len(scrapers.calls) == 2
    assert _values(result) == {
        "queue_size": (before, Severity.OK),
        "queue_growth": (growth, severity),
    }
    assert _notes(result)["queue_growth"] == (
        f"from two /metrics samples 5.0 s apart ({before} -> {after}; "
        "Prometheus has no queue_size series)"
    )


def test_sample_interval_comes_from_settings_and_is_bounded() -> None:
    settings = _settings(metric_names=MetricNames(sample_seconds=2))
    result, _, clock = _queue([[snapshot(10)], [snapshot(11)]], FakeRates({GROWTH: None}), settings)
    assert clock.slept == [2.0]
    assert _values(result)["queue_growth"] == (1800.0, Severity.WARNING)
    with pytest.raises(ConfigError) as raised:
        load_settings(metric_names={"sample_seconds": 31})
    assert raised.value.problems[0].startswith("metric_names.sample_seconds: Input should be")


def test_growth_uses_only_scrapers_that_answered_both_samples() -> None:
    # 8001 answers only the second time: its larger queue must not read as growth
    rounds: list[Round] = [
        [snapshot(100, 8000), refused(8001)],
        [snapshot(100, 8000), snapshot(400, 8001)],
    ]
    result, _, _ = _queue(rounds, FakeRates({GROWTH: None}))
    assert _values(result)["queue_growth"] == (0.0, Severity.OK)


def test_no_second_sample_leaves_the_growth_unmeasured() -> None:
    rounds: list[Round] = [[snapshot(100)], [UnreachableError(f"metrics {url(8000)}", "reset")]]
    result, _, _ = _queue(rounds, FakeRates({GROWTH: None}))
    assert result.severity is Severity.UNKNOWN
    [problem] = result.problems
    assert (problem.name, problem.value, problem.note) == (
        "queue_growth",
        None,
        "no queue_size history in Prometheus and no second /metrics sample of it",
    )


# queue_size: several scrapers, some unreachable


def test_an_unreachable_scraper_is_named_and_the_others_judged() -> None:
    result, _, _ = _queue([[snapshot(10), refused()]], FakeRates({GROWTH: 0.0}))
    assert result.severity is Severity.OK
    assert _values(result) == {
        "queue_size": (10, Severity.OK),
        "queue_growth": (0.0, Severity.OK),
    }
    assert _notes(result)["queue_size"] == f"from 1 of 2 /metrics endpoints; {REFUSED}"
    assert REFUSED in result.message()
    [table] = result.tables
    assert table.rows == ((url(8000), "10", ""), (url(8001), "unreachable", REFUSED))


def test_a_measured_critical_queue_is_critical_beside_an_unreachable_scraper() -> None:
    failure = DataError(f"metrics {url(8001)}: not Prometheus text format")
    result, _, _ = _queue([[snapshot(9000), failure]], FakeRates({GROWTH: 0.0}))
    assert result.severity is Severity.CRITICAL
    [problem] = result.problems
    assert problem.name == "queue_size"
    assert problem.note.endswith(
        "; metrics http://127.0.0.1:8001/metrics: not Prometheus text format"
    )


def test_every_scraper_unreachable_is_unknown_naming_each() -> None:
    failures: Round = [
        UnreachableError(f"metrics {url(8000)}", "timed out after 5 s"),
        refused(8001),
    ]
    prometheus = FakeRates()
    result, _, _ = _queue([failures], prometheus)
    assert result.severity is Severity.UNKNOWN
    assert result.message() == (
        "UNKNOWN: queue size under threshold and not growing: none of 2 scraper /metrics "
        f"endpoints answered: metrics {url(8000)}: timed out after 5 s; {REFUSED}"
    )
    assert prometheus.asked == []


def test_credentials_in_a_metrics_url_are_not_shown() -> None:
    settings = Settings(metrics_urls=["http://ops:s3cretpw@127.0.0.1:8000/metrics"])
    result, scrapers, _ = _queue([[snapshot(5)]], FakeRates({GROWTH: 0.0}), settings)
    assert scrapers.calls[0][0] == ["http://ops:s3cretpw@127.0.0.1:8000/metrics"]
    [table] = result.tables
    assert "s3cretpw" not in repr(table.rows)


@pytest.mark.parametrize(
    "answer",
    [snapshot(None), snapshot(math.inf)],
    ids=["not-exported", "infinite"],
)
def test_no_queue_gauge_exported_is_unknown(answer: MetricsSnapshot) -> None:
    result, _, _ = _queue([[answer]], FakeRates())
    assert result.severity is Severity.UNKNOWN
    assert result.error == (
        "no scraper /metrics endpoint exports queue_size: set metric_names.queue to the queue "
        "gauge's name"
    )


def test_queue_gauge_name_comes_from_settings() -> None:
    settings = _settings(metric_names=MetricNames(queue="crawl_backlog"))
    prometheus = FakeRates({"max(deriv(crawl_backlog[1h])) * 3600": None})
    rounds: list[Round] = [
        [snapshot(40, queue_name="crawl_backlog")],
        [snapshot(41, queue_name="crawl_backlog")],
    ]
    result, _, _ = _queue(rounds, prometheus, settings)
    assert _values(result) == {
        "queue_size": (40, Severity.OK),
        "queue_growth": (720.0, Severity.WARNING),
    }
    [table] = result.tables
    assert table.columns == ("endpoint", "crawl_backlog", "error")


def test_prometheus_error_on_growth_propagates_for_the_plugin_to_report_unknown() -> None:
    error = UnreachableError("prometheus", "http://localhost:9090: connection refused")
    with pytest.raises(UnreachableError) as raised:
        _queue([[snapshot(10)]], FakeRates(error=error))
    assert raised.value is error


# processing_rate: from Prometheus


@pytest.mark.parametrize(
    ("rate", "severity"),
    [(1.0, Severity.OK), (0.95, Severity.WARNING), (0.2, Severity.WARNING),
     (0.15, Severity.CRITICAL), (0.0, Severity.CRITICAL)],
)  # fmt: skip
def test_processing_rate_falling_turns_the_check_red(rate: float, severity: Severity) -> None:
    prometheus = FakeRates({PROCESSED.format(w="5m"): rate})
    result, _, clock = _processing([[snapshot(0)]], prometheus)
    assert prometheus.asked == [PROCESSED.format(w="5m")]
    assert clock.slept == []
    assert _values(result)["processing_rate"] == (rate, severity)
    assert result.severity is severity


def test_window_comes_from_settings() -> None:
    prometheus = FakeRates({PROCESSED.format(w="15m"): 3.0})
    result, _, _ = _processing([[snapshot(0)]], prometheus, _settings(rate_window="15m"))
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
    result, _, _ = _processing([[snapshot(size)]], FakeRates({PROCESSED.format(w="5m"): rate}))
    assert _values(result)["drain_time"] == (drain, severity)
    assert result.severity is severity


def test_stalled_processing_never_drains_and_says_so() -> None:
    result, _, _ = _processing([[snapshot(50)]], FakeRates({PROCESSED.format(w="5m"): 0.0}))
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
    result, _, _ = _processing([[refused(8000)]], FakeRates({PROCESSED.format(w="5m"): 4.0}))
    assert result.severity is Severity.UNKNOWN
    [problem] = result.problems
    assert (problem.name, problem.value) == ("drain_time", None)
    assert problem.note == (
        "queue size unknown; from 0 of 1 /metrics endpoints; "
        "metrics http://127.0.0.1:8000/metrics: connection refused"
    )
    assert _values(result)["processing_rate"] == (4.0, Severity.OK)


def test_drain_time_from_the_scrapers_that_answer() -> None:
    result, _, _ = _processing(
        [[snapshot(400), refused()]], FakeRates({PROCESSED.format(w="5m"): 2.0})
    )
    assert result.severity is Severity.OK
    assert _values(result)["drain_time"] == (200.0, Severity.OK)
    assert _notes(result) == {
        "processing_rate": "",  # Prometheus counts every scraper it scrapes
        "drain_time": f"from 1 of 2 /metrics endpoints; {REFUSED}",
    }


def test_processing_rate_lets_a_prometheus_error_through() -> None:
    error = DependencyError("prometheus", "HTTP 503: service unavailable")
    with pytest.raises(DependencyError) as raised:
        _processing([[snapshot(10)]], FakeRates(error=error))
    assert raised.value is error


# processing_rate: from two /metrics samples when Prometheus has no processed counter


def test_without_processed_series_the_rate_comes_from_two_samples() -> None:
    rounds: list[Round] = [
        [snapshot(30, 8000, processed=1000), snapshot(30, 8001, processed=500)],
        [snapshot(25, 8000, processed=1010), snapshot(25, 8001, processed=505)],
    ]
    result, scrapers, clock = _processing(rounds, FakeRates({PROCESSED.format(w="5m"): None}))
    assert clock.slept == [5.0]
    assert len(scrapers.calls) == 2
    assert _values(result) == {
        "processing_rate": (3.0, Severity.OK),
        "drain_time": (10.0, Severity.OK),
    }
    assert _notes(result)["processing_rate"] == (
        "from two /metrics samples 5.0 s apart on 2 endpoint(s) "
        "(Prometheus has no scraper_processed_total series)"
    )


def test_a_counter_reset_between_samples_counts_from_zero() -> None:
    rounds: list[Round] = [[snapshot(0, processed=1000)], [snapshot(0, processed=4)]]
    result, _, _ = _processing(rounds, FakeRates({PROCESSED.format(w="5m"): None}))
    assert _values(result)["processing_rate"] == (0.8, Severity.WARNING)


def test_samples_from_the_scrapers_that_answer_name_the_others() -> None:
    rounds: list[Round] = [
        [snapshot(30, 8000, processed=1000), refused()],
        [snapshot(30, 8000, processed=1020), refused()],
    ]
    result, _, _ = _processing(rounds, FakeRates({PROCESSED.format(w="5m"): None}))
    assert result.severity is Severity.OK
    assert _values(result)["processing_rate"] == (4.0, Severity.OK)
    assert _notes(result)["processing_rate"].endswith(
        f"on 1 endpoint(s) (Prometheus has no scraper_processed_total series); "
        f"from 1 of 2 /metrics endpoints; {REFUSED}"
    )
    [table] = result.tables
    assert table.rows[1] == (url(8001), "unreachable", REFUSED)


def test_no_second_sample_leaves_the_rate_unmeasured() -> None:
    rounds: list[Round] = [[snapshot(30, processed=1000)], [refused(8000)]]
    result, _, _ = _processing(rounds, FakeRates({PROCESSED.format(w="5m"): None}))
    assert result.severity is Severity.UNKNOWN
    assert _values(result) == {
        "processing_rate": (None, Severity.UNKNOWN),
        "drain_time": (None, Severity.UNKNOWN),
    }
    assert _notes(result)["processing_rate"].startswith(
        "no second /metrics sample of scraper_processed_total"
    )


def test_no_processed_counter_anywhere_is_unknown_saying_what_to_provide() -> None:
    result, _, clock = _processing(
        [[snapshot(10, processed=None)]], FakeRates({PROCESSED.format(w="5m"): None})
    )
    assert result.severity is Severity.UNKNOWN
    assert result.error == (
        "Prometheus has no scraper_processed_total series and no scraper /metrics endpoint "
        "exports it: export a processed counter, or set metric_names.processed"
    )
    assert clock.slept == []


def test_no_processed_series_and_no_scraper_answering_is_unknown_naming_them() -> None:
    result, _, _ = _processing(
        [[refused(8000), refused(8001)]], FakeRates({PROCESSED.format(w="5m"): None})
    )
    assert result.error == (
        "Prometheus has no scraper_processed_total series and none of 2 scraper /metrics "
        "endpoints answered: metrics http://127.0.0.1:8000/metrics: connection refused; "
        f"{REFUSED}"
    )


def test_processed_counter_name_comes_from_settings() -> None:
    names = MetricNames(processed="crawler_pages_done_total", queue="crawl_backlog")
    prometheus = FakeRates({"sum(rate(crawler_pages_done_total[5m]))": None})
    rounds: list[Round] = [
        [snapshot(50, processed=10, processed_name="crawler_pages_done_total",
                  queue_name="crawl_backlog")],
        [snapshot(50, processed=60, processed_name="crawler_pages_done_total",
                  queue_name="crawl_backlog")],
    ]  # fmt: skip
    result, _, _ = _processing(rounds, prometheus, _settings(metric_names=names))
    assert _values(result) == {
        "processing_rate": (10.0, Severity.OK),
        "drain_time": (5.0, Severity.OK),
    }

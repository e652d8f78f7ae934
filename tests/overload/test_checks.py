"""The overload checks: the daily figures under the emergency.overload SOP, each red one
naming this emergency's commands."""

from __future__ import annotations

from opslib import overload
from opslib.adapters import Sample
from opslib.config import Settings
from opslib.results import Severity
from tests.health.fakes import FakePlatform, container, usage
from tests.performance.fakes import FakeRates, FakeScrapers, snapshot, url

GROWTH = "max(deriv(queue_size[1h])) * 3600"
PROCESSED = "sum(rate(scraper_processed_total[5m]))"


def test_containers_over_their_limits_name_scale_limits_and_pause() -> None:
    platform = FakePlatform([container("s-1")], sampled=[usage("s-1", 99.0, 100)])
    result = overload.container_load(platform, Settings())
    assert (result.sop, result.severity) == ("emergency.overload", Severity.CRITICAL)
    assert "`opslib scale scraper 2`" in result.message()
    assert "`opslib limits set scraper --cpus 0.6`" in result.message()  # 3/4 of warn 80 %
    assert "`opslib urls pause --priority low`" in result.message()


def test_container_actions_name_each_hot_or_full_service_with_figures() -> None:
    platform = FakePlatform(
        [container("s-1"), container("s-2"), container("s-3", state="exited"),
         container("db-1", service="db")],
        sampled=[usage("s-1", 85.0, 100), usage("s-2", 5.0, 100),
                 usage("db-1", 3.0, 900, 1000, service="db")],
    )  # fmt: skip
    result = overload.container_load(platform, Settings())
    assert result.severity is Severity.WARNING
    actions = result.remediation
    # scraper: s-1 hot, two running -> three; db: 900 MiB at 2/3 of 80 % -> 1696m
    assert "scraper (s-1): " in actions
    assert "`opslib scale scraper 3`" in actions
    assert "`opslib limits set scraper --cpus 0.6`" in actions
    assert "db (db-1): give them room: `opslib limits set db --memory 1696m`" in actions
    assert "`opslib scale db" not in actions


def test_calm_containers_keep_the_general_actions() -> None:
    platform = FakePlatform([container("s-1")], sampled=[usage("s-1", 10.0, 100)])
    result = overload.container_load(platform, Settings())
    assert result.severity is Severity.OK
    assert result.remediation == overload.CONTAINER_ACTIONS


def test_growing_queue_and_slow_drain_name_pause_and_intervals() -> None:
    settings = Settings(metrics_urls=[url(8000)], rate_window="5m")
    rates = FakeRates({GROWTH: 3000.0, PROCESSED: 0.5})
    queue = overload.queue_load(FakeScrapers([[snapshot(2000)]]), rates, settings)
    assert (queue.sop, queue.severity) == ("emergency.overload", Severity.CRITICAL)
    assert "`opslib urls interval --priority low --factor 2`" in queue.message()
    drain = overload.drain_time(FakeScrapers([[snapshot(2000)]]), rates, settings)
    assert drain.sop == "emergency.overload"
    assert drain.severity is not Severity.OK
    assert "`opslib urls pause --priority low`" in drain.message()
    calm = FakeRates({GROWTH: 0.0, PROCESSED: 5.0})
    assert overload.queue_load(FakeScrapers([[snapshot(0)]]), calm, settings).severity is (
        Severity.OK
    )


class FakeVectors:
    """Prometheus instant vectors by query prefix."""

    def __init__(self, **by_metric: dict[str, float]) -> None:
        self.by_metric = by_metric

    def query(self, promql: str) -> list[Sample]:
        for metric, values in self.by_metric.items():
            if f"rate({metric}[" in promql:
                return [Sample({"domain": d}, v) for d, v in values.items()]
        return []


def test_cache_hit_rate_per_domain_and_without_hits() -> None:
    prometheus = FakeVectors(
        scraper_requests_total={"a.test": 2.0, "b.test": 2.0},
        scraper_cache_hits_total={"a.test": 1.5},
    )
    result = overload.cache_hit_rate(prometheus, Settings())
    assert result.severity is Severity.OK
    assert {(m.subject, m.value) for m in result.measurements} == {
        ("", 0.375),
        ("a.test", 0.75),
        ("b.test", 0.0),
    }
    none = overload.cache_hit_rate(FakeVectors(scraper_requests_total={"a.test": 1.0}), Settings())
    assert "caching is off everywhere" in none.measurements[0].note
    missing = overload.cache_hit_rate(FakeVectors(), Settings())
    assert missing.severity is Severity.UNKNOWN
    assert "opslib domains caching" in overload.CACHE_ACTION

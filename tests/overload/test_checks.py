"""The overload checks: the daily figures under the emergency.overload SOP, each red one
naming this emergency's commands."""

from __future__ import annotations

from opslib import overload
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
    assert "`opslib scale scraper N`" in result.message()
    assert "`opslib urls pause --priority low`" in result.message()


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

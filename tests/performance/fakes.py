"""Fakes of opslib.performance's own Protocols (RateQuery, MetricsScrape) and a clock.

They answer from what the test fills in, record what the check asked, and hand back the
OpsError a test gives them, as the real adapters do when a dependency fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from opslib.adapters import MetricSample, MetricsSnapshot
from opslib.errors import OpsError

__all__ = ["FakeClock", "FakeRates", "FakeScrapers", "snapshot", "url"]


def url(port: int) -> str:
    """The /metrics URL of the fake scraper on ``port``."""
    return f"http://127.0.0.1:{port}/metrics"


def snapshot(
    queue: float | None,
    port: int = 8000,
    *,
    processed: float | None = 1234.0,
    queue_name: str = "queue_size",
    processed_name: str = "scraper_processed_total",
) -> MetricsSnapshot:
    """One scraper's /metrics: its queue gauge and processed counter (None: not exported)."""
    samples = [MetricSample("scraper_requests_total", {"domain": "alpha-shop.test"}, 99.0)]
    if processed is not None:
        samples.append(MetricSample(processed_name, {"domain": "alpha-shop.test"}, processed))
    if queue is not None:
        samples.append(MetricSample(queue_name, {}, queue))
    return MetricsSnapshot(url(port), tuple(samples))


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


@dataclass
class FakeScrapers:
    """A MetricsScrape: call n answers ``rounds[n]`` (the last round repeats), one result per
    URL asked for; ``calls`` records the URLs and timeout of each call."""

    rounds: list[list[MetricsSnapshot | OpsError]]
    calls: list[tuple[list[str], float]] = field(default_factory=list)

    def __call__(
        self, urls: Sequence[str], *, timeout: float
    ) -> Sequence[MetricsSnapshot | OpsError]:
        self.calls.append((list(urls), timeout))
        answer = self.rounds[min(len(self.calls), len(self.rounds)) - 1]
        assert len(answer) == len(urls), "a round needs one result per configured URL"
        return list(answer)


@dataclass
class FakeClock:
    """A monotonic clock that only moves when the check sleeps; ``slept`` records each sleep."""

    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

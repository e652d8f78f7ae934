"""daily.performance: queue size, its growth, processing rate and time to drain.

The runbook reads ``queue_size`` from each scraper's ``/metrics``; that is where the size
comes from. Growth and the processing rate come from Prometheus when it has the series
(``deriv`` over the last hour, ``rate`` over ``rate_window``), else from two ``/metrics``
samples ``metric_names.sample_seconds`` apart. Endpoints that do not answer are named, and
the others judged; a check is UNKNOWN only when none answers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from opslib.adapters import MetricsSnapshot
from opslib.config import Settings
from opslib.errors import OpsError
from opslib.redact import redact
from opslib.results import CheckResult, Measurement, Table

__all__ = ["MetricsScrape", "RateQuery", "processing_rate", "queue_size"]

SOP = "daily.performance"
_REMEDY = (
    "System Overload response: `pytest checks/emergency/overload` (it names `opslib urls pause"
    " --priority low`, `opslib urls interval --priority low --factor 2`, `opslib scale scraper N`)"
)


class RateQuery(Protocol):
    """What these checks need of :class:`opslib.adapters.Prometheus`."""

    def scalar(self, promql: str) -> float | None: ...


class MetricsScrape(Protocol):
    """What these checks need of the scrapers' ``/metrics``: :func:`opslib.adapters.scrape_all`,
    one result (snapshot or error) per URL, in order."""

    def __call__(
        self, urls: Sequence[str], *, timeout: float
    ) -> Sequence[MetricsSnapshot | OpsError]: ...


@dataclass(frozen=True)
class _Scrape:
    """One scrape of every configured endpoint (URLs redacted); ``at`` is the clock halfway
    through it (the endpoints are scraped concurrently)."""

    at: float
    results: tuple[tuple[str, MetricsSnapshot | OpsError], ...]

    @property
    def reached(self) -> dict[str, MetricsSnapshot]:
        return {url: r for url, r in self.results if isinstance(r, MetricsSnapshot)}

    @property
    def failures(self) -> list[tuple[str, OpsError]]:
        return [(url, r) for url, r in self.results if isinstance(r, OpsError)]

    def largest(self, name: str, among: set[str] | None = None) -> float | None:
        """The largest finite value of ``name`` any reached endpoint (in ``among``) reports."""
        values = [
            value
            for url, snap in self.reached.items()
            if among is None or url in among
            if (value := snap.value(name)) is not None and math.isfinite(value)
        ]
        return max(values) if values else None

    def unreached_note(self) -> str:
        """Names the endpoints that did not answer; empty when all did."""
        failures = self.failures
        if not failures:
            return ""
        named = "; ".join(str(error) for _, error in failures)
        return f"from {len(self.reached)} of {len(self.results)} /metrics endpoints; {named}"

    def none_answered(self) -> str:
        """The one line of an UNKNOWN when no endpoint answered."""
        named = "; ".join(str(error) for _, error in self.failures)
        return f"none of {len(self.results)} scraper /metrics endpoints answered: {named}"

    def table(self, name: str) -> Table:
        rows: list[tuple[str, ...]] = []
        for url, result in self.results:
            if isinstance(result, OpsError):
                rows.append((url, "unreachable", redact(str(result))))
            else:
                value = result.value(name)
                rows.append((url, "-" if value is None else f"{value:.0f}", ""))
        return Table(("endpoint", name, "error"), tuple(rows), "scraper /metrics")


@dataclass(frozen=True)
class _Sampler:
    """Scrapes the configured endpoints; a second sample waits ``sample_seconds``."""

    scrape: MetricsScrape
    settings: Settings
    sleep: Callable[[float], None]
    clock: Callable[[], float]

    def __call__(self) -> _Scrape:
        urls = self.settings.metrics_urls
        start = self.clock()
        results = self.scrape(urls, timeout=self.settings.timeouts.http)
        at = (start + self.clock()) / 2
        return _Scrape(at, tuple(zip((redact(u) for u in urls), results, strict=True)))

    def again(self) -> _Scrape:
        self.sleep(self.settings.metric_names.sample_seconds)
        return self()


def _interval(first: _Scrape, second: _Scrape) -> float:
    return max(second.at - first.at, 1e-9)


def _with_note(note: str, extra: str) -> str:
    return "; ".join(part for part in (note, extra) if part)


def queue_size(
    scrape: MetricsScrape,
    prometheus: RateQuery,
    settings: Settings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> CheckResult:
    """Queue size under threshold now (scrapers' /metrics) and not growing (Prometheus over the
    last hour, else two /metrics samples)."""
    title = "queue size under threshold and not growing"
    queue = settings.metric_names.queue
    sampler = _Sampler(scrape, settings, sleep, clock)
    first = sampler()
    if not first.reached:
        return CheckResult.unknown(SOP, title, first.none_answered())
    size = first.largest(queue)
    if size is None:
        return CheckResult.unknown(
            SOP,
            title,
            f"no scraper /metrics endpoint exports {queue}: set metric_names.queue to the "
            "queue gauge's name",
        )
    growth = prometheus.scalar(f"max(deriv({queue}[1h])) * 3600")
    growth_note = ""
    if growth is None:
        growth, growth_note = _growth_from_samples(first, sampler.again(), queue)
    measurements = (
        Measurement(
            "queue_size",
            size,
            settings.threshold("performance.queue_size"),
            note=first.unreached_note(),
        ),
        Measurement(
            "queue_growth",
            None if growth is None else round(growth, 1),
            settings.threshold("performance.queue_growth"),
            note=growth_note,
        ),
    )
    return CheckResult(SOP, title, measurements, _REMEDY, tables=(first.table(queue),))


def _growth_from_samples(first: _Scrape, second: _Scrape, queue: str) -> tuple[float | None, str]:
    """Items/h between two samples of the endpoints that answered both times."""
    both = first.reached.keys() & second.reached.keys()
    before, after = first.largest(queue, both), second.largest(queue, both)
    if before is None or after is None:
        return None, f"no {queue} history in Prometheus and no second /metrics sample of it"
    seconds = _interval(first, second)
    return (after - before) / seconds * 3600, (
        f"from two /metrics samples {seconds:.1f} s apart ({before:.0f} -> {after:.0f}; "
        f"Prometheus has no {queue} series)"
    )


def processing_rate(
    scrape: MetricsScrape,
    prometheus: RateQuery,
    settings: Settings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> CheckResult:
    """Items processed per second above its floor (Prometheus over ``rate_window``, else two
    /metrics samples), and the estimated time to drain the queue."""
    names = settings.metric_names
    window = settings.rate_window
    title = f"processing rate above its floor (over {window}) and queue drains in time"
    sampler = _Sampler(scrape, settings, sleep, clock)
    rate = prometheus.scalar(f"sum(rate({names.processed}[{window}]))")
    first = sampler()
    rate_note = ""
    if rate is None:
        missing = f"Prometheus has no {names.processed} series"
        if not first.reached:
            return CheckResult.unknown(SOP, title, f"{missing} and {first.none_answered()}")
        if first.largest(names.processed) is None:
            return CheckResult.unknown(
                SOP,
                title,
                f"{missing} and no scraper /metrics endpoint exports it: export a processed "
                "counter, or set metric_names.processed",
            )
        rate, rate_note = _rate_from_samples(first, sampler.again(), names.processed)
    size = first.largest(names.queue)
    if size is None or rate is None:
        drain: float | None = None
    elif size <= 0:
        drain = 0.0
    else:
        drain = size / rate if rate > 0 else math.inf
    unreached = first.unreached_note()
    return CheckResult(
        SOP,
        title,
        (
            Measurement(
                "processing_rate",
                None if rate is None else round(rate, 3),
                settings.threshold("performance.processing_rate"),
                note=_with_note(rate_note, unreached if rate_note else ""),
            ),
            Measurement(
                "drain_time",
                None if drain is None else round(drain, 1),
                settings.threshold("performance.drain_time"),
                note=_with_note("queue size unknown" if size is None else "", unreached),
            ),
        ),
        _REMEDY,
        tables=(first.table(names.queue),),
    )


def _rate_from_samples(first: _Scrape, second: _Scrape, processed: str) -> tuple[float | None, str]:
    """Items/s between two samples, summed over the endpoints that answered both times; a
    counter that went down was reset (a restart) and counts from zero, as in ``rate()``."""
    seconds = _interval(first, second)
    done = 0.0
    counted = 0
    for url in sorted(first.reached.keys() & second.reached.keys()):
        before = first.reached[url].value(processed)
        after = second.reached[url].value(processed)
        if before is None or after is None:
            continue
        done += after - before if after >= before else after
        counted += 1
    if not counted:
        return None, f"no second /metrics sample of {processed}: no endpoint answered again"
    return done / seconds, (
        f"from two /metrics samples {seconds:.1f} s apart on {counted} endpoint(s) "
        f"(Prometheus has no {processed} series)"
    )

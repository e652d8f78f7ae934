"""Prometheus history for a new lab: the last hours of the workers' series, as if they had run.

A platform's Prometheus has history, so ``rate(x[1h])`` and ``deriv(queue_size[1h])`` mean
something from the first minute. The samples follow the lab's healthy steady state and carry the
labels Prometheus gives the live series (job, instance, service, worker), so live samples simply
continue them (the counters restart at 0, which ``rate`` treats as a reset). ``promtool`` turns
the OpenMetrics text into TSDB blocks before the server starts. A lab seeded with two weeks or
more (``history_days``) also gets ``LONG_DAYS`` of hourly samples before those hours, so the
weekly review compares two whole weeks.
"""

from __future__ import annotations

import itertools
import math
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

from opslib.errors import LabError
from opslib.lab._catalog import DUE_SHARE, domain_profile, proxy_latency_ms
from opslib.lab._settings import LabSettings
from opslib.lab._worker import BUCKETS, ERROR_KINDS

__all__ = ["HISTORY_HOURS", "LONG_DAYS", "backfill", "openmetrics_history"]

HISTORY_HOURS = 2
LONG_DAYS = 14
"""Days of coarse history before the last hours, for a lab seeded with at least as many."""
_STEP = 15  # seconds between samples
_LONG_STEP = 3600
_EXTRACTIONS = {"microdata": 0.78, "css": 0.2, "none": 0.02}


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _duration_shares(settings: LabSettings, rng: random.Random) -> list[float]:
    """Share of requests at or under each bucket bound, from the lab's latency model."""
    draws = []
    for _ in range(2000):
        shop, _rate = domain_profile(rng.randrange(settings.domains))
        proxy = proxy_latency_ms(rng.randrange(len(settings.proxy_ports)))
        draws.append((shop * rng.uniform(0.6, 1.4) + proxy * rng.uniform(0.7, 1.3) + 8) / 1000)
    return [sum(d <= bound for d in draws) / len(draws) for bound in BUCKETS]


class _History:
    """Sample generator over the history's timestamps, one target (worker) at a time."""

    def __init__(self, settings: LabSettings, end: float, seed: int) -> None:
        self.settings = settings
        self.rng = random.Random(seed)  # noqa: S311 - simulated history, not security
        start = int(end) - HISTORY_HOURS * 3600
        self.times = list(range(start, int(end), _STEP))
        if settings.history_days >= LONG_DAYS:
            first = start - LONG_DAYS * 86400 - 3600
            self.times = [*range(first, start, _LONG_STEP), *self.times]
        self.steps = [_STEP, *(b - a for a, b in itertools.pairwise(self.times))]
        domains = settings.domain_names
        self.per_domain = DUE_SHARE * settings.scrape_rate / settings.workers / len(domains)
        self.per_worker = self.per_domain * len(domains)

    def target(self, worker: int) -> dict[str, str]:
        port = self.settings.metrics_ports[worker - 1]
        return {"job": "scraper", "instance": f"127.0.0.1:{port}", "service": "scraper",
                "worker": str(worker)}  # fmt: skip

    def counter(self, series: str, rate: float) -> Iterator[str]:
        # Whole events, but the fractions add up: rounding each step would turn a rare event
        # (an error every few minutes) into none at all.
        total = 0.0
        for t, step in zip(self.times, self.steps, strict=True):
            total += rate * step * self.rng.uniform(0.85, 1.15)
            yield f"{series} {math.floor(total)} {t}"

    def gauge(self, series: str, low: int, high: int) -> Iterator[str]:
        for t in self.times:
            yield f"{series} {self.rng.randint(low, high)} {t}"

    def histogram(self, worker: int, shares: list[float]) -> Iterator[str]:
        base = self.target(worker)
        name = "scraper_request_duration_seconds"
        count = 0
        for t, step in zip(self.times, self.steps, strict=True):
            count += round(self.per_worker * step * self.rng.uniform(0.85, 1.15))
            for bound, share in zip(BUCKETS, shares, strict=True):
                yield f"{name}_bucket{_labels(le=str(bound), **base)} {round(count * share)} {t}"
            yield f"{name}_bucket{_labels(le='+Inf', **base)} {count} {t}"
            yield f"{name}_count{_labels(**base)} {count} {t}"
            yield f"{name}_sum{_labels(**base)} {count * 0.06:.3f} {t}"


def openmetrics_history(settings: LabSettings, end: float, seed: int = 1) -> Iterator[str]:
    """OpenMetrics lines for the ``HISTORY_HOURS`` before ``end`` (epoch seconds)."""
    h = _History(settings, end, seed)
    workers = range(1, settings.workers + 1)
    error_rates = {d: domain_profile(i)[1] for i, d in enumerate(settings.domain_names)}
    yield "# TYPE scraper_requests counter"
    for w in workers:
        for domain in settings.domain_names:
            labels = _labels(domain=domain, **h.target(w))
            yield from h.counter(f"scraper_requests_total{labels}", h.per_domain)
    yield "# TYPE scraper_errors counter"
    for w in workers:
        for domain, kind in itertools.product(settings.domain_names, ERROR_KINDS):
            labels = _labels(domain=domain, kind=kind, **h.target(w))
            rate = h.per_domain * error_rates[domain] if kind == "http_error" else 0.0
            yield from h.counter(f"scraper_errors_total{labels}", rate)
    yield "# TYPE scraper_processed counter"
    for w in workers:
        yield from h.counter(f"scraper_processed_total{_labels(**h.target(w))}", h.per_worker)
    yield "# TYPE scraper_proxy_requests counter"
    share = h.per_worker / len(settings.proxies)
    for w in workers:
        for (label, country, _port), (outcome, part) in itertools.product(
            settings.proxies, (("ok", 0.99), ("http_error", 0.01))
        ):
            labels = _labels(proxy=label, country=country, outcome=outcome, **h.target(w))
            yield from h.counter(f"scraper_proxy_requests_total{labels}", share * part)
    yield "# TYPE scraper_extractions counter"
    for w in workers:
        for method, part in _EXTRACTIONS.items():
            labels = _labels(method=method, **h.target(w))
            yield from h.counter(f"scraper_extractions_total{labels}", h.per_worker * part)
    yield "# TYPE queue_size gauge"
    for w in workers:
        yield from h.gauge(f"queue_size{_labels(**h.target(w))}", 0, 5)
    yield "# TYPE up gauge"
    for w in workers:
        yield from h.gauge(f"up{_labels(**h.target(w))}", 1, 1)
    yield "# TYPE scraper_request_duration_seconds histogram"
    shares = _duration_shares(settings, h.rng)
    for w in workers:
        yield from h.histogram(w, shares)
    yield "# EOF"


def backfill(settings: LabSettings, storage: Path, end: float, promtool: str) -> None:
    """Write the history into ``storage`` (the TSDB directory of a server not yet started)."""
    storage.mkdir(parents=True, exist_ok=True)
    source = storage.parent / "history.om"
    source.write_text("\n".join(openmetrics_history(settings, end)) + "\n")
    try:
        result = subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet",
             "--max-block-duration=24h", str(source), str(storage)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        source.unlink(missing_ok=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise LabError(f"promtool could not backfill Prometheus history: {detail[0]}")

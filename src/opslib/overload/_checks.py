"""The overload checks reuse the daily measurements (:mod:`opslib.health`,
:mod:`opslib.performance`) and thresholds, under the ``emergency.overload`` SOP and with the
actions of this emergency as commands."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Protocol

from opslib.adapters import Sample
from opslib.config import Settings
from opslib.health import UsageSource, resource_usage
from opslib.performance import MetricsScrape, RateQuery, processing_rate, queue_size
from opslib.results import CheckResult, Measurement

__all__ = [
    "CACHE_ACTION",
    "CONTAINER_ACTIONS",
    "QUEUE_ACTIONS",
    "SOP",
    "VectorQuery",
    "cache_hit_rate",
    "container_load",
    "drain_time",
    "queue_load",
]

SOP = "emergency.overload"
"""The SOP id of these checks."""

CONTAINER_ACTIONS = (
    "add replicas: `opslib scale scraper N`; give them room: `opslib limits set scraper --cpus C"
    " --memory M`; shed work: `opslib urls pause --priority low`"
)
"""What a red container check names."""

QUEUE_ACTIONS = (
    "shed work now: `opslib urls pause --priority low` (resumed by itself after --for, 2 h);"
    " ask less: `opslib urls interval --priority low --factor 2` (`--restore` later);"
    " add replicas: `opslib scale scraper N`"
)
"""What a red queue or drain check names."""


CACHE_ACTION = (
    "ask less of shops whose pages rarely change: `opslib domains caching DOMAIN on`"
    " (conditional requests; a 304 is not extracted)"
)
"""What the cache hit rate names."""


def _overload(result: CheckResult, actions: str) -> CheckResult:
    return replace(result, sop=SOP, remediation=actions)


def container_load(platform: UsageSource, settings: Settings) -> CheckResult:
    """CPU % and memory % of every container under ``health.cpu_percent`` and
    ``health.memory_percent`` (the daily check), naming scale, limits and pause."""
    return _overload(resource_usage(platform, settings), CONTAINER_ACTIONS)


def queue_load(scrape: MetricsScrape, prometheus: RateQuery, settings: Settings) -> CheckResult:
    """The queue under ``performance.queue_size`` and not growing (``performance.queue_growth``),
    naming pause, intervals and scale."""
    return _overload(queue_size(scrape, prometheus, settings), QUEUE_ACTIONS)


def drain_time(scrape: MetricsScrape, prometheus: RateQuery, settings: Settings) -> CheckResult:
    """The processing rate and the time to drain the queue (``performance.drain_time``)."""
    return _overload(processing_rate(scrape, prometheus, settings), QUEUE_ACTIONS)


class VectorQuery(Protocol):
    """What the cache check needs of :class:`opslib.adapters.Prometheus`."""

    def query(self, promql: str) -> list[Sample]: ...


def cache_hit_rate(prometheus: VectorQuery, settings: Settings) -> CheckResult:
    """The share of requests answered 304 Not Modified (``metric_names.cache_hits`` over
    ``metric_names.requests``, per domain, over ``rate_window``): shown, not judged."""
    names, window = settings.metric_names, settings.rate_window
    title = f"cache hit rate (conditional requests answered 304, over {window})"
    label = names.domain_label
    requests = prometheus.query(f"sum by ({label}) (rate({names.requests}[{window}]))")
    if not requests:
        return CheckResult.unknown(
            SOP, title, f"Prometheus has no {names.requests} series: set metric_names.requests"
        )
    hits = {
        s.labels.get(label, ""): s.value
        for s in prometheus.query(f"sum by ({label}) (rate({names.cache_hits}[{window}]))")
    }
    note = (
        "" if hits else f"no {names.cache_hits} series: caching is off everywhere (or not exported)"
    )
    total_requests = sum(s.value for s in requests if math.isfinite(s.value))
    total_hits = sum(v for v in hits.values() if math.isfinite(v))
    measurements = [
        Measurement(
            "cache_hit_rate",
            round(total_hits / total_requests, 3) if total_requests > 0 else None,
            note=note,
        )
    ]
    for sample in sorted(requests, key=lambda s: s.labels.get(label, "")):
        domain = sample.labels.get(label, "")
        rate = hits.get(domain, 0.0)
        measurements.append(
            Measurement(
                "cache_hit_rate",
                round(rate / sample.value, 3) if sample.value > 0 else None,
                subject=domain,
            )
        )
    return CheckResult(SOP, title, tuple(measurements), CACHE_ACTION)

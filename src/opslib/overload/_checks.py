"""The overload checks reuse the daily measurements (:mod:`opslib.health`,
:mod:`opslib.performance`) and thresholds, under the ``emergency.overload`` SOP and with the
actions of this emergency as commands."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from opslib.adapters import ContainerInfo, ContainerUsage, Sample
from opslib.config import Settings
from opslib.health import UsageSource, resource_usage
from opslib.performance import MetricsScrape, RateQuery, processing_rate, queue_size
from opslib.results import CheckResult, Measurement, Severity

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
    ``health.memory_percent`` (the daily check), naming scale, limits and pause: for each
    service with a container over a limit, the commands with their figures (a CPU cap under
    the threshold, the next replica count, a memory limit with room)."""
    seen = _Seen(platform)
    result = resource_usage(seen, settings)
    actions = _container_actions(seen, settings)
    return _overload(result, actions or CONTAINER_ACTIONS)


class _Seen:
    """The platform, remembering the containers and usage the daily check read."""

    def __init__(self, platform: UsageSource) -> None:
        self.platform = platform
        self.found: list[ContainerInfo] = []
        self.used: list[ContainerUsage] = []

    def containers(self, service: str | None = None) -> list[ContainerInfo]:
        self.found = self.platform.containers(service)
        return self.found

    def usage(
        self, containers: Sequence[ContainerInfo] | None = None, *, sample_seconds: float = 0.5
    ) -> list[ContainerUsage]:
        self.used = self.platform.usage(containers, sample_seconds=sample_seconds)
        return self.used


def _container_actions(seen: _Seen, settings: Settings) -> str:
    """The commands for the services whose containers are over a limit ("" when none is)."""
    cpu = settings.threshold("health.cpu_percent")
    mem = settings.threshold("health.memory_percent")
    hot: dict[str, list[ContainerUsage]] = {}
    full: dict[str, list[ContainerUsage]] = {}
    for u in seen.used:
        if cpu.evaluate(u.cpu_percent) in (Severity.WARNING, Severity.CRITICAL):
            hot.setdefault(u.service, []).append(u)
        if not math.isnan(u.memory_percent) and mem.evaluate(u.memory_percent) in (
            Severity.WARNING,
            Severity.CRITICAL,
        ):
            full.setdefault(u.service, []).append(u)
    parts = []
    for service in sorted(set(hot) | set(full)):
        running = sum(1 for c in seen.found if c.service == service and c.running)
        names = ", ".join(sorted({u.name for u in hot.get(service, []) + full.get(service, [])}))
        steps = []
        if service in hot:
            cap = _cpu_cap(cpu.warn if cpu.warn is not None else cpu.crit)
            steps.append(
                f"cap each replica under the CPU threshold: `opslib limits set {service}"
                f" --cpus {cap:g}`"
            )
            steps.append(f"spread the work: `opslib scale {service} {running + 1}`")
        if service in full:
            room = _memory_room(full[service], mem.warn if mem.warn is not None else mem.crit)
            steps.append(f"give them room: `opslib limits set {service} --memory {room}`")
        parts.append(f"{service} ({names}): " + "; ".join(steps))
    if not parts:
        return ""
    return "; ".join(parts) + "; shed work: `opslib urls pause --priority low`"


def _cpu_cap(limit_percent: float | None) -> float:
    """A CPU limit (in CPUs) that keeps a replica at three quarters of the threshold, in
    twentieths of a CPU."""
    if limit_percent is None or limit_percent <= 0:
        return 1.0
    return max(0.05, math.floor(limit_percent / 100 * 0.75 * 20) / 20)


def _memory_room(usage: Sequence[ContainerUsage], limit_percent: float | None) -> str:
    """A memory limit at which the fullest replica uses two thirds of the threshold, in MiB."""
    share = (limit_percent or 80.0) / 100 * 2 / 3
    most = max(u.memory_bytes for u in usage)
    return f"{math.ceil(most / share / 2**20 / 16) * 16}m"


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

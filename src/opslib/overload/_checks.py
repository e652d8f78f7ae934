"""The overload checks reuse the daily measurements (:mod:`opslib.health`,
:mod:`opslib.performance`) and thresholds, under the ``emergency.overload`` SOP and with the
actions of this emergency as commands."""

from __future__ import annotations

from dataclasses import replace

from opslib.config import Settings
from opslib.health import UsageSource, resource_usage
from opslib.performance import MetricsScrape, RateQuery, processing_rate, queue_size
from opslib.results import CheckResult

__all__ = [
    "CONTAINER_ACTIONS",
    "QUEUE_ACTIONS",
    "SOP",
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

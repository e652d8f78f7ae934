"""daily.health, part 2: CPU and memory of every container (the runbook's ``docker stats``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from opslib.adapters import ContainerInfo, ContainerUsage
from opslib.config import Settings
from opslib.results import CheckResult, Measurement, Table

__all__ = ["UsageSource", "resource_usage"]

SOP = "daily.health"


class UsageSource(Protocol):
    """What this check needs of :class:`opslib.adapters.Platform`."""

    def containers(self, service: str | None = None) -> list[ContainerInfo]: ...

    def usage(
        self, containers: Sequence[ContainerInfo] | None = None, *, sample_seconds: float = 0.5
    ) -> list[ContainerUsage]: ...


def resource_usage(platform: UsageSource, settings: Settings) -> CheckResult:
    """CPU % and memory % of limit of each running container, sampled concurrently.

    Containers that are not running use nothing: when none runs there is nothing over a limit
    (the services check judges stopped containers, so one stopped container does not turn this
    check red as well). UNKNOWN only when the project has no containers at all."""
    title = "container CPU and memory under thresholds"
    containers = platform.containers()
    if not containers:
        return CheckResult.unknown(
            SOP, title, f"no containers in compose project {settings.compose_project!r}"
        )
    running = [c for c in containers if c.running]
    if not running:
        note = (
            f"none of the {len(containers)} containers is running: nothing to sample"
            " (the services check judges stopped containers)"
        )
        return CheckResult(SOP, title, (Measurement("running_containers", 0, note=note),))
    usage = platform.usage(running, sample_seconds=settings.stats_sample_seconds)
    cpu = settings.threshold("health.cpu_percent")
    mem = settings.threshold("health.memory_percent")
    measurements: list[Measurement] = []
    for u in usage:
        measurements.append(Measurement("cpu_percent", round(u.cpu_percent, 1), cpu, u.name))
        no_limit = math.isnan(u.memory_percent)
        measurements.append(
            Measurement(
                "memory_percent",
                round(u.memory_percent, 1),
                mem,
                u.name,
                note="the engine reported no memory limit" if no_limit else "",
            )
        )
    table = Table(
        columns=("container", "service", "CPU %", "memory MiB", "limit MiB", "memory %"),
        rows=tuple(
            (
                u.name,
                u.service,
                f"{u.cpu_percent:.1f}",
                f"{u.memory_bytes / 2**20:.1f}",
                f"{u.memory_limit_bytes / 2**20:.0f}",
                f"{u.memory_percent:.1f}",
            )
            for u in usage
        ),
        title="resource usage",
    )
    return CheckResult(
        sop=SOP,
        title=title,
        measurements=tuple(measurements),
        remediation=(
            "System Overload response: `pytest checks/emergency/overload` (it names `opslib scale"
            " scraper N`, `opslib limits set scraper`, `opslib urls pause --priority low`)"
        ),
        tables=(table,),
    )

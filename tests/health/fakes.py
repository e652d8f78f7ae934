"""Fakes of opslib.health's own Protocols (ContainerSource, UsageSource, MetricQuery).

They answer from tables the test fills in, record what the check asked, and raise the
OpsError a test hands them, as the real adapters do when a dependency fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from opslib.adapters import ContainerInfo, ContainerUsage, Sample
from opslib.errors import OpsError

__all__ = ["FakePlatform", "FakePrometheus", "container", "usage"]


def container(
    name: str,
    service: str = "scraper",
    state: str = "running",
    *,
    health: str | None = None,
    exit_code: int | None = None,
    restart_count: int = 0,
    started_at: datetime | None = None,
    restart_policy: str = "unless-stopped",
) -> ContainerInfo:
    """A container of the project; its id is ``id-<name>``; running ones started an hour ago."""
    if started_at is None and state == "running":
        started_at = datetime.now(UTC) - timedelta(hours=1)
    return ContainerInfo(
        id=f"id-{name}",
        name=name,
        service=service,
        number=None,
        state=state,
        health=health,
        restart_count=restart_count,
        started_at=started_at,
        exit_code=exit_code,
        image="pricewatch/scraper:test",
        restart_policy=restart_policy,
    )


def usage(
    name: str, cpu: float, memory_mib: float, limit_mib: float = 1000, service: str = "scraper"
) -> ContainerUsage:
    """What the platform would sample for container ``name``."""
    return ContainerUsage(
        name=name,
        service=service,
        cpu_percent=cpu,
        memory_bytes=int(memory_mib * 2**20),
        memory_limit_bytes=int(limit_mib * 2**20),
    )


@dataclass
class FakePlatform:
    """A ContainerSource and UsageSource answering from ``listed``, ``restarts``, ``sampled``."""

    listed: list[ContainerInfo] = field(default_factory=list)
    restarts: dict[str, int] = field(default_factory=dict)
    sampled: list[ContainerUsage] = field(default_factory=list)
    error: OpsError | None = None
    restarts_asked: list[datetime] = field(default_factory=list)
    usage_asked: list[tuple[list[str], float]] = field(default_factory=list)

    def containers(self, service: str | None = None) -> list[ContainerInfo]:
        if self.error is not None:
            raise self.error
        return [c for c in self.listed if service is None or c.service == service]

    def restarts_since(self, since: datetime) -> dict[str, int]:
        self.restarts_asked.append(since)
        return dict(self.restarts)

    def usage(
        self, containers: Sequence[ContainerInfo] | None = None, *, sample_seconds: float = 0.5
    ) -> list[ContainerUsage]:
        names = [c.name for c in (self.listed if containers is None else containers)]
        self.usage_asked.append((names, sample_seconds))
        return [u for u in self.sampled if u.name in names]


@dataclass
class FakePrometheus:
    """A MetricQuery answering PromQL from ``scalars`` and ``vectors``; any other query fails
    the test, so the expressions a check sends are part of what it is tested for."""

    scalars: dict[str, float | None] = field(default_factory=dict)
    vectors: dict[str, list[Sample]] = field(default_factory=dict)
    error: OpsError | None = None
    asked: list[str] = field(default_factory=list)

    def scalar(self, promql: str) -> float | None:
        self.asked.append(promql)
        if self.error is not None:
            raise self.error
        if promql not in self.scalars:
            raise AssertionError(f"unexpected scalar query {promql!r}")
        return self.scalars[promql]

    def query(self, promql: str) -> list[Sample]:
        self.asked.append(promql)
        if self.error is not None:
            raise self.error
        if promql not in self.vectors:
            raise AssertionError(f"unexpected vector query {promql!r}")
        return list(self.vectors[promql])

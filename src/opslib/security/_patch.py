"""``opslib security patch``: roll a patched image out to one service, replica by replica.

Built on ``opslib updates apply``: the platform adapter's ``recreate`` (same configuration,
name and labels, a new image) and its wait for a running, healthy container. Between two
replicas the new one must be running, healthy when its image has a health check, and, when
the service has a health endpoint, answer it with 2xx. The first failure stops the rollout:
the replicas not reached stay on their old image, and the report names them. Nothing is
pulled: the image must be on the engine already (built locally).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from opslib.adapters import Database
from opslib.adapters._http import fetch
from opslib.adapters._platform import ContainerInfo
from opslib.config import Settings
from opslib.errors import InputError, OpsError
from opslib.results import CheckResult, Measurement, Table

if TYPE_CHECKING:  # opslib.updates (and the health checks) only when a patch runs
    from opslib.updates._apply import UpdateTarget

__all__ = [
    "PatchPlan",
    "PatchReport",
    "apply_patch",
    "check_replica_images",
    "note_in_incident",
    "plan_patch",
]

_SOP = "emergency.security"

Probe = Callable[[str, float], str]
"""Asks a health endpoint: ``""`` when it answers 2xx, else why not."""


@dataclass(frozen=True)
class PatchPlan:
    """What a patch does to ``service``: the replicas to move to ``image`` in order."""

    service: str
    image: str
    image_id: str
    replicas: tuple[str, ...]
    current: tuple[str, ...]
    health_url: str | None

    def describe(self) -> str:
        """What it does, line by line."""
        short = self.image_id.removeprefix("sha256:")[:12]
        lines = [f"{self.service}: patch to {self.image} ({short})"]
        lines += [f"  recreate {name}, then wait until it is healthy" for name in self.replicas]
        if self.health_url:
            lines.append(f"  after each: {self.health_url} must answer 2xx")
        if self.current:
            lines.append(f"  already on it: {', '.join(self.current)}")
        if not self.replicas:
            lines.append("  nothing to do")
        lines.append("  the first failure stops it; the replicas not reached keep their image")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dataclasses.asdict(self) | {"replicas": list(self.replicas),
                                           "current": list(self.current)}  # fmt: skip


@dataclass
class PatchReport:
    """What the rollout did: the replicas patched, and what stopped it (``failed``) with the
    replicas left on their old image."""

    plan: PatchPlan
    patched: list[str] = field(default_factory=list)
    failed: str = ""
    remaining: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every replica patched."""
        return not self.failed

    def describe(self) -> str:
        """What happened, line by line."""
        tail = []
        if self.failed:
            tail.append(f"STOPPED: {self.failed}")
            if self.remaining:
                tail.append(f"left on the old image: {', '.join(self.remaining)}")
        return "\n".join([*self.lines, *tail])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"plan": self.plan.as_dict(), "patched": self.patched, "failed": self.failed,
                "remaining": self.remaining, "ok": self.ok}  # fmt: skip


def _order(container: ContainerInfo) -> tuple[int, str]:
    return (container.number if container.number is not None else 1 << 30, container.name)


def plan_patch(
    platform: UpdateTarget, service: str, image: str | None = None, health_url: str | None = None
) -> PatchPlan:
    """The plan: ``service``'s replicas not yet on ``image`` (default: the image its
    containers name, as rebuilt), in replica order. InputError when the service has no
    container or the image is not on the engine."""
    containers = sorted(platform.containers(service), key=_order)
    if not containers:
        raise InputError(f"no container of service {service} in the project")
    reference = image or containers[0].image
    target = platform.image(reference)
    if target is None:
        raise InputError(f"no local image {reference}: build or load it first (nothing is pulled)")
    stale = [c for c in containers if c.image_id != target.id or c.image != reference]
    return PatchPlan(
        service=service,
        image=reference,
        image_id=target.id,
        replicas=tuple(c.name for c in stale),
        current=tuple(c.name for c in containers if c not in stale),
        health_url=health_url,
    )


def apply_patch(
    platform: UpdateTarget,
    settings: Settings,
    plan: PatchPlan,
    *,
    probe: Probe | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> PatchReport:
    """Carry out ``plan`` one replica at a time; stops at the first failure."""
    report = PatchReport(plan)
    ask = probe or _probe
    todo = list(plan.replicas)
    by_name = {c.name: c for c in platform.containers(plan.service)}
    while todo:
        name = todo.pop(0)
        old = by_name.get(name)
        try:
            if old is None:
                raise OpsError(f"container {name} is gone")  # noqa: TRY301 - one handler
            state = _patch_one(platform, settings, plan, old, ask, sleep=sleep, clock=clock)
        except OpsError as exc:
            report.failed = f"{name}: {exc}"
            report.remaining = todo
            return report
        report.patched.append(name)
        report.lines.append(f"{plan.service}: {name} on {plan.image} ({state})")
    return report


def _patch_one(
    platform: UpdateTarget,
    settings: Settings,
    plan: PatchPlan,
    old: ContainerInfo,
    ask: Probe,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> str:
    """Recreate ``old`` from the plan's image, wait until it is well; how it is."""
    from opslib.updates._apply import _wait_running  # the wait of opslib updates apply

    timeout = settings.updates.start_timeout
    new = platform.recreate(
        dataclasses.replace(old, image=plan.image), timeout=settings.updates.stop_timeout
    )
    _wait_running(platform, new, timeout, sleep, clock)
    state = "healthy" if _has_health(platform, new) else "running"
    if plan.health_url:
        deadline = clock() + timeout
        while why := ask(plan.health_url, settings.timeouts.http):
            if clock() >= deadline:
                raise OpsError(f"{plan.health_url} not healthy within {timeout:g} s: {why}")
            sleep(0.5)
        state += f", {plan.health_url} answers"
    return state


def _has_health(platform: UpdateTarget, container: ContainerInfo) -> bool:
    now = next((c for c in platform.containers(container.service) if c.id == container.id), None)
    return now is not None and now.health is not None


def _probe(url: str, timeout: float) -> str:
    with httpx.Client(follow_redirects=False) as client:
        try:
            reply = fetch(client, url, dependency=url, timeout=timeout, max_bytes=65536)
        except OpsError as exc:
            return str(exc)
    return "" if 200 <= reply.status < 300 else f"HTTP {reply.status}"


def note_in_incident(db: Database, text: str) -> int | None:
    """Add ``text`` to the open incident's follow-ups; its id, or None when none is open."""
    row = db.fetch_one(
        "UPDATE opslib.incidents SET followups = array_append(followups, %s)"
        " WHERE closed_at IS NULL RETURNING id",
        (text[:500],),
    )
    return int(row["id"]) if row else None


def check_replica_images(platform: UpdateTarget, settings: Settings) -> CheckResult:
    """Every service's containers run one image (``security.mixed_images``): more than one is
    a rollout stopped half-way; the remediation names the patch to the newest image."""
    limit = settings.threshold("security.mixed_images")
    title = "each service runs one image"
    by_service: dict[str, list[ContainerInfo]] = {}
    for container in platform.containers():
        by_service.setdefault(container.service, []).append(container)
    measurements: list[Measurement] = []
    rows: list[tuple[str, ...]] = []
    commands: list[str] = []
    for service, containers in sorted(by_service.items()):
        images: dict[str, list[ContainerInfo]] = {}
        for c in sorted(containers, key=_order):
            images.setdefault(c.image_id, []).append(c)
        m = Measurement("mixed_images", len(images) - 1, limit, service)
        if m.severity.rank:
            ranked = sorted(images, key=lambda i: (_created(platform, i), -len(images[i])))
            newest, older = images[ranked[-1]][0].image, images[ranked[0]][0].image
            m = Measurement("mixed_images", m.value, limit, service,
                            f"{len(images)} images: a rollout stopped half-way")  # fmt: skip
            commands.append(
                f"opslib security patch {service} --image {newest} to finish it"
                f" (or --image {older} to roll it back)"
            )
        measurements.append(m)
        for image_id, on in images.items():
            names = ", ".join(c.name for c in on)
            rows.append((service, image_id.removeprefix("sha256:")[:12], on[0].image, names))
    if not measurements:
        measurements.append(Measurement("mixed_images", 0, limit, note="no container"))
    remediation = "; ".join(commands)
    table = Table(("service", "image", "reference", "containers"), tuple(rows), "images")
    return CheckResult(_SOP, title, tuple(measurements), remediation, tables=(table,))


def _created(platform: UpdateTarget, image_id: str) -> str:
    found = platform.image(image_id) if image_id else None
    return found.created.isoformat() if found is not None and found.created else ""

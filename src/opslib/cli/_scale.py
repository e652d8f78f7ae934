"""``opslib scale`` and ``opslib limits``: replicas and resource limits of a service, on the
configured platform backend (``scale.backend``: compose or swarm)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from opslib.adapters import ScalingBackend
from opslib.cli._context import AppContext, pass_app
from opslib.scaling import (
    apply_limits,
    apply_scale,
    parse_memory,
    plan_limits,
    plan_scale,
)

__all__ = ["limits", "scale"]


@contextmanager
def _backend(app: AppContext) -> Iterator[ScalingBackend]:
    from opslib.connect import open_platform, open_scaling

    with open_platform(app.settings) as platform:
        yield open_scaling(app.settings, platform)


@click.command("scale")
@click.argument("service")
@click.argument("replicas", type=int)
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def scale(app: AppContext, service: str, replicas: int, dry_run: bool) -> None:
    """Run REPLICAS containers of SERVICE (runbook: scale_service). On compose, new replicas
    copy an existing one; the highest-numbered stop first. Refused below 0 or above
    scale.max_replicas; a scale that fails midway rolls back what it started."""
    settings = app.settings.scale
    args = {"service": service, "replicas": replicas, "backend": settings.backend}
    with _backend(app) as backend, app.audit.action("scale", args, dry_run=dry_run) as out:
        plan = plan_scale(backend, service, replicas, max_replicas=settings.max_replicas)
        out.detail = plan.describe()
        if dry_run:
            app.output.data({"dry_run": True, **plan.as_dict()}, f"would {plan.describe()}")
            return
        outcome = apply_scale(backend, plan)
        out.detail = f"{plan.describe()}: {outcome.seconds:.1f} s"
    text = (
        f"{plan.describe()}: done in {outcome.seconds:.1f} s" if plan.changes else plan.describe()
    )
    app.output.data({"dry_run": False, **plan.as_dict(), **outcome.as_dict()}, text)


@click.group()
def limits() -> None:
    """CPU and memory limits of a service (runbook: set_resource_limits)."""


@limits.command("show")
@click.argument("services", nargs=-1)
@pass_app
def show_cmd(app: AppContext, services: tuple[str, ...]) -> None:
    """The limits of SERVICES (default: the scraper service) and the replicas running."""
    names = services or (app.settings.scraper_service,)
    with _backend(app) as backend:
        found = [(name, backend.limits(name), backend.replicas(name)) for name in names]
    rows = [
        (name, "-" if lim.cpus is None else f"{lim.cpus:g}",
         "-" if lim.memory_bytes is None else f"{lim.memory_bytes / (1 << 20):.0f} MiB", count)
        for name, lim, count in found
    ]  # fmt: skip
    app.output.table(
        ("service", "cpus", "memory", "replicas"),
        rows,
        payload={
            "backend": app.settings.scale.backend,
            "services": [
                {
                    "service": name,
                    "cpus": lim.cpus,
                    "memory_bytes": lim.memory_bytes,
                    "replicas": count,
                }
                for name, lim, count in found
            ],
        },
    )


@limits.command("set")
@click.argument("service")
@click.option("--cpus", type=float, help="CPUs (1.5 = one and a half).")
@click.option("--memory", help="Memory limit: 512m, 1g, 1.5g.")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def set_cmd(
    app: AppContext, service: str, cpus: float | None, memory: str | None, dry_run: bool
) -> None:
    """Set the limits of SERVICE's running replicas and of those scaled up later; a memory
    limit below what a replica uses now is refused."""
    memory_bytes = parse_memory(memory) if memory is not None else None
    args = {"service": service, "cpus": cpus, "memory": memory,
            "backend": app.settings.scale.backend}  # fmt: skip
    with _backend(app) as backend, app.audit.action("limits.set", args, dry_run=dry_run) as out:
        plan = plan_limits(backend, service, cpus=cpus, memory=memory_bytes)
        out.detail = plan.describe()
        if dry_run:
            app.output.data({"dry_run": True, **plan.as_dict()}, f"would set {plan.describe()}")
            return
        updated = apply_limits(backend, plan)
        out.detail = f"{plan.describe()}: {len(updated)} updated"
    app.output.data(
        {"dry_run": False, **plan.as_dict(), "updated": updated},
        f"set {plan.describe()}: {', '.join(updated) or 'nothing running'} updated",
    )

"""daily.health, part 1: service status and restarts (the runbook's ``docker-compose ps``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from opslib.adapters import ContainerInfo
from opslib.config import Settings
from opslib.results import CheckResult, Measurement, Table, Threshold

__all__ = ["ContainerSource", "finished_by_design", "restart_trend", "service_status"]

SOP = "daily.health"
_FLAG = Threshold(crit=0.5)  # a 0/1 measurement: 1 is critical
_STARTING = Threshold(warn=0.5)  # 1 is a warning
_AT_LEAST_ONE = Threshold(crit=1, bad="below", unit="containers")


class ContainerSource(Protocol):
    """What these checks need of :class:`opslib.adapters.Platform`."""

    def containers(self, service: str | None = None) -> list[ContainerInfo]: ...

    def restarts_since(self, since: datetime) -> dict[str, int]: ...


# Restart policies under which a container that exited 0 is done, not down: compose's default
# (`restart: "no"`) and on-failure (a clean exit is not restarted by design).
_RUN_ONCE_POLICIES = frozenset({"no", "", "on-failure"})


def finished_by_design(container: ContainerInfo, settings: Settings) -> bool:
    """A one-shot container that did its job: exited 0, and either its service is listed in
    ``oneshot_services``, or it is not an expected (long-running) service and its restart policy
    does not bring a clean exit back. A stopped scraper exits 0 too: it is down, not done."""
    if container.state != "exited" or container.exit_code != 0:
        return False
    if container.service in settings.oneshot_services:
        return True
    return (
        container.service not in settings.expected_services
        and container.restart_policy in _RUN_ONCE_POLICIES
    )


def service_status(platform: ContainerSource, settings: Settings) -> CheckResult:
    """Every expected service has a running container; none is stopped, restarting or unhealthy.

    A one-shot container that exited 0 (a migration, a seed) is not a failure; one that exited
    non-zero, or that keeps restarting, is.
    """
    containers = platform.containers()
    measurements: list[Measurement] = []
    for service in settings.expected_services:
        running = sum(1 for c in containers if c.service == service and c.running)
        measurements.append(Measurement("running_containers", running, _AT_LEAST_ONE, service))
    for c in containers:
        if finished_by_design(c, settings):
            continue
        if c.state != "running":
            note = c.state + (f" (exit code {c.exit_code})" if c.exit_code is not None else "")
            measurements.append(Measurement("not_running", 1, _FLAG, c.name, note))
        elif c.health == "unhealthy":
            measurements.append(Measurement("unhealthy", 1, _FLAG, c.name, "healthcheck failing"))
        elif c.health == "starting":
            measurements.append(Measurement("health_starting", 1, _STARTING, c.name))
    return CheckResult(
        sop=SOP,
        title=f"services of compose project {settings.compose_project!r} are running",
        measurements=tuple(measurements),
        remediation=(
            "inspect with `docker ps -a --filter label=com.docker.compose.project="
            f"{settings.compose_project}` and the container logs; restart with "
            "`docker-compose up -d` (runbook: Emergency Maintenance, Service Restoration)"
        ),
        tables=(_container_table(containers, settings=settings),),
    )


def restart_trend(
    platform: ContainerSource, settings: Settings, now: datetime | None = None
) -> CheckResult:
    """No container restarted more than the threshold within the last hour."""
    now = now or datetime.now(UTC)
    containers = platform.containers()
    if not containers:
        return CheckResult.unknown(
            SOP,
            "container restart counts are not climbing",
            f"no containers in compose project {settings.compose_project!r}",
        )
    dies = platform.restarts_since(now - timedelta(hours=1))
    restarts = {c.id: _restarts(c, dies.get(c.id, 0)) for c in containers}
    threshold = settings.threshold("health.restarts_per_hour")
    measurements = tuple(
        Measurement("restarts_per_hour", restarts.get(c.id, 0), threshold, c.name)
        for c in containers
    )
    return CheckResult(
        sop=SOP,
        title="container restart counts are not climbing",
        measurements=measurements,
        remediation=(
            "a crash loop: read `docker logs` of the container for the cause, then the High Error "
            "Rate or System Overload response in the runbook"
        ),
        tables=(_container_table(containers, restarts),),
    )


def _restarts(container: ContainerInfo, dies: int) -> int:
    """Restarts among a container's ``die`` events: a container that is not running now was not
    started again after its last one (a one-shot job that finished, a stopped container)."""
    if dies and container.state in ("exited", "dead"):
        return dies - 1
    return dies


def _container_table(
    containers: Sequence[ContainerInfo],
    restarts: dict[str, int] | None = None,
    *,
    settings: Settings | None = None,
) -> Table:
    now = datetime.now(UTC)
    rows = []
    for c in containers:
        uptime = _age(now - c.started_at) if c.running and c.started_at else "-"
        state = c.state
        if settings is not None and finished_by_design(c, settings):
            state = "exited (one-shot, done)"
        exit_code = "-" if c.exit_code is None else str(c.exit_code)
        row = [c.name, c.service, state, exit_code, c.restart_policy, c.health or "-"]
        row += [str(c.restart_count), uptime]
        if restarts is not None:
            row.append(str(restarts.get(c.id, 0)))
        rows.append(tuple(row))
    columns = ["container", "service", "state", "exit code", "restart policy", "health"]
    columns += ["restart count", "uptime"]
    if restarts is not None:
        columns.append("restarts last hour")
    return Table(columns=tuple(columns), rows=tuple(rows), title="containers")


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600:02d}h"

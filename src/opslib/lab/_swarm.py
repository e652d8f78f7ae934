"""The lab's scrapers as a Docker Swarm service (the ``[scale] backend = "swarm"`` platform).

:func:`start_swarm_scrapers` runs the lab's worker image as the swarm service
``<project>_scraper`` (as ``docker stack deploy`` names it), so the platform adapter counts its
task containers as the project's service ``scraper`` and ``opslib scale scraper N`` /
``opslib limits set scraper ...`` act on it through the swarm backend. With host networking the
replicas share the host's ports: each takes its worker index from its task slot
(``LAB_WORKER_INDEX={{.Task.Slot}}``), hence its name and /metrics port. The swarm runs
instead of the lab's own worker containers, not beside them (the same indexes, the same
ports): stop those first. Nothing is pulled: the lab's locally imported image.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.types import EndpointSpec, Mount, Resources, RestartPolicy, ServiceMode

from opslib.errors import LabError
from opslib.lab._containers import LAB_LABEL, _source_mounts
from opslib.lab._image import ensure_image, python_mounts
from opslib.lab._settings import INDEX_ENV, LabSettings

__all__ = ["remove_swarm_scrapers", "settle_tasks", "start_swarm_scrapers", "swarm_service_name"]

_NS = 1_000_000_000


def swarm_service_name(settings: LabSettings) -> str:
    """``<project>_scraper``: the swarm service of the lab's scrapers."""
    return f"{settings.project}_scraper"


def start_swarm_scrapers(
    client: docker.DockerClient, settings: LabSettings, state_dir: Path, replicas: int
) -> str:
    """Create the service with ``replicas`` workers (the engine must be a swarm manager);
    return its name. LabError when the service exists already or the engine refuses."""
    name = swarm_service_name(settings)
    mounts = [
        Mount(spec["bind"], source, type="bind", read_only=True)
        for source, spec in python_mounts(*_source_mounts(), state_dir).items()
    ]
    try:
        client.services.create(  # type: ignore[no-untyped-call]
            ensure_image(client),
            [sys.executable, "-m", "opslib.lab._worker", "--state-dir", str(state_dir)],
            name=name,
            env=[
                f"{INDEX_ENV}={{{{.Task.Slot}}}}",
                "PYTHONUNBUFFERED=1",
                "PYTHONDONTWRITEBYTECODE=1",
                "LC_ALL=C.UTF-8",
                "HOME=/root",
            ],
            workdir="/",
            mounts=mounts,
            mode=ServiceMode("replicated", replicas),
            networks=["host"],
            endpoint_spec=EndpointSpec(mode="dnsrr"),
            resources=Resources(mem_limit=256 << 20),
            restart_policy=RestartPolicy(condition="on-failure", max_attempts=5),
            stop_grace_period=5 * _NS,
            labels={LAB_LABEL: settings.project},
            container_labels={LAB_LABEL: settings.project},
        )
    except docker.errors.APIError as exc:
        raise LabError(f"docker: cannot create the swarm service {name}: {exc}") from exc
    return name


def remove_swarm_scrapers(
    client: docker.DockerClient, settings: LabSettings, timeout: float = 60.0
) -> bool:
    """Remove the service once its task list has settled (a Docker 20.10 manager panics when
    a service is removed while the task reaper deletes its old tasks) and wait until its
    containers are gone; False when there was none."""
    name = swarm_service_name(settings)
    try:
        service: Any = client.services.get(name)  # type: ignore[no-untyped-call]
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as exc:
        raise LabError(f"docker: cannot read the swarm service {name}: {exc}") from exc
    deadline = time.monotonic() + timeout
    settle_tasks(service, timeout=timeout)
    try:
        service.remove()
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError as exc:
        raise LabError(f"docker: cannot remove the swarm service {name}: {exc}") from exc
    label = f"com.docker.swarm.service.name={name}"
    while time.monotonic() < deadline:
        if not client.containers.list(all=True, filters={"label": label}):
            return True
        time.sleep(0.5)
    raise LabError(f"docker: the containers of {name} are still there after {timeout:.0f} s")


def settle_tasks(service: Any, *, quiet_seconds: float = 2.0, timeout: float = 60.0) -> None:
    """Wait until the swarm service ``service``'s tasks (ids and states) stay the same for
    ``quiet_seconds`` (at most ``timeout`` s; gone: nothing to wait for)."""
    deadline = time.monotonic() + timeout
    last: object = None
    since = time.monotonic()
    while time.monotonic() < deadline:
        try:
            tasks = service.tasks()
        except docker.errors.NotFound:
            return
        now = sorted((t["ID"], t["Status"]["State"], t["DesiredState"]) for t in tasks)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            return
        time.sleep(0.25)

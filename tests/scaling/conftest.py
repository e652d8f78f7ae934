"""Real containers and a real one-node swarm for the scaling tests, from the lab's locally
imported image (nothing pulled); every container and service made here is removed."""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from docker.models.containers import Container
from docker.types import EndpointSpec, Mount, ServiceMode

from opslib.adapters import Platform
from opslib.adapters._platform import NUMBER_LABEL, PROJECT_LABEL, SERVICE_LABEL
from opslib.lab._image import ensure_image, python_mounts
from opslib.lab._swarm import settle_tasks as lab_settle_tasks
from tests.dbkit import TestDatabase

SERVICE = "worker"
# A replica that idles; ``--hold MB`` keeps that much memory in use.
_HOLD = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
    "held = b'x' * (int(sys.argv[1]) << 20); time.sleep(3600)"
)
IDLE = [sys.executable, "-c", _HOLD, "0"]


@dataclass(frozen=True)
class ComposeProject:
    """A compose-like project of ``replicas`` containers of :data:`SERVICE` made by hand."""

    project: str
    client: docker.DockerClient

    def platform(self) -> Platform:
        return Platform(self.project, timeout=20)

    def containers(self) -> list[Container]:
        found = self.client.containers.list(
            all=True, filters={"label": f"{PROJECT_LABEL}={self.project}"}
        )
        return sorted(found, key=lambda c: int(c.labels.get(NUMBER_LABEL, "0")))

    def running_names(self) -> list[str]:
        return [str(c.name) for c in self.containers() if c.status == "running"]


def _run_replica(
    client: docker.DockerClient, project: str, number: int, hold_mb: int, separator: str = "-"
) -> None:
    image = ensure_image(client)
    client.containers.run(
        image,
        [*IDLE[:-1], str(hold_mb)],
        name=separator.join((project, SERVICE, str(number))),
        labels={
            PROJECT_LABEL: project,
            SERVICE_LABEL: SERVICE,
            NUMBER_LABEL: str(number),
            "test.owner": "opslib-scaling",
        },
        environment={"SCRAPER_ROLE": "worker", "PYTHONDONTWRITEBYTECODE": "1"},
        volumes=python_mounts(),
        network_mode="host",
        detach=True,
    )


def make_project(
    client: docker.DockerClient, replicas: int = 2, hold_mb: int = 0, separator: str = "-"
) -> ComposeProject:
    """``replicas`` containers named ``project-worker-N`` (compose v2; ``separator="_"``:
    ``project_worker_N``, as docker-compose v1 names them)."""
    made = ComposeProject(f"opslibscale{uuid.uuid4().hex[:8]}", client)
    try:
        for number in range(1, replicas + 1):
            _run_replica(client, made.project, number, hold_mb, separator)
    except BaseException:
        remove_project(made)
        raise
    return made


def remove_project(project: ComposeProject) -> None:
    for container in project.client.containers.list(all=True, filters={"name": project.project}):
        container.remove(force=True)


@pytest.fixture
def env(platform_db: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TestDatabase:
    """The commands' environment: the test database for the audit log, no config file, at
    most 5 replicas, 5 s to stop one."""
    for name in ("OPSLIB_CONFIG", "OPSLIB_ACTOR", "DOCKER_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", platform_db.dsn)
    monkeypatch.setenv("OPSLIB_SCALE__MAX_REPLICAS", "5")
    monkeypatch.setenv("OPSLIB_SCALE__STOP_TIMEOUT", "5")
    monkeypatch.chdir(tmp_path)
    return platform_db


@pytest.fixture
def compose(docker_client: docker.DockerClient) -> Iterator[ComposeProject]:
    """Two running replicas of ``worker`` in a fresh project."""
    made = make_project(docker_client)
    try:
        yield made
    finally:
        remove_project(made)


@pytest.fixture(scope="session")
def swarm(docker_client: docker.DockerClient) -> Iterator[docker.DockerClient]:
    """A one-node swarm on this engine: initialised here (and left at the end) if none is
    active."""
    state = docker_client.info()["Swarm"]["LocalNodeState"]
    created = False
    if state != "active":
        docker_client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
        created = True
    try:
        yield docker_client
    finally:
        if created:
            docker_client.swarm.leave(force=True)


@dataclass(frozen=True)
class SwarmService:
    project: str
    name: str
    client: docker.DockerClient

    def platform(self) -> Platform:
        return Platform(self.project, timeout=20)


def make_service(
    client: docker.DockerClient,
    replicas: int = 1,
    constraints: list[str] | None = None,
    hold_mb: int = 0,
) -> SwarmService:
    project = f"opslibswarm{uuid.uuid4().hex[:8]}"
    name = f"{project}_{SERVICE}"
    image = ensure_image(client)
    mounts = [
        Mount(spec["bind"], source, type="bind", read_only=True)
        for source, spec in python_mounts().items()
    ]
    client.services.create(  # type: ignore[no-untyped-call]
        image,
        [*IDLE[:-1], str(hold_mb)],
        name=name,
        mounts=mounts,
        mode=ServiceMode("replicated", replicas),
        networks=["host"],
        endpoint_spec=EndpointSpec(mode="dnsrr"),
        constraints=constraints or [],
        stop_grace_period=2_000_000_000,
        labels={"test.owner": "opslib-scaling"},
    )
    return SwarmService(project, name, client)


def remove_service(service: SwarmService) -> None:
    """Remove the service once its task list has settled: Docker 20.10's swarm manager
    panics (nil task, swarmkit's SetServiceTasksRemove) when a service is removed while the
    task reaper deletes its old tasks, which takes the whole engine down."""
    get: Any = service.client.services.get
    with contextlib.suppress(docker.errors.NotFound):
        found = get(service.name)
        settle_tasks(found)
        found.remove()


def settle_tasks(found: Any, *, quiet_seconds: float = 2.0, timeout: float = 60.0) -> None:
    """Wait until the swarm service ``found``'s tasks (ids and states) stay the same for
    ``quiet_seconds``."""
    lab_settle_tasks(found, quiet_seconds=quiet_seconds, timeout=timeout)


def service_spec(client: docker.DockerClient, name: str) -> dict[str, Any]:
    """The swarm service ``name``'s spec, as the engine has it now."""
    spec: dict[str, Any] = client.services.get(name).attrs["Spec"]  # type: ignore[no-untyped-call]
    return spec

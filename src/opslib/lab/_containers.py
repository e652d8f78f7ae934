"""Scraper workers as containers of the compose project (when a Docker engine is reachable).

Containers carry the compose labels the platform adapter looks for, plus two labels of the lab's
own (project and state directory), by which ``down`` finds exactly its containers.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container
from docker.utils import kwargs_from_env

import opslib
from opslib.adapters._platform import unix_socket_error
from opslib.errors import LabError
from opslib.lab._image import ensure_image, python_mounts
from opslib.lab._settings import LabSettings

__all__ = ["LAB_LABEL", "STATE_LABEL", "WorkerContainers", "docker_client", "docker_reachable"]

LAB_LABEL = "org.opslib.lab"
STATE_LABEL = "org.opslib.lab.state-dir"
_NS = 1_000_000_000


@contextlib.contextmanager
def docker_client(timeout: float = 10) -> Iterator[docker.DockerClient]:
    """A client of the local engine, closed afterwards; LabError if none answers."""
    try:
        # A dead unix socket is found first: docker-py would leave its socket unclosed.
        refused = unix_socket_error(kwargs_from_env().get("base_url"), timeout)
        if refused is not None:
            raise LabError(f"docker: no engine reachable: {refused}")
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except docker.errors.DockerException as exc:
        raise LabError(f"docker: no engine reachable: {exc}") from exc
    try:
        yield client
    finally:
        client.close()


def docker_reachable() -> bool:
    """Whether a Docker engine answers (``docker.from_env().ping()``)."""
    try:
        with docker_client(timeout=3):
            return True
    except LabError:
        return False


def _source_mounts() -> list[Path]:
    # An editable install keeps opslib outside sys.prefix: the container needs that tree too.
    package_root = Path(opslib.__file__).resolve().parent.parent
    prefix = Path(sys.prefix).resolve()
    return [] if package_root.is_relative_to(prefix) else [package_root]


class WorkerContainers:
    """The lab's worker containers, found by label."""

    def __init__(self, client: docker.DockerClient, settings: LabSettings, state_dir: Path) -> None:
        self.client = client
        self.settings = settings
        self.state_dir = state_dir

    def all(self) -> list[Container]:
        try:
            return list(
                self.client.containers.list(
                    all=True, filters={"label": f"{STATE_LABEL}={self.state_dir}"}
                )
            )
        except docker.errors.DockerException as exc:
            raise LabError(f"docker: cannot list lab containers: {exc}") from exc

    def get(self, index: int) -> Container | None:
        name = self.settings.worker_name(index)
        return next((c for c in self.all() if c.name == name), None)

    def start(self, index: int) -> Container:
        """Start worker ``index``: create it, or start it again if it exists but stopped."""
        existing = self.get(index)
        try:
            if existing is not None:
                if existing.status != "running":
                    existing.start()
                return existing
            return self._create(index)
        except docker.errors.APIError as exc:
            raise LabError(
                f"docker: cannot start {self.settings.worker_name(index)}: {exc}"
            ) from exc

    def _create(self, index: int) -> Container:
        image = ensure_image(self.client)
        name = self.settings.worker_name(index)
        port = self.settings.metrics_ports[index - 1]
        probe = (
            f"import urllib.request as u; u.urlopen('http://127.0.0.1:{port}/metrics', timeout=2)"
        )
        labels = {
            "com.docker.compose.project": self.settings.project,
            "com.docker.compose.service": "scraper",
            "com.docker.compose.container-number": str(index),
            "com.docker.compose.oneoff": "False",
            LAB_LABEL: self.settings.project,
            STATE_LABEL: str(self.state_dir),
        }
        try:
            foreign = self.client.containers.get(name)
        except docker.errors.NotFound:
            foreign = None
        if foreign is not None:
            raise LabError(
                f"docker: a container named {name} exists but is not this lab's; "
                "remove it or choose another project"
            )
        container: Container = self.client.containers.run(
            image,
            [sys.executable, "-m", "opslib.lab._worker", "--state-dir", str(self.state_dir),
             "--index", str(index)],
            name=name,
            detach=True,
            network_mode="host",
            labels=labels,
            volumes=python_mounts(*_source_mounts(), self.state_dir),
            environment={"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
                         "LC_ALL": "C.UTF-8", "HOME": "/root"},
            mem_limit="256m",
            restart_policy={"Name": "on-failure", "MaximumRetryCount": 5},
            healthcheck={"test": ["CMD", sys.executable, "-c", probe], "interval": 4 * _NS,
                         "timeout": 3 * _NS, "retries": 3, "start_period": 20 * _NS},
            stop_signal="SIGTERM",
            working_dir="/",
        )  # fmt: skip
        return container

    def stop(self, index: int, timeout: int = 5) -> bool:
        container = self.get(index)
        if container is None or container.status != "running":
            return False
        try:
            container.stop(timeout=timeout)
        except docker.errors.APIError as exc:
            raise LabError(f"docker: cannot stop {container.name}: {exc}") from exc
        return True

    def remove_all(self) -> list[str]:
        removed = []
        for container in self.all():
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                continue
            except docker.errors.APIError as exc:
                raise LabError(f"docker: cannot remove {container.name}: {exc}") from exc
            removed.append(str(container.name))
        return removed


def health(container: Container) -> str:
    """``healthy``, ``starting``, ``unhealthy`` or the container state when it has no health."""
    try:
        container.reload()
    except docker.errors.NotFound:
        return "removed"
    state = container.attrs.get("State", {})
    found = state.get("Health", {}).get("Status")
    return str(found) if found and state.get("Status") == "running" else str(state.get("Status"))


def container_pid(container: Container) -> int | None:
    pid = container.attrs.get("State", {}).get("Pid")
    return int(pid) if pid else None

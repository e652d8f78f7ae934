"""The lab fault ``cpu-hog``: a runaway process in one scraper container burns a whole CPU.

``inject`` runs a busy loop inside the worker's container (``docker exec``, so it is in the
container's cgroup and counted in its CPU, as a stuck parser or a regex gone exponential
would be); the container CPU check of ``emergency.overload`` names that container and the
commands that act (``opslib limits set scraper --cpus ...``, ``opslib scale scraper N``). A CPU
limit under the check's threshold brings the container back to OK while the loop still spins;
``heal`` kills the loop. The loop also ends by itself after :data:`HOG_SECONDS`, so a lab
left broken does not burn a shared machine's CPU for ever. It needs the lab's workers in
containers (the docker runtime, or the scrapers as a swarm service: the task container of
the worker's slot); in the process runtime the container checks have nothing to
look at, and inject says so.
"""

from __future__ import annotations

import sys
from typing import Protocol

import docker
import docker.errors
from docker.models.containers import Container

from opslib.adapters._platform import SWARM_TASK_LABEL
from opslib.errors import LabError
from opslib.lab._containers import LAB_LABEL, docker_client
from opslib.lab._control import FaultRecord
from opslib.lab._settings import LabSettings
from opslib.lab._swarm import swarm_service_name

__all__ = ["HOG_MARKER", "HOG_SECONDS", "heal_cpu_hog", "inject_cpu_hog"]

HOG_SECONDS = 1800
"""How long the busy loop spins at most when nobody heals the fault."""
HOG_MARKER = "opslib-lab-cpu-hog"
"""The argument that marks the loop's process (how ``heal`` finds it in the container)."""
# The loop: one process, one CPU, until killed or HOG_SECONDS have passed.
_LOOP = (
    "import sys, time\n"
    "end = time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end:\n"
    "    pass\n"
)
# Kill every process of the container whose arguments include the marker (not this one).
_KILL = (
    "import os, signal, sys\n"
    "killed = 0\n"
    "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
    "    if int(pid) == os.getpid():\n"
    "        continue\n"
    "    try:\n"
    "        with open(f'/proc/{pid}/cmdline', 'rb') as f:\n"
    "            args = f.read().split(b'\\0')\n"
    "        if sys.argv[1].encode() in args:\n"
    "            os.kill(int(pid), signal.SIGKILL)\n"
    "            killed += 1\n"
    "    except (OSError, ValueError):\n"
    "        pass\n"
    "print(killed)\n"
)


class _Host(Protocol):
    @property
    def settings(self) -> LabSettings: ...


def inject_cpu_hog(host: _Host, target: str | None) -> str:
    """Start the busy loop in the container of scraper ``target`` (a worker name)."""
    assert target is not None
    with docker_client() as client:
        container = _container(client, host.settings, target)
        try:
            container.exec_run(
                [sys.executable, "-c", _LOOP, str(HOG_SECONDS), HOG_MARKER], detach=True
            )
        except docker.errors.APIError as exc:
            raise LabError(f"cpu-hog: cannot start the loop in {target}: {exc}") from exc
    return (
        f"cpu-hog: a busy loop burns one CPU in {target}'s container (for at most"
        f" {HOG_SECONDS // 60} min)"
    )


def heal_cpu_hog(host: _Host, record: FaultRecord) -> str:
    """Kill the busy loop (nothing to do when the container is gone or stopped)."""
    target = record.target or ""
    with docker_client() as client:
        try:
            container = _container(client, host.settings, target)
        except LabError:
            return f"cpu-hog: {target} is gone: no loop left"
        if container.status != "running":
            return f"cpu-hog: {target} is not running: no loop left"
        try:
            code, output = container.exec_run([sys.executable, "-c", _KILL, HOG_MARKER])
        except docker.errors.APIError as exc:
            raise LabError(f"cpu-hog: cannot stop the loop in {target}: {exc}") from exc
    text = output.decode(errors="replace").strip() if isinstance(output, bytes) else ""
    if code != 0:
        last = text.splitlines()[-1:] or [f"exit {code}"]
        raise LabError(f"cpu-hog: stopping the loop in {target} failed: {last[0]}")
    return f"cpu-hog: the busy loop in {target} stopped ({text} killed)"


def _container(client: docker.DockerClient, settings: LabSettings, name: str) -> Container:
    missing = LabError(
        f"cpu-hog: no container {name} of this lab: the fault needs the lab's workers in"
        " containers (a reachable Docker engine when the lab started)"
    )
    try:
        container: Container = client.containers.get(name)
    except docker.errors.NotFound:
        found = _swarm_task(client, settings, name)
        if found is None:
            raise missing from None
        return found
    except docker.errors.APIError as exc:
        raise LabError(f"cpu-hog: docker: {exc}") from exc
    if container.labels.get(LAB_LABEL) != settings.project:
        raise missing
    if container.status != "running":
        # stopped while the swarm service runs the lab's scrapers in its place
        return _swarm_task(client, settings, name) or container
    return container


def _swarm_task(client: docker.DockerClient, settings: LabSettings, name: str) -> Container | None:
    """The running task container of the lab's swarm service whose slot is worker ``name``'s
    index (``<project>_scraper.<slot>.<task id>``), if the scrapers run as a swarm service."""
    index = name.removeprefix(f"{settings.project}-scraper-")
    if index == name or not index.isdigit():
        return None
    task = f"{swarm_service_name(settings)}.{index}."
    try:
        running = client.containers.list(
            filters={"label": [f"{LAB_LABEL}={settings.project}", f"{SWARM_TASK_LABEL}"]}
        )
    except docker.errors.APIError as exc:
        raise LabError(f"cpu-hog: docker: {exc}") from exc
    return next(
        (c for c in running if str(c.labels.get(SWARM_TASK_LABEL, "")).startswith(task)), None
    )

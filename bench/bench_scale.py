"""Benchmark: scaling a service from 2 to 6 replicas and back, ``opslib scale`` against what an
operator would otherwise run, on Docker Compose (one engine) and on Docker Swarm.

Run with ``nox -s bench`` (or ``python bench/bench_scale.py [--runs N]``). Each run, side by
side on the same engine, with the lab's locally imported image (nothing pulled) and replicas
that idle (a shell that exits at SIGTERM at once):

1. Compose: a fresh project of 2 replicas of ``worker``; wall time of ``ComposeScaling.scale``
   2 -> 6 and 6 -> 2, side by side with ``docker compose up -d --no-recreate --scale`` (the
   plugin, else the ``docker-compose`` binary, v1 as Debian packages it) on the same project:
   each side's project is made by that compose CLI from the same compose file (written here:
   the image, the idle command, host network, the interpreter's mounts). Without any compose
   CLI (said so), the project is made with the compose labels by hand and the other side is
   the Docker SDK calls an operator's script makes (``containers.run`` of each new replica,
   then ``stop`` and ``remove`` of each extra one, one after the other). Target: opslib <=
   1.0x.
2. Swarm: a one-node swarm (initialised here when none is active, left at the end only then),
   a service of 2 replicas on the host network; ``SwarmScaling.scale`` 2 -> 6 and 6 -> 2 (each
   until the tasks run or are gone) against ``docker service scale`` (which waits for the same).

Every container and service it makes is removed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.types import EndpointSpec, Mount, ServiceMode

from opslib.adapters import ComposeScaling, Platform, SwarmScaling
from opslib.adapters._platform import NUMBER_LABEL, PROJECT_LABEL, SERVICE_LABEL
from opslib.lab._image import ensure_image, python_mounts

SERVICE = "worker"
LOW, HIGH = 2, 6
# A replica that idles and exits at SIGTERM from its first millisecond (a shell as PID 1 with a
# trap), so both sides stop it at once rather than after the stop timeout.
_IDLE = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


def _timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def _compose_binary() -> list[str] | None:
    """``docker compose`` or ``docker-compose``, when one answers here."""
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        probe = subprocess.run([*command, "version"], capture_output=True, timeout=20, check=False)
        if probe.returncode == 0:
            return command
    return None


# 1. compose


def _run_replica(client: docker.DockerClient, image: str, project: str, number: int) -> None:
    client.containers.run(
        image,
        _IDLE,
        name=f"{project}-{SERVICE}-{number}",
        labels={PROJECT_LABEL: project, SERVICE_LABEL: SERVICE, NUMBER_LABEL: str(number)},
        environment={"SCRAPER_ROLE": "worker"},
        volumes=python_mounts(),
        network_mode="host",
        detach=True,
    )


def _project(client: docker.DockerClient, image: str, compose: list[str] | None) -> str:
    """A fresh project of LOW replicas: made by ``compose`` (a CLI with ``-f FILE``) when
    given, else by hand with the compose labels."""
    project = f"opslibbench{uuid.uuid4().hex[:8]}"
    if compose is not None:
        _compose_scale(compose, project, LOW)
        return project
    for number in range(1, LOW + 1):
        _run_replica(client, image, project, number)
    return project


def _compose_file(directory: Path, image: str) -> Path:
    """The compose file of the project: JSON, which every YAML reader takes."""
    service = {
        "image": image,
        "command": _IDLE,
        "network_mode": "host",
        "environment": {"SCRAPER_ROLE": "worker"},
        "volumes": [f"{src}:{m['bind']}:ro" for src, m in python_mounts().items()],
        "stop_grace_period": "10s",
    }
    path = directory / "docker-compose.yml"
    path.write_text(json.dumps({"version": "2.4", "services": {SERVICE: service}}, indent=2))
    return path


def _compose_scale(compose: list[str], project: str, replicas: int) -> None:
    subprocess.run(
        [*compose, "-p", project, "up", "-d", "--no-recreate", "--scale", f"{SERVICE}={replicas}"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300,
    )  # fmt: skip


def _remove(client: docker.DockerClient, project: str) -> None:
    for container in client.containers.list(all=True, filters={"name": project}):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


def _running(client: docker.DockerClient, project: str) -> int:
    return len(client.containers.list(filters={"label": f"{PROJECT_LABEL}={project}"}))


def _script_up(client: docker.DockerClient, image: str, project: str) -> None:
    for number in range(LOW + 1, HIGH + 1):
        _run_replica(client, image, project, number)


def _script_down(client: docker.DockerClient, project: str) -> None:
    containers = client.containers.list(filters={"label": f"{PROJECT_LABEL}={project}"})
    containers.sort(key=lambda c: int(c.labels[NUMBER_LABEL]), reverse=True)
    for container in containers[: HIGH - LOW]:
        container.stop(timeout=10)
        container.remove()


def bench_compose(client: docker.DockerClient, image: str, runs: int) -> None:
    binary = _compose_binary()
    with tempfile.TemporaryDirectory(prefix="opslib-bench-scale-") as directory:
        compose = (
            None if binary is None else [*binary, "-f", str(_compose_file(Path(directory), image))]
        )
        _bench_compose(client, image, runs, binary, compose)


def _bench_compose(
    client: docker.DockerClient,
    image: str,
    runs: int,
    binary: list[str] | None,
    compose: list[str] | None,
) -> None:
    other = f"{' '.join(binary)} up --scale" if binary else "SDK script"
    print(f"1. compose: {SERVICE} {LOW} -> {HIGH} -> {LOW} replicas, {runs} runs")
    if compose is None:
        print(
            "   docker compose (plugin) and docker-compose are not installed here: compared with"
            " the Docker SDK calls an operator's script makes (run each, stop + remove each)"
        )
    else:
        version = subprocess.run([*compose, "version", "--short"], capture_output=True,
                                 text=True, timeout=20, check=False).stdout.strip()  # fmt: skip
        print(f"   {' '.join(binary or [])} {version}: each side on a project it made from the"
              " same compose file")  # fmt: skip
    figures: dict[str, list[float]] = {"opslib up": [], "opslib down": [],
                                       f"{other} up": [], f"{other} down": []}  # fmt: skip
    for run in range(runs):
        order = ("opslib", "other") if run % 2 == 0 else ("other", "opslib")
        for who in order:
            project = _project(client, image, compose)
            try:
                if who == "opslib":
                    with Platform(project, timeout=30) as platform:
                        scaling = ComposeScaling(platform, stop_timeout=10)
                        up = _timed(partial(scaling.scale, SERVICE, HIGH))
                        assert _running(client, project) == HIGH
                        down = _timed(partial(scaling.scale, SERVICE, LOW))
                elif compose is not None:
                    up = _timed(partial(_compose_scale, compose, project, HIGH))
                    assert _running(client, project) == HIGH
                    down = _timed(partial(_compose_scale, compose, project, LOW))
                else:
                    up = _timed(partial(_script_up, client, image, project))
                    assert _running(client, project) == HIGH
                    down = _timed(partial(_script_down, client, project))
                assert _running(client, project) == LOW
            finally:
                _remove(client, project)
            name = "opslib" if who == "opslib" else other
            figures[f"{name} up"].append(up)
            figures[f"{name} down"].append(down)
    _print(figures, "opslib", other)


# 2. swarm


def _service(client: docker.DockerClient, image: str) -> tuple[str, str]:
    project = f"opslibbench{uuid.uuid4().hex[:8]}"
    name = f"{project}_{SERVICE}"
    mounts = [Mount(m["bind"], src, type="bind", read_only=True)
              for src, m in python_mounts().items()]  # fmt: skip
    create: Any = client.services.create
    create(
        image,
        _IDLE,
        name=name,
        mounts=mounts,
        mode=ServiceMode("replicated", LOW),
        networks=["host"],
        endpoint_spec=EndpointSpec(mode="dnsrr"),
        stop_grace_period=10_000_000_000,
    )
    return project, name


def _wait_running(client: docker.DockerClient, name: str, count: int) -> None:
    deadline = time.monotonic() + 120
    get: Any = client.services.get
    while time.monotonic() < deadline:
        tasks = get(name).tasks(filters={"desired-state": "running"})
        if sum(t["Status"]["State"] == "running" for t in tasks) == count:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name}: {count} tasks not running after 120 s")


def _cli_scale(name: str, replicas: int) -> None:
    command = ["docker", "service", "scale", "--detach=false", f"{name}={replicas}"]
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True, timeout=300)


def _settle(found: Any, quiet_seconds: float = 2.0) -> None:
    """Wait until the service's tasks stay the same for ``quiet_seconds``: Docker 20.10's swarm
    manager panics (swarmkit's SetServiceTasksRemove, a nil task) when a service is removed
    while the task reaper deletes its old tasks, and the whole engine goes down with it."""
    deadline, last, since = time.monotonic() + 60, None, time.monotonic()
    while time.monotonic() < deadline:
        now = sorted((t["ID"], t["Status"]["State"], t["DesiredState"]) for t in found.tasks())
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            return
        time.sleep(0.25)


def bench_swarm(client: docker.DockerClient, image: str, runs: int) -> None:
    print(f"2. swarm: a one-node swarm, service {SERVICE} {LOW} -> {HIGH} -> {LOW}, {runs} runs")
    figures: dict[str, list[float]] = {"opslib up": [], "opslib down": [],
                                       "docker service scale up": [],
                                       "docker service scale down": []}  # fmt: skip
    get: Any = client.services.get
    for run in range(runs):
        order = ("opslib", "cli") if run % 2 == 0 else ("cli", "opslib")
        for who in order:
            project, name = _service(client, image)
            try:
                _wait_running(client, name, LOW)
                if who == "opslib":
                    with Platform(project, timeout=30) as platform:
                        scaling = SwarmScaling(platform, converge_timeout=120, poll_seconds=0.1)
                        up = _timed(partial(scaling.scale, SERVICE, HIGH))
                        down = _timed(partial(scaling.scale, SERVICE, LOW))
                else:
                    up = _timed(partial(_cli_scale, name, HIGH))
                    down = _timed(partial(_cli_scale, name, LOW))
                _wait_running(client, name, LOW)
            finally:
                with contextlib.suppress(docker.errors.NotFound):
                    found = get(name)
                    _settle(found)
                    found.remove()
            key = "opslib" if who == "opslib" else "docker service scale"
            figures[f"{key} up"].append(up)
            figures[f"{key} down"].append(down)
    _print(figures, "opslib", "docker service scale")


def _print(figures: dict[str, list[float]], ours: str, theirs: str) -> None:
    for phase in ("up", "down"):
        mine, other = figures[f"{ours} {phase}"], figures[f"{theirs} {phase}"]
        ratio = statistics.median(mine) / statistics.median(other)
        print(
            f"   {phase:<4} {ours}: {_range(mine)}   {theirs}: {_range(other)}   "
            f"ratio (medians) {ratio:.2f}x"
        )


def _range(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f} s (median {statistics.median(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each side")
    parser.add_argument("--no-swarm", action="store_true", help="compose only")
    args, _other = parser.parse_known_args()  # nox passes the same arguments to every bench
    began = time.perf_counter()
    client = docker.from_env(timeout=60)
    image = ensure_image(client)
    bench_compose(client, image, args.runs)
    if not args.no_swarm:
        initialised = client.info()["Swarm"]["LocalNodeState"] != "active"
        if initialised:
            client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
        try:
            bench_swarm(client, image, args.runs)
        finally:
            if initialised:
                client.swarm.leave(force=True)
    client.close()
    print(f"bench_scale: {time.perf_counter() - began:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

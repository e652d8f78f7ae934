"""Benchmark: ``Platform.usage()`` against ``docker stats --no-stream`` on the same containers.

Usage::

    /work/.venv/bin/python bench/bench_stats.py [--containers 5] [--rounds 5] [--sample-seconds 0.5]

Starts N idle containers labelled as a throwaway compose project (lab image, host networking,
nothing pulled) and times, alternating, ``--rounds`` times each: ``docker stats --no-stream``,
``usage()`` through the Engine API, ``usage()`` from the cgroup files (both given the container
list), and ``usage()`` from the cgroup files listing the project's containers itself. Prints
the medians side by side with their ratio to ``docker stats``, and removes the containers again.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import docker

import opslib
from opslib.adapters import Platform
from opslib.lab._image import ensure_image, python_mounts

_IDLE = "import time\ntime.sleep(3600)"
_SOURCE = Path(opslib.__file__).resolve().parents[1]


def _start(client: docker.DockerClient, project: str, count: int) -> list[str]:
    image = ensure_image(client)
    names = []
    for number in range(1, count + 1):
        name = f"{project}-idle-{number}"
        client.containers.run(
            image,
            [sys.executable, "-c", _IDLE],
            name=name,
            detach=True,
            network_mode="host",
            volumes=python_mounts(_SOURCE),
            labels={
                "com.docker.compose.project": project,
                "com.docker.compose.service": "idle",
                "com.docker.compose.container-number": str(number),
            },
        )
        names.append(name)
    return names


def _remove(client: docker.DockerClient, project: str) -> None:
    for container in client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={project}"}
    ):
        container.remove(force=True)


def _list(seconds: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sample-seconds", type=float, default=0.5)
    args = parser.parse_args(argv)

    client = docker.from_env(timeout=30)
    project = f"opslib-bench-{uuid.uuid4().hex[:8]}"
    try:
        names = _start(client, project, args.containers)
        with Platform(project) as platform:
            running = [c for c in platform.containers() if c.running]
            if len(running) != args.containers:
                print(f"only {len(running)} of {args.containers} containers are running")
                return 1
            seconds = args.sample_seconds

            def cli() -> int:
                subprocess.run(
                    ["docker", "stats", "--no-stream", *names], capture_output=True, check=True
                )
                return len(names)

            ways: dict[str, Callable[[], int]] = {
                "docker stats --no-stream": cli,
                "usage(containers, source='engine')": lambda: len(
                    platform.usage(running, sample_seconds=seconds, source="engine")
                ),
                "usage(containers, source='cgroup')": lambda: len(
                    platform.usage(running, sample_seconds=seconds, source="cgroup")
                ),
                "usage() listing them, auto (cgroup)": lambda: len(
                    platform.usage(sample_seconds=seconds)
                ),
            }
            timings: dict[str, list[float]] = {way: [] for way in ways}
            for _ in range(args.rounds):
                for way, call in ways.items():
                    started = time.perf_counter()
                    measured = call()
                    timings[way].append(time.perf_counter() - started)
                    if measured != args.containers:
                        print(f"{way}: measured {measured} of {args.containers} containers")
                        return 1
        medians = {way: statistics.median(seconds) for way, seconds in timings.items()}
        engine = client.version()["Version"]
        print(
            f"engine {engine}, {args.containers} containers, {args.rounds} rounds each, "
            f"sample_seconds {args.sample_seconds:g}"
        )
        cli_median = medians["docker stats --no-stream"]
        for way, median in medians.items():
            ratio = median / cli_median
            print(f"{way:<38} median {median:.3f} s  {ratio:.2f}x  ({_list(timings[way])})")
    finally:
        _remove(client, project)
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: ``Platform.usage()`` against ``docker stats --no-stream`` on the same containers.

Usage::

    /work/.venv/bin/python bench/bench_stats.py [--containers 5] [--rounds 5] [--sample-seconds 0.5]

Starts N idle containers labelled as a throwaway compose project (lab image, host networking,
nothing pulled), times both ways of reading their CPU and memory, alternating, ``--rounds``
times each, prints both medians and the ratio, and removes the containers again.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
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
            cli, ours = [], []
            for _ in range(args.rounds):
                started = time.perf_counter()
                subprocess.run(
                    ["docker", "stats", "--no-stream", *names], capture_output=True, check=True
                )
                cli.append(time.perf_counter() - started)
                started = time.perf_counter()
                usage = platform.usage(running, sample_seconds=args.sample_seconds)
                ours.append(time.perf_counter() - started)
                if len(usage) != args.containers:
                    print(f"usage() measured {len(usage)} of {args.containers} containers")
                    return 1
        cli_median, ours_median = statistics.median(cli), statistics.median(ours)
        engine = client.version()["Version"]
        print(f"engine {engine}, {args.containers} containers, {args.rounds} rounds each")
        print(f"docker stats --no-stream  median {cli_median:.3f} s  ({_list(cli)})")
        print(f"Platform.usage()          median {ours_median:.3f} s  ({_list(ours)})")
        print(f"ratio usage/cli           {ours_median / cli_median:.2f}x")
    finally:
        _remove(client, project)
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

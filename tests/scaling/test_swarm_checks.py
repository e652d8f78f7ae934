"""The overload container check on a real one-node swarm: the task containers of the swarm
service ``<project>_worker`` (no compose labels) are the project's service ``worker``, their
memory is judged, the check names ``opslib limits set worker --memory ...`` with room, and that
command and ``opslib scale worker 3`` (backend swarm) act on the service the check sees."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from opslib import overload
from opslib.adapters import ContainerInfo, Platform, SwarmScaling
from opslib.cli import main
from opslib.config import Settings
from opslib.results import CheckResult, Severity
from tests.dbkit import TestDatabase
from tests.scaling.conftest import SERVICE, SwarmService, make_service, remove_service
from tests.support import poll_until

HOLD_MB = 40


@pytest.fixture
def service(swarm: docker.DockerClient) -> Iterator[SwarmService]:
    made = make_service(swarm, replicas=2, hold_mb=HOLD_MB)
    try:
        yield made
    finally:
        remove_service(made)


def _workers(platform: Platform) -> list[ContainerInfo]:
    return [c for c in platform.containers() if c.service == SERVICE and c.running]


def _held(platform: Platform, count: int) -> bool:
    usage = platform.usage(_workers(platform), sample_seconds=0.1)
    return len(usage) == count and all(u.memory_bytes >= HOLD_MB << 20 for u in usage)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code = main(["--json", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_container_check_judges_and_acts_on_a_swarm_service(
    env: TestDatabase,
    service: SwarmService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPSLIB_COMPOSE_PROJECT", service.project)
    monkeypatch.setenv("OPSLIB_SCALE__BACKEND", "swarm")
    # The memory threshold low enough that a replica at 85 % of its limit is sure to be over
    # it, whatever it holds after a restart.
    settings = Settings.model_validate(
        {"compose_project": service.project,
         "thresholds": {"health.memory_percent": {"warn": 50, "crit": 99}}}
    )  # fmt: skip
    with service.platform() as platform:

        def load() -> CheckResult:
            return overload.container_load(platform, settings)

        assert poll_until(lambda: _held(platform, 2), bool, 60)
        workers = _workers(platform)
        assert {c.number for c in workers} == {1, 2}
        assert all(c.name.startswith(f"{service.name}.") for c in workers)
        # A compose scale leaves the swarm's containers alone: it sees no replica of worker.
        assert platform.containers(SERVICE, swarm=False) == []

        used = max(u.memory_bytes for u in platform.usage(workers, sample_seconds=0.1))
        tight = math.ceil(used / 0.85 / 2**20)  # MiB: the replica at about 85 % of it
        _run(capsys, "limits", "set", SERVICE, "--memory", f"{tight}m")
        assert poll_until(lambda: _held(platform, 2), bool, 60)
        red = poll_until(load, lambda r: r.severity is not Severity.OK, 30)
        assert red.severity is Severity.WARNING, red.message()
        assert f"memory_percent[{service.name}." in red.message()
        assert f"{SERVICE} ({service.name}." in red.remediation
        assert f"`opslib limits set {SERVICE} --memory " in red.remediation
        advised = red.remediation.split(f"`opslib limits set {SERVICE} --memory ")[1]
        roomy = advised.split("`")[0]
        assert int(roomy.removesuffix("m")) > tight

        done = _run(capsys, "limits", "set", SERVICE, "--memory", roomy)
        assert done["backend"] == "swarm"
        assert poll_until(lambda: _held(platform, 2), bool, 60)
        green = poll_until(load, lambda r: r.severity is Severity.OK, 30)
        assert green.severity is Severity.OK, green.message()

        scaled = _run(capsys, "scale", SERVICE, "3")
        assert (scaled["backend"], scaled["after"]) == ("swarm", 3)
        assert SwarmScaling(platform).replicas(SERVICE) == 3
        assert poll_until(lambda: _held(platform, 3), bool, 60)
        three = load()
        measured = {m.subject for m in three.measurements if m.name == "cpu_percent"}
        assert len(measured) == 3
        assert {c.number for c in _workers(platform)} == {1, 2, 3}
        assert three.severity is Severity.OK, three.message()

"""``ComposeScaling`` on real containers: numbered like compose, copied from a replica,
the highest stopped first, rolled back when a start fails midway, limits kept by new replicas."""

from __future__ import annotations

import docker
import pytest

from opslib.adapters import ComposeScaling, ResourceLimits, ScaleFailed
from opslib.errors import InputError
from opslib.scaling import apply_scale, plan_limits, plan_scale
from tests.scaling.conftest import SERVICE, ComposeProject, make_project, remove_project
from tests.support import poll_until


def test_scale_up_and_down(compose: ComposeProject) -> None:
    with compose.platform() as platform:
        scaling = ComposeScaling(platform, stop_timeout=5)
        plan = plan_scale(scaling, SERVICE, 4, max_replicas=6)
        assert (plan.current, plan.wanted) == (2, 4)
        outcome = apply_scale(scaling, plan)
        names = [f"{compose.project}-{SERVICE}-{n}" for n in (1, 2, 3, 4)]
        assert outcome.started == tuple(names[2:])
        assert compose.running_names() == names
        first, *_, last = compose.containers()
        assert last.labels == {**first.labels, "com.docker.compose.container-number": "4"}
        for key in ("Image", "Cmd", "Env"):
            assert last.attrs["Config"][key] == first.attrs["Config"][key]
        assert last.attrs["HostConfig"]["NetworkMode"] == "host"
        assert last.attrs["HostConfig"]["Binds"] == first.attrs["HostConfig"]["Binds"]

        down = apply_scale(scaling, plan_scale(scaling, SERVICE, 1, max_replicas=6))
        assert set(down.stopped) == set(names[1:])
        assert [c.name for c in compose.containers()] == names[:1]  # removed, as compose does
        apply_scale(scaling, plan_scale(scaling, SERVICE, 0, max_replicas=6))
        assert compose.running_names() == []
        assert [c.name for c in compose.containers()] == names[:1]  # kept stopped: the template
        apply_scale(scaling, plan_scale(scaling, SERVICE, 2, max_replicas=6))
        assert compose.running_names() == names[:2]


def test_a_docker_compose_v1_project_keeps_its_names(docker_client: docker.DockerClient) -> None:
    made = make_project(docker_client, separator="_")
    try:
        with made.platform() as platform:
            scaling = ComposeScaling(platform, stop_timeout=5)
            up = apply_scale(scaling, plan_scale(scaling, SERVICE, 4, max_replicas=6))
            names = [f"{made.project}_{SERVICE}_{n}" for n in (1, 2, 3, 4)]
            assert up.started == tuple(names[2:])
            assert made.running_names() == names
            down = apply_scale(scaling, plan_scale(scaling, SERVICE, 1, max_replicas=6))
            assert set(down.stopped) == set(names[1:])
            assert made.running_names() == names[:1]
    finally:
        remove_project(made)


def test_refused_out_of_range(compose: ComposeProject) -> None:
    with compose.platform() as platform:
        scaling = ComposeScaling(platform)
        with pytest.raises(InputError, match="cannot be negative"):
            plan_scale(scaling, SERVICE, -1, max_replicas=6)
        with pytest.raises(InputError, match=r"above the ceiling scale\.max_replicas = 6"):
            plan_scale(scaling, SERVICE, 7, max_replicas=6)
    assert len(compose.running_names()) == 2


def test_failure_midway_rolls_back(compose: ComposeProject) -> None:
    # A container that is not the project's holds the name replica 4 would take.
    squatter = compose.client.containers.create(
        "opslib-lab-python:1", ["true"], name=f"{compose.project}-{SERVICE}-4"
    )
    try:
        with compose.platform() as platform:
            scaling = ComposeScaling(platform, stop_timeout=5)
            with pytest.raises(ScaleFailed) as failed:
                scaling.scale(SERVICE, 5)
        message = str(failed.value)
        assert f"after starting {compose.project}-{SERVICE}-3" in message
        assert "Conflict" in message
        assert "rolled back:" in message
        assert "nothing" not in message.split("rolled back:")[1]
        assert len(compose.running_names()) == 2
        assert {
            c.labels.get("com.docker.compose.container-number") for c in compose.containers()
        } == {"1", "2"}
    finally:
        squatter.remove(force=True)


def test_limits_applied_and_inherited(docker_client: docker.DockerClient) -> None:
    project = make_project(docker_client, replicas=1, hold_mb=40)
    try:
        with project.platform() as platform:
            scaling = ComposeScaling(platform, stop_timeout=5)
            held = poll_until(
                lambda: scaling.memory_in_use(SERVICE),
                lambda used: bool(used) and min(used.values()) > 40 << 20,
                deadline=30,
                interval=0.5,
            )
            assert min(held.values()) > 40 << 20
            with pytest.raises(InputError, match=r"below what .* uses now"):
                plan_limits(scaling, SERVICE, cpus=None, memory=20 << 20)
            plan = plan_limits(scaling, SERVICE, cpus=1.5, memory=256 << 20)
            assert plan.current == ResourceLimits()
            assert scaling.set_limits(SERVICE, plan.wanted) == [f"{project.project}-{SERVICE}-1"]
            scaling.scale(SERVICE, 2)
            assert scaling.limits(SERVICE) == ResourceLimits(1.5, 256 << 20)
        for container in project.containers():
            host = container.attrs["HostConfig"]
            assert (host["NanoCpus"], host["Memory"]) == (1_500_000_000, 256 << 20)
    finally:
        remove_project(project)

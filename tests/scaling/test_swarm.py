"""``SwarmScaling`` on a real one-node swarm: replicas scaled and converged, limits in the
service spec, and a scale that cannot converge (no node can run the tasks) reported within the
timeout and rolled back, not hung."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from opslib.adapters import ResourceLimits, ScaleFailed, SwarmScaling
from opslib.errors import InputError
from opslib.scaling import apply_scale, plan_limits, plan_scale
from tests.scaling.conftest import (
    SERVICE,
    SwarmService,
    make_service,
    remove_service,
    service_spec,
)
from tests.support import poll_until


def running_task_ids(service: SwarmService) -> set[str]:
    get: Any = service.client.services.get
    tasks = get(service.name).tasks(filters={"desired-state": "running"})
    return {str(t["ID"]) for t in tasks if t["Status"]["State"] == "running"}


@pytest.fixture
def service(swarm: docker.DockerClient) -> Iterator[SwarmService]:
    made = make_service(swarm, replicas=1, hold_mb=40)
    try:
        yield made
    finally:
        remove_service(made)


def test_scale_and_limits(service: SwarmService) -> None:
    with service.platform() as platform:
        scaling = SwarmScaling(platform, converge_timeout=60)
        deadline = time.monotonic() + 60
        while scaling.replicas(SERVICE) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        before = running_task_ids(service)
        outcome = apply_scale(scaling, plan_scale(scaling, SERVICE, 3, max_replicas=6))
        assert (outcome.before, outcome.after) == (1, 3)
        assert scaling.replicas(SERVICE) == 3
        assert before < running_task_ids(service)  # the running task was kept, not replaced
        # The new replicas hold their 40 MB a moment after they run.
        in_use = poll_until(
            lambda: scaling.memory_in_use(SERVICE),
            lambda used: len(used) == 3 and min(used.values()) > 40 << 20,
            deadline=30,
            interval=0.5,
        )
        assert len(in_use) == 3
        assert min(in_use.values()) > 40 << 20
        with pytest.raises(InputError, match="below what"):
            plan_limits(scaling, SERVICE, cpus=None, memory=20 << 20)
        plan = plan_limits(scaling, SERVICE, cpus=0.5, memory=128 << 20)
        assert scaling.set_limits(SERVICE, plan.wanted) == [service.name]
        assert scaling.limits(SERVICE) == ResourceLimits(0.5, 128 << 20)
        down = apply_scale(scaling, plan_scale(scaling, SERVICE, 1, max_replicas=6))
        assert (down.before, down.after) == (3, 1)
    spec = service_spec(service.client, service.name)
    assert spec["Mode"]["Replicated"]["Replicas"] == 1
    assert spec["TaskTemplate"]["Resources"]["Limits"] == {
        "NanoCPUs": 500_000_000,
        "MemoryBytes": 128 << 20,
    }


def test_no_node_for_the_tasks_is_reported(swarm: docker.DockerClient) -> None:
    # No node carries this label: the new tasks stay pending, as when their node is lost.
    made = make_service(swarm, replicas=0, constraints=["node.labels.opslib_absent==1"])
    try:
        with made.platform() as platform:
            scaling = SwarmScaling(platform, converge_timeout=3, poll_seconds=0.2)
            started = time.monotonic()
            with pytest.raises(ScaleFailed) as failed:
                scaling.scale(SERVICE, 2)
            assert time.monotonic() - started < 15
        message = str(failed.value)
        assert "0 of 2 tasks" in message
        assert "pending" in message
        assert f"rolled back: {made.name} replicas back to 0" in message
        spec = service_spec(swarm, made.name)
        assert spec["Mode"]["Replicated"]["Replicas"] == 0
    finally:
        remove_service(made)

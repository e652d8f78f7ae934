"""The platform adapter against real containers of a unique test compose project."""

from __future__ import annotations

import gc
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import docker
import pytest
from docker.utils import kwargs_from_env

from opslib.adapters import ContainerInfo, Platform
from opslib.errors import DependencyError, UnreachableError
from opslib.lab._image import IMAGE
from tests.adapters.conftest import Containers, ScriptedHTTP
from tests.late_listener import late_listener
from tests.support import free_port, wait_until

MIB = 1024 * 1024
_IDLE = "import time\ntime.sleep(3600)"
_HOLD_24_MIB = "import time\nballast = b'x' * (24 << 20)\ntime.sleep(3600)"
_BUSY = "while True:\n    pass"
_FLAP = "print('flap')\nraise SystemExit(1)"
_TALK = (
    "import os, sys, time\n"
    "print('early')\n"
    "print('oops', file=sys.stderr)\n"
    "while not os.path.exists('/signal/go'):\n"
    "    time.sleep(0.05)\n"
    "print('late')\n"
    "time.sleep(3600)"
)


@dataclass(frozen=True)
class Stack:
    project: str
    started: datetime  # before any container was created
    names: dict[str, str]  # service -> name of its first container


@pytest.fixture(scope="module")
def stack(containers: Containers) -> Stack:
    started = datetime.now(UTC)
    names = {
        "web": containers.run("web", _IDLE, healthcheck=["/usr/bin/true"]),
        "web2": containers.run(
            "web", _HOLD_24_MIB, number=2, healthcheck=["/usr/bin/true"], mem_limit="64m"
        ),
        "sick": containers.run("sick", _IDLE, healthcheck=["/usr/bin/false"]),
        "done": containers.run("done", "raise SystemExit(3)"),
        "flappy": containers.run(
            "flappy", _FLAP, restart_policy={"Name": "on-failure", "MaximumRetryCount": 2}
        ),
    }
    with Platform(containers.project) as platform:

        def settled() -> bool:
            found = {c.name: c for c in platform.containers()}
            return (
                found[names["web"]].health == "healthy"
                and found[names["web2"]].health == "healthy"
                and found[names["sick"]].health == "unhealthy"
                and found[names["done"]].state == "exited"
                and found[names["flappy"]].state == "exited"
                and found[names["flappy"]].restart_count == 2
            )

        wait_until(settled, 30, "the test containers to settle")
    return Stack(containers.project, started, names)


@pytest.fixture
def platform(stack: Stack) -> Iterator[Platform]:
    with Platform(stack.project, timeout=10) as client:
        yield client


def test_probe_returns_the_engine_version(platform: Platform) -> None:
    assert platform.probe()[0].isdigit()


def test_containers_in_every_state_sorted_by_service_and_number(
    platform: Platform, stack: Stack
) -> None:
    found = platform.containers()
    assert [(c.service, c.number) for c in found] == [
        ("done", 1),
        ("flappy", 1),
        ("sick", 1),
        ("web", 1),
        ("web", 2),
    ]
    by_name = {c.name: c for c in found}
    web, done = by_name[stack.names["web"]], by_name[stack.names["done"]]
    assert web.running
    assert web.state == "running"
    assert web.exit_code is None
    assert web.image == IMAGE
    assert web.started_at is not None
    assert stack.started.timestamp() - 1 < web.started_at.timestamp()
    assert web.started_at.timestamp() < time.time() + 1
    assert not done.running
    assert done.state == "exited"
    assert done.exit_code == 3
    assert done.health is None
    assert (done.restart_policy, by_name[stack.names["flappy"]].restart_policy) == (
        "no",
        "on-failure",
    )


def test_health_states(platform: Platform, stack: Stack) -> None:
    health = {c.name: c.health for c in platform.containers()}
    assert health[stack.names["web"]] == "healthy"
    assert health[stack.names["sick"]] == "unhealthy"


def test_containers_of_one_service_and_services(platform: Platform, stack: Stack) -> None:
    assert [c.number for c in platform.containers("web")] == [1, 2]
    assert platform.containers("no-such-service") == []
    services = platform.services()
    assert sorted(services) == ["done", "flappy", "sick", "web"]
    assert [c.name for c in services["web"]] == [stack.names["web"], stack.names["web2"]]


def test_unknown_project_has_no_containers(stack: Stack) -> None:
    with Platform(f"{stack.project}-nothing") as platform:
        assert platform.containers() == []
        assert platform.usage() == []


def test_restarts_are_counted_from_die_events(platform: Platform, stack: Stack) -> None:
    [flappy] = platform.containers("flappy")
    assert flappy.restart_count == 2
    assert flappy.exit_code == 1
    ids = {c.name: c.id for c in platform.containers()}
    deaths = platform.restarts_since(stack.started)
    assert deaths[ids[stack.names["flappy"]]] == 3  # the first run and two restarts
    assert deaths[ids[stack.names["done"]]] == 1
    steady = {stack.names["web"], stack.names["web2"], stack.names["sick"]}
    assert not {ids[n] for n in steady} & set(deaths)
    assert platform.restarts_since(datetime.now(UTC)) == {}


def test_usage_tells_busy_from_idle_and_measures_memory_against_the_limit(
    platform: Platform, stack: Stack, containers: Containers
) -> None:
    busy_name = containers.run("busy", _BUSY, nano_cpus=1_000_000_000)
    try:
        wait_until(
            lambda: any(c.running for c in platform.containers("busy")), 10, "the busy container"
        )
        chosen = [c for c in platform.containers() if c.running]
        started = time.monotonic()
        usage = {u.name: u for u in platform.usage(chosen, sample_seconds=0.5, source="engine")}
        elapsed = time.monotonic() - started
    finally:
        containers.remove(busy_name)
    assert set(usage) == {stack.names["web"], stack.names["web2"], stack.names["sick"], busy_name}
    busy, idle, held = usage[busy_name], usage[stack.names["web"]], usage[stack.names["web2"]]
    assert busy.service == "busy"
    assert busy.cpu_percent > 20, busy  # a full CPU when the machine is quiet
    assert idle.cpu_percent < 10, idle
    assert busy.cpu_percent > 3 * idle.cpu_percent
    assert held.memory_limit_bytes == 64 * MIB
    assert 24 * MIB < held.memory_bytes < 64 * MIB
    assert 37 < held.memory_percent < 100
    assert idle.memory_limit_bytes > 64 * MIB  # no limit: the engine reports host memory
    assert idle.memory_bytes < held.memory_bytes
    # The engine path is concurrent: one sampling interval for all of them (test_cgroup.py
    # tests the cgroup path). This engine (20.10) answers one-shot stats at its 1 s collection
    # cycle, so the call takes 1 to 2 s here; one container after another would take about two
    # cycles per container (7 s or more for these four).
    assert 0.5 <= elapsed < 3.5, f"usage() of {len(chosen)} containers took {elapsed:.2f} s"


def test_usage_skips_stopped_and_vanished_containers(
    platform: Platform, stack: Stack, containers: Containers
) -> None:
    name = containers.run("ghost", _IDLE)
    [ghost] = platform.containers("ghost")
    containers.remove(name)
    [done] = platform.containers("done")
    [web] = [c for c in platform.containers("web") if c.number == 1]
    usage = platform.usage([ghost, done, web], sample_seconds=0.1)
    assert [u.name for u in usage] == [stack.names["web"]]
    assert isinstance(ghost, ContainerInfo)
    assert ghost.running


def test_logs_since_a_time(platform: Platform, containers: Containers, tmp_path: Path) -> None:
    signal = tmp_path / "signal"
    signal.mkdir()
    name = containers.run("talker", _TALK, mounts={str(signal): {"bind": "/signal", "mode": "rw"}})
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    wait_until(lambda: len(platform.logs("talker", epoch)) == 2, 10, "the first two log lines")
    middle = datetime.now(UTC)
    (signal / "go").touch()
    wait_until(lambda: len(platform.logs("talker", epoch)) == 3, 10, "the last log line")
    everything = platform.logs("talker", epoch)
    assert sorted(line.text for line in everything[:2]) == ["early", "oops"]
    assert everything[2].text == "late"
    assert {line.container for line in everything} == {name}
    assert all(line.at is not None and line.at.tzinfo is not None for line in everything)
    [late] = platform.logs("talker", middle)
    assert late.text == "late"
    assert late.at is not None
    assert late.at >= middle
    assert [line.text for line in platform.logs("talker", epoch, tail=1)] == ["late"]
    assert platform.logs("no-such-service", epoch) == []


def test_closed_engine_port_is_unreachable() -> None:
    started = time.monotonic()
    host = f"tcp://127.0.0.1:{free_port()}"
    with Platform("pricewatch", docker_host=host, timeout=2) as platform:
        with pytest.raises(UnreachableError, match=rf"^docker: cannot reach {host}: .*refused"):
            platform.probe()
        with pytest.raises(UnreachableError):
            platform.containers()
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("stale", "reason"),
    [
        (False, r"\[Errno 2\] No such file or directory"),
        (True, r"\[Errno 111\] Connection refused"),
    ],
    ids=["missing", "nobody-listening"],
)
def test_dead_unix_socket_is_unreachable_and_leaves_no_socket_open(
    tmp_path: Path, stale: bool, reason: str
) -> None:
    path = tmp_path / "docker.sock"
    if stale:  # a socket file left by an engine that is gone
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as gone:
            gone.bind(str(path))
    host = f"unix://{path}"
    platform = Platform("pricewatch", docker_host=host, timeout=2)
    with platform, pytest.raises(UnreachableError) as raised:
        platform.containers()
    assert re.fullmatch(rf"docker: cannot reach {re.escape(host)}: {reason}", str(raised.value))
    # A socket left unclosed warns when collected; filterwarnings = error fails this test then.
    gc.collect()


def test_silent_engine_is_unreachable_within_the_timeout(black_hole: int) -> None:
    started = time.monotonic()
    platform = Platform("pricewatch", docker_host=f"tcp://127.0.0.1:{black_hole}", timeout=1)
    with platform, pytest.raises(UnreachableError, match="within 1 s"):
        platform.containers()
    assert time.monotonic() - started < 2.5


def test_an_engine_answering_errors_is_a_dependency_error(scripted_http: ScriptedHTTP) -> None:
    platform = Platform(
        "pricewatch", docker_host=f"tcp://127.0.0.1:{scripted_http.port}", timeout=2
    )
    with platform, pytest.raises(DependencyError) as caught:
        platform.probe()
    assert not isinstance(caught.value, UnreachableError)
    assert str(caught.value).startswith("docker: ")


def test_engine_calls_retry_while_the_engine_refuses(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    sock = str(tmp_path / "engine.sock")
    address = kwargs_from_env().get("base_url") or "unix:///var/run/docker.sock"
    if not address.startswith("unix://"):
        pytest.skip(f"the engine is not on a unix socket here ({address})")
    engine = (socket.AF_UNIX, address.removeprefix("unix://"))
    with (
        late_listener((socket.AF_UNIX, sock), engine, after=0.8) as listening,
        Platform("opslib-retry", docker_host=f"unix://{sock}", timeout=5) as platform,
    ):
        assert platform.probe()
        assert listening.is_set()


def test_an_engine_refusing_past_the_timeout_is_unreachable(tmp_path: Path) -> None:
    sock = str(tmp_path / "engine.sock")
    with (
        late_listener((socket.AF_UNIX, sock), (socket.AF_UNIX, sock), after=30),
        Platform("opslib-retry", docker_host=f"unix://{sock}", timeout=1) as platform,
    ):
        started = time.monotonic()
        with pytest.raises(UnreachableError, match="refused"):
            platform.probe()
        assert 0.9 < time.monotonic() - started < 4


_GRACEFUL = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "time.sleep(3600)"
)


def test_stop_is_graceful_then_kills_and_start_brings_them_back(
    stack: Stack, containers: Containers
) -> None:
    # PID 1 of a container ignores SIGTERM unless it handles it: _IDLE must be killed.
    graceful = containers.run("ctl-graceful", _GRACEFUL)
    stubborn = containers.run("ctl-stubborn", _IDLE)
    with Platform(stack.project, timeout=10) as platform:

        def chosen() -> list[ContainerInfo]:
            return platform.containers("ctl-graceful") + platform.containers("ctl-stubborn")

        wait_until(lambda: all(c.running for c in chosen()), 20, "the containers to run")
        began = time.monotonic()
        stopped = platform.stop(chosen(), timeout=1.0)
        took = time.monotonic() - began
        assert sorted(stopped) == sorted([graceful, stubborn])
        by_name = {c.name: c for c in chosen()}
        assert not any(c.running for c in by_name.values())
        assert by_name[graceful].exit_code == 0  # it handled SIGTERM
        assert by_name[stubborn].exit_code == 137  # SIGKILL after the timeout
        assert 0.9 < took < 6, f"stop took {took:.1f} s"  # both at once, not one after another
        assert platform.stop(chosen(), timeout=1.0) == []  # stopped ones are left alone
        assert [c.name for c in platform.containers("web") if c.running]  # others untouched

        assert sorted(platform.start(chosen())) == sorted([graceful, stubborn])
        assert all(c.running for c in chosen())
        assert platform.start(chosen()) == []  # running ones are left alone

        platform.stop(chosen(), timeout=1.0)
        gone = platform.containers("ctl-stubborn")
        assert not gone[0].running
        containers.remove(stubborn)
        # A container removed between listing and starting is left out, not an error.
        assert platform.start(gone + platform.containers("ctl-graceful")) == [graceful]
    containers.remove(graceful)

"""Container usage from cgroup files: real containers on this host's cgroups, and small fake
trees for the layouts this machine cannot produce (its engine is cgroup v1 with cgroupfs)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from opslib.adapters import ContainerInfo, ContainerUsage, Platform, _cgroup
from opslib.errors import ConfigError, DataError, DependencyError, UnreachableError
from tests.adapters.conftest import Containers
from tests.support import free_port, wait_until

MIB = 1024 * 1024
_IDLE = "import time\ntime.sleep(3600)"
_HOLD_24_MIB = "import time\nballast = b'x' * (24 << 20)\ntime.sleep(3600)"
_BUSY = "while True:\n    pass"


def _by_name(usage: list[ContainerUsage]) -> dict[str, ContainerUsage]:
    return {u.name: u for u in usage}


def _close(a: int, b: int) -> bool:
    """Within 10 % or 4 MiB, whichever is larger: the two paths sample at different moments."""
    return abs(a - b) <= max(0.1 * max(a, b), 4 * MIB)


# --- real containers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Trio:
    idle: str
    busy: str
    held: str  # holds 24 MiB under a 64 MiB limit


@pytest.fixture(scope="module")
def trio(containers: Containers) -> Trio:
    names = Trio(
        idle=containers.run("idle", _IDLE),
        busy=containers.run("busy", _BUSY, nano_cpus=1_000_000_000),
        held=containers.run("held", _HOLD_24_MIB, mem_limit="64m"),
    )
    with Platform(containers.project) as platform:

        def ready() -> bool:
            usage = _by_name(platform.usage(sample_seconds=0.0, source="engine"))
            return names.held in usage and usage[names.held].memory_bytes > 24 * MIB

        wait_until(ready, 20, "the test containers to run and hold their memory")
    return names


@pytest.fixture
def platform(containers: Containers, trio: Trio) -> Iterator[Platform]:
    with Platform(containers.project, timeout=10) as client:
        yield client


def _running(platform: Platform, *names: str) -> list[ContainerInfo]:
    return [c for c in platform.containers() if c.running and c.name in names]


def test_cgroup_and_engine_paths_agree(platform: Platform, trio: Trio) -> None:
    chosen = _running(platform, trio.idle, trio.busy, trio.held)
    engine = _by_name(platform.usage(chosen, sample_seconds=0.5, source="engine"))
    cgroup = _by_name(platform.usage(chosen, sample_seconds=0.5, source="cgroup"))
    assert set(engine) == set(cgroup) == {trio.idle, trio.busy, trio.held}
    for name in engine:
        assert _close(engine[name].memory_bytes, cgroup[name].memory_bytes), (
            engine[name],
            cgroup[name],
        )
    for usage in (engine, cgroup):
        assert usage[trio.busy].cpu_percent >= 50, usage[trio.busy]
        assert usage[trio.busy].cpu_percent < 120, usage[trio.busy]  # capped at one CPU
        assert usage[trio.idle].cpu_percent < 10, usage[trio.idle]
        assert usage[trio.held].memory_limit_bytes == 64 * MIB
        assert 24 * MIB < usage[trio.held].memory_bytes < 64 * MIB
    # No limit: both report host memory.
    assert cgroup[trio.idle].memory_limit_bytes == engine[trio.idle].memory_limit_bytes
    assert cgroup[trio.idle].memory_limit_bytes == _cgroup.host_memory()


def test_auto_reads_cgroups_of_a_local_engine_within_the_sample_interval(
    platform: Platform, trio: Trio, caplog: pytest.LogCaptureFixture
) -> None:
    chosen = _running(platform, trio.idle, trio.busy, trio.held)
    caplog.set_level(logging.DEBUG, logger="opslib.adapters")
    started = time.perf_counter()
    usage = _by_name(platform.usage(chosen, sample_seconds=0.2))
    elapsed = time.perf_counter() - started
    assert set(usage) == {trio.idle, trio.busy, trio.held}
    assert usage[trio.busy].cpu_percent > usage[trio.idle].cpu_percent
    assert "usage: cgroup v" in caplog.text
    assert 0.2 <= elapsed < 1.0, f"{elapsed:.3f} s"  # the engine API path takes over 1 s


def test_source_engine_forces_the_engine_api(
    platform: Platform, trio: Trio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="opslib.adapters")
    usage = _by_name(platform.usage(_running(platform, trio.idle), source="engine"))
    assert set(usage) == {trio.idle}
    assert "usage: engine stats of 1 containers" in caplog.text
    assert "cgroup" not in caplog.text


def test_a_container_without_a_cgroup_sends_all_to_the_engine(
    platform: Platform, containers: Containers, trio: Trio, caplog: pytest.LogCaptureFixture
) -> None:
    name = containers.run("ghost", _IDLE)
    [ghost] = platform.containers("ghost")
    containers.remove(name)
    [idle] = _running(platform, trio.idle)
    caplog.set_level(logging.DEBUG, logger="opslib.adapters")
    usage = platform.usage([ghost, idle], sample_seconds=0.1)
    assert [u.name for u in usage] == [trio.idle]
    assert f"no cgroup under /sys/fs/cgroup for {name}: engine stats for all 2" in caplog.text
    with pytest.raises(DependencyError, match=rf"^cgroup: no cgroup under .* for {name}$"):
        platform.usage([ghost, idle], sample_seconds=0.1, source="cgroup")


def test_a_cgroup_that_vanishes_between_samples_is_left_out(
    platform: Platform, containers: Containers, trio: Trio
) -> None:
    name = containers.run("victim", _IDLE)
    [victim] = platform.containers("victim")
    [idle] = _running(platform, trio.idle)
    cgroups = _cgroup.find([victim.id, idle.id])
    assert set(cgroups) == {victim.id, idle.id}

    def remove_victim(seconds: float) -> None:
        containers.remove(name)
        wait_until(lambda: not cgroups[victim.id].memory.exists(), 5, "the cgroup to go")

    usage = _cgroup.sample(cgroups, 0.1, sleep=remove_victim)
    assert set(usage) == {idle.id}
    assert usage[idle.id].memory_bytes > 0


def test_cgroup_source_on_a_remote_engine_is_refused_without_connecting() -> None:
    host = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with Platform("pricewatch", docker_host=host, timeout=2) as platform:
        with pytest.raises(ConfigError, match=rf"'cgroup'.* engine at {host} is not on a local"):
            platform.usage(source="cgroup")
        assert time.monotonic() - started < 0.5
        with pytest.raises(UnreachableError):  # auto asks that engine, which is not there
            platform.usage()


def test_an_unknown_source_is_a_programming_error(platform: Platform) -> None:
    with pytest.raises(ValueError, match="source must be"):
        platform.usage([], source="proc")  # type: ignore[arg-type]


def test_find_ignores_containers_that_have_no_cgroup() -> None:
    assert _cgroup.find(["0" * 64]) == {}


# --- fake trees for the layouts this host cannot produce ------------------------------------------

_ID = "ab" * 32
_HOST_KB = 4 * 1024 * 1024  # a 4 GiB host
_V1_UNLIMITED = 9223372036854771712


@dataclass
class FakeCgroup:
    """The counters of one container, written in the files of cgroup ``version``."""

    version: Literal[1, 2]
    cpu: Path
    memory: Path

    def write(self, *, cpu_ns: int, usage: int, inactive: int, limit: int | None) -> None:
        self.cpu.mkdir(parents=True, exist_ok=True)
        self.memory.mkdir(parents=True, exist_ok=True)
        if self.version == 1:
            (self.cpu / "cpuacct.usage").write_text(f"{cpu_ns}\n")
            (self.memory / "memory.usage_in_bytes").write_text(f"{usage}\n")
            (self.memory / "memory.stat").write_text(
                f"cache 0\ninactive_file 7\ntotal_cache 0\ntotal_inactive_file {inactive}\n"
            )
            (self.memory / "memory.limit_in_bytes").write_text(
                f"{_V1_UNLIMITED if limit is None else limit}\n"
            )
        else:
            (self.cpu / "cpu.stat").write_text(
                f"usage_usec {cpu_ns // 1000}\nuser_usec 1\nsystem_usec 2\n"
            )
            (self.memory / "memory.current").write_text(f"{usage}\n")
            (self.memory / "memory.stat").write_text(f"anon 1\nfile 2\ninactive_file {inactive}\n")
            (self.memory / "memory.max").write_text("max\n" if limit is None else f"{limit}\n")


_LAYOUTS: dict[str, tuple[Literal[1, 2], str, str]] = {
    "v1-systemd": (
        1,
        "cpuacct/system.slice/docker-{id}.scope",
        "memory/system.slice/docker-{id}.scope",
    ),
    "v1-systemd-cpu,cpuacct": (
        1,
        "cpu,cpuacct/system.slice/docker-{id}.scope",
        "memory/system.slice/docker-{id}.scope",
    ),
    "v2-systemd": (2, "system.slice/docker-{id}.scope", "system.slice/docker-{id}.scope"),
    "v2-cgroupfs": (2, "docker/{id}", "docker/{id}"),
}


def _fake(root: Path, layout: str, container_id: str = _ID) -> FakeCgroup:
    version, cpu, memory = _LAYOUTS[layout]
    if version == 2:
        root.mkdir(parents=True, exist_ok=True)
        (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    return FakeCgroup(
        version, root / cpu.format(id=container_id), root / memory.format(id=container_id)
    )


@pytest.fixture
def meminfo(tmp_path: Path) -> Path:
    path = tmp_path / "meminfo"
    path.write_text(f"MemTotal:       {_HOST_KB} kB\nMemFree:        1000 kB\n")
    return path


class FakeTime:
    """A monotonic clock in ns, and a sleep that advances it while the counters move on."""

    def __init__(self, meanwhile: Callable[[], None]) -> None:
        self.now = 10**12
        self._meanwhile = meanwhile

    def clock(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += round(seconds * 1e9)
        self._meanwhile()


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_find_each_layout(tmp_path: Path, layout: str) -> None:
    fake = _fake(tmp_path, layout)
    fake.write(cpu_ns=0, usage=1, inactive=0, limit=None)
    other = _fake(tmp_path, layout, "cd" * 32)  # a directory without the files is not a cgroup
    other.cpu.mkdir(parents=True)
    other.memory.mkdir(parents=True, exist_ok=True)
    found = _cgroup.find([_ID, "cd" * 32, "ef" * 32], root=tmp_path)
    assert found == {_ID: _cgroup.Cgroup(fake.version, fake.cpu, fake.memory)}


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_sample_computes_what_the_docker_cli_shows(
    tmp_path: Path, layout: str, meminfo: Path
) -> None:
    fake = _fake(tmp_path, layout)
    fake.write(cpu_ns=5_000_000_000, usage=40 * MIB, inactive=10 * MIB, limit=256 * MIB)
    # 0.75 s of CPU in 0.5 s of wall time: one and a half CPUs.
    time_ = FakeTime(
        lambda: fake.write(cpu_ns=5_750_000_000, usage=50 * MIB, inactive=20 * MIB, limit=256 * MIB)
    )
    cgroups = _cgroup.find([_ID], root=tmp_path)
    usage = _cgroup.sample(cgroups, 0.5, meminfo=meminfo, sleep=time_.sleep, clock=time_.clock)
    assert usage == {
        _ID: _cgroup.CgroupUsage(
            cpu_percent=150.0, memory_bytes=30 * MIB, memory_limit_bytes=256 * MIB
        )
    }


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
@pytest.mark.parametrize("limit", [None, 8 * 1024**3], ids=["unlimited", "above-host"])
def test_no_limit_or_one_above_the_host_is_host_memory(
    tmp_path: Path, layout: str, limit: int | None, meminfo: Path
) -> None:
    fake = _fake(tmp_path, layout)
    fake.write(cpu_ns=0, usage=MIB, inactive=2 * MIB, limit=limit)
    time_ = FakeTime(lambda: None)
    cgroups = _cgroup.find([_ID], root=tmp_path)
    [usage] = _cgroup.sample(
        cgroups, 0.5, meminfo=meminfo, sleep=time_.sleep, clock=time_.clock
    ).values()
    assert usage.memory_limit_bytes == _HOST_KB * 1024
    assert usage.memory_bytes == MIB  # more inactive cache than usage: usage as is, as the CLI
    assert usage.cpu_percent == 0.0


def test_v2_without_the_memory_controller_is_not_found(tmp_path: Path) -> None:
    fake = _fake(tmp_path, "v2-systemd")
    fake.write(cpu_ns=0, usage=1, inactive=0, limit=None)
    (fake.memory / "memory.current").unlink()
    assert _cgroup.find([_ID], root=tmp_path) == {}


def test_garbage_in_a_counter_is_a_data_error(tmp_path: Path, meminfo: Path) -> None:
    fake = _fake(tmp_path, "v2-cgroupfs")
    fake.write(cpu_ns=0, usage=1, inactive=0, limit=None)
    (fake.memory / "memory.current").write_text("lots\n")
    cgroups = _cgroup.find([_ID], root=tmp_path)
    with pytest.raises(DataError, match=r"^cgroup: unexpected content in .*memory.current: 'lots'"):
        _cgroup.sample(cgroups, 0, meminfo=meminfo)


def test_host_memory(tmp_path: Path, meminfo: Path) -> None:
    assert _cgroup.host_memory(meminfo) == _HOST_KB * 1024
    (tmp_path / "empty").write_text("MemFree: 1 kB\n")
    with pytest.raises(DataError, match="no MemTotal"):
        _cgroup.host_memory(tmp_path / "empty")
    with pytest.raises(DependencyError, match="cannot read"):
        _cgroup.host_memory(tmp_path / "missing")

"""Container CPU and memory read straight from this host's cgroup files, as cAdvisor does.

Only meaningful when the Docker engine runs on this host. The engine puts each container in a
cgroup named after its full id; where depends on the cgroup version and the engine's driver::

    v1, cgroupfs driver   <root>/cpuacct/docker/<id>/              <root>/memory/docker/<id>/
    v1, systemd driver    <root>/cpuacct/system.slice/docker-<id>.scope/   (memory alike)
    v2, systemd driver    <root>/system.slice/docker-<id>.scope/
    v2, cgroupfs driver   <root>/docker/<id>/

The figures are the ones the engine reports and the docker CLI shows: CPU time (v1
``cpuacct.usage``, v2 ``cpu.stat`` ``usage_usec``) over wall time, memory in use minus the
inactive page cache (v1 ``memory.usage_in_bytes`` minus ``total_inactive_file``, v2
``memory.current`` minus ``inactive_file``), and the limit (v1 ``memory.limit_in_bytes``, v2
``memory.max``), host memory when there is none.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from opslib.errors import DataError, DependencyError

__all__ = ["MEMINFO", "NAME", "ROOT", "Cgroup", "CgroupUsage", "find", "host_memory", "sample"]

ROOT = Path("/sys/fs/cgroup")
MEMINFO = Path("/proc/meminfo")
NAME = "cgroup"
# Where a v1 host mounts the cpuacct controller: alone, or co-mounted with cpu (then the
# single-name directories are usually symlinks to this one).
_CPUACCT_DIRS = ("cpuacct", "cpu,cpuacct", "cpuacct,cpu")
# Reading a file of a cgroup the kernel removed meanwhile: gone, not broken.
_VANISHED = (errno.ENOENT, errno.ENODEV, errno.ESRCH)


@dataclass(frozen=True)
class Cgroup:
    """Where one container's counters live."""

    version: Literal[1, 2]
    cpu: Path  # holds cpuacct.usage (v1) or cpu.stat (v2)
    memory: Path  # holds the memory.* files


@dataclass(frozen=True)
class CgroupUsage:
    """CPU and memory of one container over a sampling interval."""

    cpu_percent: float  # 100 = one full CPU
    memory_bytes: int  # inactive page cache excluded
    memory_limit_bytes: int  # host memory when the cgroup has no limit


@dataclass(frozen=True)
class _Reading:
    at_ns: int
    cpu_ns: int
    memory_bytes: int
    limit_bytes: int | None  # None: no limit


def find(container_ids: Iterable[str], root: Path = ROOT) -> dict[str, Cgroup]:
    """The readable cgroup of each container under ``root``; containers not found are absent."""
    unified = (root / "cgroup.controllers").is_file()
    found = {}
    for container_id in container_ids:
        cgroup = _find_v2(root, container_id) if unified else _find_v1(root, container_id)
        if cgroup is not None:
            found[container_id] = cgroup
    return found


def sample(
    cgroups: Mapping[str, Cgroup],
    seconds: float,
    *,
    meminfo: Path = MEMINFO,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], int] = time.monotonic_ns,
) -> dict[str, CgroupUsage]:
    """Two readings of every cgroup ``seconds`` apart; containers whose cgroup is gone are left out.

    CPU % is the container's CPU time over the wall time between its two readings, which is
    what the docker CLI's ``cpu_delta / system_delta * online_cpus`` amounts to.
    """
    first = _read_all(cgroups, clock)
    sleep(max(seconds, 0.0))
    second = _read_all({key: cgroups[key] for key in first}, clock)
    # The engine reports host memory for no limit, and caps a limit above it.
    host = host_memory(meminfo) if second else 0
    measured = {}
    for key, after in second.items():
        before = first[key]
        wall = after.at_ns - before.at_ns
        used = after.cpu_ns - before.cpu_ns
        measured[key] = CgroupUsage(
            cpu_percent=100.0 * used / wall if used > 0 and wall > 0 else 0.0,
            memory_bytes=after.memory_bytes,
            memory_limit_bytes=host if after.limit_bytes is None else min(after.limit_bytes, host),
        )
    return measured


def host_memory(meminfo: Path = MEMINFO) -> int:
    """``MemTotal`` of ``/proc/meminfo`` in bytes, the engine's figure for "no limit"."""
    try:
        for line in meminfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key == "MemTotal":
                number, _, unit = value.strip().partition(" ")
                return int(number) * (1024 if unit.strip() == "kB" else 1)
    except OSError as exc:
        raise DependencyError(NAME, f"cannot read {meminfo}: {exc.strerror}") from exc
    except ValueError as exc:
        raise DataError(f"{NAME}: unexpected MemTotal in {meminfo}: {exc}") from exc
    raise DataError(f"{NAME}: no MemTotal in {meminfo}")


def _find_v1(root: Path, container_id: str) -> Cgroup | None:
    cpuacct = next((root / d for d in _CPUACCT_DIRS if (root / d).is_dir()), None)
    if cpuacct is None:
        return None
    for relative in _relatives(container_id):
        cpu, memory = cpuacct / relative, root / "memory" / relative
        if _readable(cpu / "cpuacct.usage", memory / "memory.usage_in_bytes"):
            return Cgroup(1, cpu, memory)
    return None


def _find_v2(root: Path, container_id: str) -> Cgroup | None:
    for relative in _relatives(container_id):
        path = root / relative
        if _readable(path / "cpu.stat", path / "memory.current"):
            return Cgroup(2, path, path)
    return None


def _relatives(container_id: str) -> tuple[str, str]:
    return (f"system.slice/docker-{container_id}.scope", f"docker/{container_id}")


def _readable(*files: Path) -> bool:
    return all(os.access(f, os.R_OK) for f in files)


def _read_all(cgroups: Mapping[str, Cgroup], clock: Callable[[], int]) -> dict[str, _Reading]:
    readings = {}
    for key, cgroup in cgroups.items():
        try:
            readings[key] = _read(cgroup, clock)
        except OSError as exc:
            if exc.errno in _VANISHED:
                continue  # the container stopped or was removed
            raise DependencyError(NAME, f"cannot read {exc.filename}: {exc.strerror}") from exc
    return readings


def _read(cgroup: Cgroup, clock: Callable[[], int]) -> _Reading:
    at = clock()  # just before the CPU counter, which is what the wall time is measured against
    if cgroup.version == 1:
        cpu_ns = _integer(cgroup.cpu / "cpuacct.usage")
        usage = _integer(cgroup.memory / "memory.usage_in_bytes")
        inactive = _stat(cgroup.memory / "memory.stat").get("total_inactive_file", 0)
        limit: int | None = _integer(cgroup.memory / "memory.limit_in_bytes")
    else:
        cpu_ns = _stat(cgroup.cpu / "cpu.stat").get("usage_usec", 0) * 1000
        usage = _integer(cgroup.memory / "memory.current")
        inactive = _stat(cgroup.memory / "memory.stat").get("inactive_file", 0)
        limit = _limit_v2(cgroup.memory / "memory.max")
    return _Reading(
        at_ns=at,
        cpu_ns=cpu_ns,
        memory_bytes=usage - inactive if inactive < usage else usage,
        limit_bytes=limit,
    )


def _integer(path: Path) -> int:
    return _parse(path, path.read_text().strip())


def _limit_v2(path: Path) -> int | None:
    text = path.read_text().strip()
    return None if text == "max" else _parse(path, text)


def _parse(path: Path, text: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise DataError(f"{NAME}: unexpected content in {path}: {text[:40]!r}") from exc


def _stat(path: Path) -> dict[str, int]:
    """A flat-keyed ``key value`` file (memory.stat, cpu.stat)."""
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        try:
            values[key] = int(value)
        except ValueError as exc:
            raise DataError(f"{NAME}: unexpected line in {path}: {line[:60]!r}") from exc
    return values

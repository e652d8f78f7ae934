"""Labs of their own: down after a crashed up, concurrent ups, nothing left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from opslib.errors import LabError
from opslib.lab import Lab, LabSettings, LabStatus
from opslib.lab._containers import STATE_LABEL, docker_client
from opslib.lab._procs import process_alive
from tests.labkit import make_lab_settings, require_docker, require_lab_infrastructure

SMALL: dict[str, Any] = {"urls": 40, "domains": 4, "history_days": 1}


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _our_pids(root: Path) -> list[int]:
    pids = [int(p.read_text().split()[0]) for p in (root / "run").glob("*.pid")]
    postmaster = root / "pg" / "pgdata" / "postmaster.pid"
    if postmaster.exists():
        pids.append(int(postmaster.read_text().split()[0]))
    return pids


def _containers(root: Path) -> list[str]:
    try:
        with docker_client() as client:
            found = client.containers.list(all=True, filters={"label": f"{STATE_LABEL}={root}"})
    except LabError:  # no engine: no containers
        return []
    return [str(c.name) for c in found]


def _assert_nothing_left(root: Path, pids: list[int]) -> None:
    deadline = time.monotonic() + 5
    while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)  # the init process reaps orphans on its own schedule
    assert not [pid for pid in pids if process_alive(pid)]
    assert _containers(root) == []
    assert not root.exists()


def test_down_cleans_up_after_a_crashed_up() -> None:
    require_lab_infrastructure()
    settings = make_lab_settings(use_docker=False)
    root = settings.state_dir
    assert settings.port_base is not None
    up = subprocess.Popen(
        [sys.executable, "-m", "opslib.cli", "lab", "up", "--state-dir", str(root),
         "--project", settings.project, "--port-base", str(settings.port_base), "--no-docker"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _listening(settings.postgres_port):
            assert up.poll() is None, "lab up ended before PostgreSQL started"
            assert time.monotonic() < deadline, "PostgreSQL did not start"
            time.sleep(0.05)
        up.send_signal(signal.SIGKILL)
        up.wait(timeout=10)
        pids = _our_pids(root)
        assert len(pids) >= 4  # shop, proxies, prometheus, postgres
        assert all(process_alive(pid) for pid in pids)
        Lab(LabSettings(state_dir=root)).down()
        _assert_nothing_left(root, pids)
    finally:
        if up.poll() is None:
            up.kill()
            up.wait(timeout=10)
        if root.exists():
            Lab(LabSettings(state_dir=root)).down()


def test_concurrent_ups_then_down_leave_nothing() -> None:
    require_lab_infrastructure()
    require_docker()
    settings = make_lab_settings(use_docker=True, **SMALL)
    lab = Lab(settings)
    statuses: list[LabStatus] = []
    errors: list[BaseException] = []

    def up() -> None:
        try:
            statuses.append(Lab(settings).up())
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=up) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
        assert len(statuses) == 2
        assert all(s.running for s in statuses)
        assert [c.pid for c in statuses[0].components] == [c.pid for c in statuses[1].components]
        assert sorted(_containers(settings.state_dir)) == [
            settings.worker_name(i) for i in range(1, settings.workers + 1)
        ]
        pids = _our_pids(settings.state_dir)
        assert os.getpid() not in pids
    finally:
        begin = time.monotonic()
        lab.down()
        took = time.monotonic() - begin
    _assert_nothing_left(settings.state_dir, pids)
    assert took < 15

"""The supervisor starts real processes and signals only the PIDs it recorded."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from opslib.lab._procs import Supervisor, child_env, process_alive

SLEEPER = [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"]


def test_start_is_idempotent_and_stop_ends_the_process(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "run", tmp_path / "logs")
    pid = sup.start("sleeper", SLEEPER)
    deadline = time.monotonic() + 10
    while "started" not in sup.log_file("sleeper").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert sup.start("sleeper", SLEEPER) == pid
        assert sup.pid("sleeper") == pid
        assert sup.names() == ["sleeper"]
    finally:
        assert sup.stop("sleeper")
    assert not process_alive(pid)
    assert sup.pid("sleeper") is None
    assert sup.names() == []
    assert "started" in sup.log_file("sleeper").read_text()


def test_a_recycled_pid_is_not_ours(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "run", tmp_path / "logs")
    sup.run_dir.mkdir(parents=True)
    # Our own PID with a start time that is not ours: must be neither reported nor signalled.
    (sup.run_dir / "stranger.pid").write_text(f"{os.getpid()} 1\n")
    assert sup.pid("stranger") is None
    assert sup.stop("stranger") is False
    assert process_alive(os.getpid())


def test_stop_all_ends_every_child(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "run", tmp_path / "logs")
    pids = [sup.start(f"s{i}", SLEEPER) for i in range(3)]
    assert sorted(sup.stop_all()) == ["s0", "s1", "s2"]
    assert not any(process_alive(pid) for pid in pids)


def test_child_env_drops_operator_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", "host=elsewhere")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    env = child_env()
    assert "OPSLIB_DATABASE_DSN" not in env
    assert "HTTP_PROXY" not in env
    assert env["PYTHONUNBUFFERED"] == "1"

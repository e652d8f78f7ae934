"""Child processes of the lab, supervised through PID files; only those PIDs are ever signalled.

A PID file holds the PID and the process start time (from ``/proc``), so a recycled PID is never
mistaken for ours. Children run in their own session and outlive the command that started them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from opslib.errors import LabError

__all__ = ["Supervisor", "child_env", "process_alive"]


def _start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot; None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def process_alive(pid: int, start_time: int | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie) and, if given, started at ``start_time``."""
    started = _start_time(pid)
    return started is not None and (start_time is None or started == start_time)


def _reap(pid: int) -> None:
    # Our own children become zombies when they end; other processes are init's to reap.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


class Supervisor:
    """Starts, finds and stops the lab's processes by name."""

    def __init__(self, run_dir: Path, log_dir: Path) -> None:
        self.run_dir = run_dir
        self.log_dir = log_dir

    def _pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def pid(self, name: str) -> int | None:
        """The PID of ``name`` if it runs, else None."""
        entry = self._read(name)
        if entry is None:
            return None
        pid, started = entry
        if process_alive(pid, started):
            return pid
        _reap(pid)
        return None

    def names(self) -> list[str]:
        """Every process with a PID file, running or not."""
        if not self.run_dir.is_dir():
            return []
        return sorted(p.stem for p in self.run_dir.glob("*.pid"))

    def start(self, name: str, argv: Sequence[str], *, env: dict[str, str] | None = None) -> int:
        """Start ``argv`` as ``name`` unless it already runs; return its PID."""
        running = self.pid(name)
        if running is not None:
            return running
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_file(name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        try:
            pid = os.posix_spawn(
                argv[0],
                list(argv),
                env if env is not None else dict(os.environ),
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 1, str(log), flags, 0o644),
                    (os.POSIX_SPAWN_DUP2, 1, 2),
                ],
                setsid=True,
            )
        except OSError as exc:
            raise LabError(f"cannot start {name} ({argv[0]}): {exc}") from exc
        started = _start_time(pid)
        self._pid_file(name).write_text(f"{pid} {started or 0}\n")
        return pid

    def stop(self, name: str, timeout: float = 5.0) -> bool:
        """Stop ``name`` (TERM, then KILL after ``timeout``); return whether it was running."""
        entry = self._read(name)
        self._pid_file(name).unlink(missing_ok=True)
        if entry is None:
            return False
        pid, started = entry
        if not process_alive(pid, started):
            _reap(pid)
            return False
        self._signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(pid)
            if not process_alive(pid, started):
                return True
            time.sleep(0.05)
        self._signal(pid, signal.SIGKILL)
        for _ in range(100):
            _reap(pid)
            if not process_alive(pid, started):
                break
            time.sleep(0.02)
        return True

    def stop_all(self, timeout: float = 5.0) -> list[str]:
        """Stop every process with a PID file (all signalled first, then awaited); return the
        names of those that were running."""
        running = []
        for name in self.names():
            entry = self._read(name)
            if entry is not None and process_alive(*entry):
                running.append(name)
                self._signal(entry[0], signal.SIGTERM)
        for name in self.names():
            self.stop(name, timeout)
        return running

    def _read(self, name: str) -> tuple[int, int] | None:
        try:
            parts = self._pid_file(name).read_text().split()
            pid, started = int(parts[0]), int(parts[1])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        return pid, started  # 0 (start time unknown) never matches: treated as gone

    @staticmethod
    def _signal(pid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def child_env() -> dict[str, str]:
    """The environment of the lab's processes: ours without OPSLIB_* (the lab's own config file
    must win over whatever the operator exported) and without proxy variables."""
    skip = ("OPSLIB_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(skip)}
    env["PYTHONUNBUFFERED"] = "1"
    return env

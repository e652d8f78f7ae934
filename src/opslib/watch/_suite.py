"""Running a pytest check suite in a subprocess and reading what it judged."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opslib.errors import DataError
from opslib.redact import redact
from opslib.watch._diff import Snapshot

__all__ = ["PytestSuite"]

_PYTEST_EXITS = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}


@dataclass(frozen=True)
class PytestSuite:
    """A suite (``checks/daily``) run as ``python -m pytest PATH -p no:cacheprovider
    --ops-summary TMP [ARGS...]`` with this interpreter; ``config_file`` becomes
    ``--ops-config``."""

    path: Path
    args: tuple[str, ...] = ()
    config_file: Path | None = None
    python: str = sys.executable
    timeout: float = 600.0  # a run still going after this is stopped and judged as failed

    def argv(self, summary: Path) -> list[str]:
        """The command line of one run, writing its summary to ``summary``."""
        argv = [self.python, "-m", "pytest", str(self.path), "-p", "no:cacheprovider"]
        argv += ["--ops-summary", str(summary)]
        if self.config_file is not None:
            argv += ["--ops-config", str(self.config_file)]
        return [*argv, *self.args]

    def run(self, previous: Snapshot | None = None) -> Snapshot:
        """Run the suite once; a run that wrote no usable summary is a failed snapshot (with
        pytest's exit status and last line of output), keeping ``previous``'s checks."""
        with tempfile.TemporaryDirectory(prefix="opslib-watch-") as tmp:
            summary = Path(tmp) / "summary.json"
            try:
                done = subprocess.run(
                    self.argv(summary),
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    errors="replace",
                    check=False,
                    timeout=self.timeout,
                )
            except subprocess.TimeoutExpired:
                # subprocess.run kills the child and waits for it before raising.
                return Snapshot.failed(
                    f"the run did not finish within {self.timeout:g} s (--run-timeout): stopped",
                    previous,
                )
            except OSError as exc:
                return Snapshot.failed(f"pytest could not start: {exc}", previous)
            try:
                document = json.loads(summary.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return Snapshot.failed(_no_summary(done), previous, done.returncode)
        try:
            return Snapshot.from_summary(document, previous)
        except DataError as exc:
            return Snapshot.failed(str(exc), previous, done.returncode)


def _no_summary(done: subprocess.CompletedProcess[str]) -> str:
    meaning = _PYTEST_EXITS.get(done.returncode, "")
    last = _telling_line(done.stderr) or _telling_line(done.stdout)
    what = f"pytest exited {done.returncode}" + (f" ({meaning})" if meaning else "")
    return redact(f"{what} without a summary" + (f": {last}" if last else ""))


def _telling_line(text: str) -> str:
    """The last line naming an error, else the last line (pytest ends usage errors with its
    rootdir)."""
    lines: Sequence[str] = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    chosen = errors or lines
    return chosen[-1][:300] if chosen else ""

"""The lab's ``slow-query`` fault: named by checks/emergency/overload, fixed by the command the
check names (``opslib db cancel PID``) or by ``opslib db terminate PID``, and healed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from opslib.config import Settings, ThresholdSpec, load_settings
from opslib.dbactivity import blocked_sessions, long_queries
from opslib.lab import Lab
from opslib.results import CheckResult, Severity
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]


def _opslib(lab: Lab, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_CONFIG"] = str(lab.config_file)
    argv = (sys.executable, "-m", "opslib.cli", *argv)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def _suite(lab: Lab) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_CONFIG"] = str(lab.config_file)
    env["OPSLIB_THRESHOLDS"] = '{"db.lock_wait_seconds": {"warn": 1, "crit": 2}}'
    argv = [sys.executable, "-m", "pytest", str(ROOT / "checks" / "emergency" / "overload"),
            "-p", "no:cacheprovider", "-q"]  # fmt: skip
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          check=False)  # fmt: skip


@pytest.mark.parametrize("action", ["cancel", "terminate"])
def test_slow_query_named_by_the_check_and_fixed(healthy_lab: Lab, action: str) -> None:
    lab = healthy_lab
    base = load_settings(lab.config_file)
    # The lab is time-compressed: a lock wait of 2 s is critical there.
    thresholds = {**base.thresholds, "db.lock_wait_seconds": ThresholdSpec(warn=1, crit=2)}
    settings = Settings.model_validate({**base.model_dump(), "thresholds": thresholds})
    with lab.database() as db:
        assert blocked_sessions(db, settings).severity is Severity.OK
        description = lab.inject("slow-query")
        found = re.search(r"pid (\d+) \(pricewatch_batch\) holds monitored_urls row", description)
        assert found, description
        blocker = int(found.group(1))

        def check() -> CheckResult:
            return blocked_sessions(db, settings)

        red = poll_until(check, lambda r: r.severity is Severity.CRITICAL, 20, interval=0.5)
        assert red.severity is Severity.CRITICAL, red.message()
        # An active query holds the lock, the session is an application's (no --force).
        assert f"`opslib db cancel {blocker}` (active, blocks 1)" in red.remediation
        if action == "cancel":
            suite = _suite(lab)
            assert suite.returncode == 1, suite.stdout[-3000:]
            assert f"opslib db cancel {blocker}" in suite.stdout

        done = _opslib(lab, "db", action, str(blocker))
        assert done.returncode == 0, done.stderr
        green = poll_until(check, lambda r: r.severity is Severity.OK, 10, interval=0.2)
        assert green.severity is Severity.OK, green.message()
        assert long_queries(db, settings).severity is Severity.OK
        if action == "cancel":
            assert _suite(lab).returncode == 0
        assert lab.heal("slow-query") == [
            "slow-query: the blocking transaction is gone (0 session(s) ended)"
        ]

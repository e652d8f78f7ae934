"""`pytest checks/emergency/security` against the live lab: green when nothing attacks, red on
the brute-force fault naming the block command, green again once the attacker is blocked
(contained) while it keeps trying."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from opslib.cli import main
from opslib.lab import Lab
from opslib.lab._api import ATTACKERS
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]


def _suite(lab: Lab) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}
    argv = [sys.executable, "-m", "pytest", str(ROOT / "checks" / "emergency" / "security"),
            "-p", "no:cacheprovider", "-q"]  # fmt: skip
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          check=False)  # fmt: skip


def test_suite_red_on_brute_force_green_once_blocked(lab: Lab) -> None:
    lab.heal()
    # an attack of an earlier test may still be inside the lab's 1 min window
    healthy = poll_until(lambda: _suite(lab), lambda r: r.returncode == 0, 180)
    assert healthy.returncode == 0, healthy.stdout[-3000:]
    attacker = ATTACKERS["brute-force"]
    lab.inject("brute-force")
    try:
        red = poll_until(lambda: _suite(lab), lambda r: r.returncode != 0, 60)
        assert red.returncode != 0, red.stdout[-3000:]
        assert f"opslib security block {attacker}" in red.stdout
        args = ["security", "block", attacker, "--for", "1h", "--reason", "lab brute force"]
        assert main(["--config", str(lab.config_file), *args]) == 0
        contained = poll_until(lambda: _suite(lab), lambda r: r.returncode == 0, 60)
        assert contained.returncode == 0, contained.stdout[-3000:]
    finally:
        lab.heal()
        main(["--config", str(lab.config_file), "security", "unblock", attacker])

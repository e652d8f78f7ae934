"""The main job checks what it is told to: in CI without a platform it fails, naming the fix."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support import require

ROOT = Path(__file__).resolve().parents[1]


def test_daily_in_ci_without_a_platform_fails_with_one_line(tmp_path: Path) -> None:
    nox = shutil.which("nox")
    require(nox is not None, "nox is not installed (bash .ci/setup installs it)")
    assert nox is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    done = subprocess.run(
        [nox, "--no-venv", "--envdir", str(tmp_path), "-f", str(ROOT / "noxfile.py"),
         "-s", "daily"],
        env={**env, "CI": "true"}, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode != 0
    aborted = [ln for ln in done.stderr.splitlines() if "aborted" in ln]
    assert aborted == [
        "nox > Session daily aborted: no platform configured: set OPSLIB_CONFIG (a config file)"
        " or OPSLIB_DATABASE_DSN, or pass `-- --lab` to check the built-in lab."
    ]
    assert "lab up" not in done.stderr  # the lab was not started

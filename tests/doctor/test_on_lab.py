"""``opslib doctor`` on the lab: every check runs fully, as the suites show; no secret printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from opslib.config import load_settings
from opslib.lab import Lab
from tests.labkit import require_docker_lab


def _doctor(lab: Lab, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}
    return subprocess.run(
        [sys.executable, "-m", "opslib.cli", *args, "doctor"], env=env, cwd=cwd,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_every_check_runs_fully_on_the_lab(healthy_lab: Lab, tmp_path: Path) -> None:
    require_docker_lab(healthy_lab)
    done = _doctor(healthy_lab, "--json", cwd=tmp_path)
    report = json.loads(done.stdout)
    levels = {f"{c['sop']}: {c['check']}": (c["level"], c["missing"]) for c in report["checks"]}
    assert all(level == "full" for level, _ in levels.values()), levels
    assert done.returncode == 0, done.stderr
    password = load_settings(healthy_lab.config_file).secrets()[0].split("password=")[1].split()[0]
    assert password not in done.stdout + done.stderr


def test_text_output_names_each_check_and_dependency(healthy_lab: Lab, tmp_path: Path) -> None:
    done = _doctor(healthy_lab, cwd=tmp_path)
    assert "daily.data_quality" in done.stdout + done.stderr
    assert "postgresql" in done.stdout
    assert "runs fully" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr

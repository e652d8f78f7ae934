"""The monthly suite on the lab as `opslib lab up` configured it: no edits, only commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from opslib.lab import Lab

ROOT = Path(__file__).resolve().parents[2]


def _run(lab: Lab, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}
    return subprocess.run(
        [sys.executable, *argv], env=env, capture_output=True, text=True, timeout=300,
        cwd=cwd, check=False,
    )  # fmt: skip


def test_monthly_suite_passes_after_create_and_verify(healthy_lab: Lab, tmp_path: Path) -> None:
    created = _run(healthy_lab, "-m", "opslib.cli", "backup", "create", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    verified = _run(healthy_lab, "-m", "opslib.cli", "backup", "verify", cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    html = tmp_path / "monthly.html"
    run = _run(
        healthy_lab, "-m", "pytest", str(ROOT / "checks" / "monthly"), "-p", "no:cacheprovider",
        # capacity planning needs months of history: test_review_capacity_on_lab.py
        "--ignore", str(ROOT / "checks" / "monthly" / "test_capacity.py"),
        "--html", str(html), "--self-contained-html", cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    summary = json.loads(html.with_suffix(".json").read_text())
    severities = {c["nodeid"].split("::")[-1]: c["severity"] for c in summary["checks"]}
    # Other tests back up the same lab today: a second backup of the day is due for pruning.
    assert severities.pop("test_retention") in ("OK", "WARNING")
    # The lab's image is built once per Docker engine: past updates.image_age (90 days) it warns.
    assert severities.pop("test_images_current") in ("OK", "WARNING")
    assert set(severities.values()) == {"OK"}, severities
    assert summary["platform"] == f"the opslib lab in {healthy_lab.paths.root}"
    assert "Platform checked:" in html.read_text()

"""checks/weekly/test_performance_review.py and checks/monthly/test_capacity.py on a lab of their
own, seeded with 180 days of thinned history (and 14 days of Prometheus samples): all OK from
the command line and as checks (after one backup, which the backup-policy check scales); the
fault disk-filling turns the volume and backup-policy checks red, heal green."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opslib.lab import Lab
from tests.labkit import make_lab_settings, require_lab_infrastructure

ROOT = Path(__file__).resolve().parents[2]
REVIEW = ROOT / "checks" / "weekly" / "test_performance_review.py"
CAPACITY = ROOT / "checks" / "monthly" / "test_capacity.py"


@pytest.fixture(scope="module")
def long_lab() -> Iterator[Lab]:
    """A lab with 180 days of history at 0.25 rows per URL per hour."""
    require_lab_infrastructure()
    with Lab(make_lab_settings("pricewatch-cap", history_days=180, history_volume=0.25)) as lab:
        yield lab


def _run(lab: Lab, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}
    return subprocess.run(
        [sys.executable, *argv], env=env, capture_output=True, text=True, timeout=300,
        cwd=cwd, check=False,
    )  # fmt: skip


def _severities(lab: Lab, tmp_path: Path, *paths: Path) -> dict[str, str]:
    html = tmp_path / "report.html"
    _run(lab, "-m", "pytest", *map(str, paths), "-p", "no:cacheprovider", "--html", str(html),
         "--self-contained-html", cwd=tmp_path)  # fmt: skip
    summary = json.loads(html.with_suffix(".json").read_text())
    return {c["nodeid"].split("::")[-1]: c["severity"] for c in summary["checks"]}


def test_review_and_capacity_green_on_the_lab(long_lab: Lab, tmp_path: Path) -> None:
    made = _run(long_lab, "-m", "opslib.cli", "backup", "create", cwd=tmp_path)
    assert made.returncode == 0, made.stderr[-2000:]
    severities = _severities(long_lab, tmp_path, REVIEW, CAPACITY)
    assert len(severities) == 7, severities
    assert set(severities.values()) == {"OK"}, severities
    for command in (("review", "weekly"), ("capacity", "report")):
        page = tmp_path / f"{command[0]}.html"
        run = _run(long_lab, "-m", "opslib.cli", *command, "--html", str(page), cwd=tmp_path)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        assert "<svg" in page.read_text()
    assert "MAPE" in run.stdout


def test_disk_filling_turns_the_volume_check_red(long_lab: Lab, tmp_path: Path) -> None:
    long_lab.inject("disk-filling")
    try:
        red = _severities(long_lab, tmp_path, CAPACITY)
        assert red["test_volumes_hold_growth"] == "CRITICAL", red
        assert red["test_backup_volume_holds_policy"] == "CRITICAL", red
        assert red["test_forecast_backtest"] == "OK", red
    finally:
        long_lab.heal()
    healed = _severities(long_lab, tmp_path, CAPACITY)
    assert healed["test_volumes_hold_growth"] == "OK", healed
    assert healed["test_backup_volume_holds_policy"] == "OK", healed


def test_slow_week_turns_the_response_time_check_red(long_lab: Lab, tmp_path: Path) -> None:
    domain = long_lab.domains[2]
    assert domain in long_lab.inject("slow-week", domain)
    try:
        red = _severities(long_lab, tmp_path, REVIEW)
        assert red["test_response_times_by_domain"] == "CRITICAL", red
        review = _run(long_lab, "-m", "opslib.cli", "review", "weekly", "--json", cwd=tmp_path)
        assert review.returncode == 2, review.stdout[-3000:] + review.stderr[-2000:]
        assert domain in review.stdout
    finally:
        long_lab.heal()
    healed = _severities(long_lab, tmp_path, REVIEW)
    assert healed["test_response_times_by_domain"] == "OK", healed

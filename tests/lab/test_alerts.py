"""End to end: check results reach the lab's Prometheus through node_exporter's textfile
collector, and opslib's alerting rules fire on them and resolve after the heal and a new run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from opslib.lab import Lab
from opslib.lab._prometheus import find_node_exporter
from tests.lab.conftest import prom_query
from tests.support import free_port, poll_until, require

ROOT = Path(__file__).resolve().parents[2]
ERROR_RATE = "checks/daily/test_health.py::test_error_rate"
FRESHNESS = "checks/daily/test_data_quality.py::test_data_freshness"


def run_checks(lab: Lab, tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """Run the two daily checks, results to the lab's textfile; return severity by node id."""
    summary = tmp_path / "daily.json"
    argv = [sys.executable, "-m", "pytest", str(ROOT / "checks" / "daily"), "-p",
            "no:cacheprovider", "-k", "error_rate or data_freshness", f"--ops-summary={summary}",
            f"--ops-prometheus={lab.textfile_dir / 'daily.prom'}"]  # fmt: skip
    run = subprocess.run(
        argv,
        env={**os.environ, "OPSLIB_CONFIG": str(lab.config_file), **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert f"Prometheus {lab.textfile_dir / 'daily.prom'}" in run.stdout, run.stdout[-2000:]
    checks = json.loads(summary.read_text())["checks"]
    return {c["nodeid"]: c["severity"] for c in checks}


def firing(lab: Lab) -> set[tuple[str, str]]:
    """(alert name, check) of every opslib alert firing in the lab's Prometheus."""
    response = httpx.get(
        f"http://127.0.0.1:{lab.settings.prometheus_port}/api/v1/alerts",
        timeout=5,
        trust_env=False,
    )
    alerts: list[dict[str, Any]] = response.json()["data"]["alerts"]
    return {
        (a["labels"]["alertname"], a["labels"].get("check", ""))
        for a in alerts
        if a["state"] == "firing" and a["labels"]["alertname"].startswith("Opslib")
    }


def last_run(lab: Lab) -> float:
    found = prom_query(lab.settings, 'opslib_suite_last_run_timestamp_seconds{suite="daily"}')
    return float(found[0]["value"][1]) if found else 0.0


def test_critical_and_unknown_fire_and_resolve_after_heal(lab: Lab, tmp_path: Path) -> None:
    require(find_node_exporter() is not None, "prometheus-node-exporter not installed")
    lab.heal()
    up = prom_query(lab.settings, 'up{job="node"}')
    assert [float(s["value"][1]) for s in up] == [1.0], up

    # A burst of errors on one shop (CRITICAL), and a database nobody listens on (UNKNOWN).
    lab.inject("error-burst", lab.domains[2])
    try:
        dead_db = {"OPSLIB_DATABASE_DSN": f"host=127.0.0.1 port={free_port()} dbname=x user=x"}
        wanted = {ERROR_RATE: "CRITICAL", FRESHNESS: "UNKNOWN"}
        red = poll_until(lambda: run_checks(lab, tmp_path, dead_db), lambda r: r == wanted, 150, 5)
        assert red == wanted
        expected = {("OpslibCheckCritical", ERROR_RATE), ("OpslibCheckUnknown", FRESHNESS)}
        fired = poll_until(lambda: firing(lab), lambda f: f == expected, 30, 1)
        assert fired == expected
        red_run = last_run(lab)
        assert red_run > 0
    finally:
        lab.heal()

    wanted = {ERROR_RATE: "OK", FRESHNESS: "OK"}
    green = poll_until(lambda: run_checks(lab, tmp_path, {}), lambda r: r == wanted, 180, 10)
    assert green == wanted
    resolved = poll_until(lambda: firing(lab), lambda f: not f, 30, 1)
    assert resolved == set()
    assert last_run(lab) > red_run

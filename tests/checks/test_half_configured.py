"""A half-configured platform: every check of every suite ends OK, WARNING, CRITICAL or UNKNOWN
with its reason, never a traceback, within the configured timeouts plus a few seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opslib.config import load_settings
from opslib.lab import Lab
from tests.dbkit import TestDatabase
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
SEVERITIES = {"OK", "WARNING", "CRITICAL", "UNKNOWN"}


def _suites(env: dict[str, str], tmp_path: Path) -> tuple[dict[str, object], float, str]:
    html = tmp_path / "report.html"
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *(str(ROOT / "checks" / s) for s in
         ("daily", "weekly", "monthly")), "-p", "no:cacheprovider", "--html", str(html),
         "--self-contained-html"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    return json.loads(html.with_suffix(".json").read_text()), seconds, run.stdout + run.stderr


def _base(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    closed = free_port()
    env.update(
        OPSLIB_CONFIG=os.devnull,
        OPSLIB_TIMEOUTS__CONNECT="1",
        OPSLIB_TIMEOUTS__HTTP="1",
        OPSLIB_TIMEOUTS__DOCKER="1",
        OPSLIB_PROMETHEUS_URL=f"http://127.0.0.1:{closed}",
        OPSLIB_METRICS_URLS=f'["http://127.0.0.1:{closed}/metrics"]',
        OPSLIB_DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock",
        OPSLIB_BACKUPS__BACKUP_DIR=str(tmp_path),
        OPSLIB_DATABASE_DSN=f"host=127.0.0.1 port={closed} dbname=x user=u password=Hidden123",
    )
    return env


def _assert_every_check_judged(summary: dict[str, object], output: str) -> dict[str, str]:
    checks = summary["checks"]
    assert isinstance(checks, list)
    assert checks, "no check ran"
    severities = {c["nodeid"].split("::")[-1]: c["severity"] for c in checks}
    assert set(severities.values()) <= SEVERITIES, severities
    for check in checks:
        assert check["message"].startswith(check["severity"]), check
        if check["severity"] == "UNKNOWN":
            assert "\n" not in check["message"], check  # the reason, in one line
    assert "Traceback" not in output
    assert "Hidden123" not in output
    return severities


@pytest.mark.parametrize("present", ["postgresql only", "nothing"])
def test_without_prometheus_or_docker(
    present: str, platform_db: TestDatabase, tmp_path: Path
) -> None:
    env = _base(tmp_path)
    if present == "postgresql only":
        env["OPSLIB_DATABASE_DSN"] = platform_db.dsn
    summary, seconds, output = _suites(env, tmp_path)
    severities = _assert_every_check_judged(summary, output)
    assert severities["test_error_rate"] == "UNKNOWN"
    assert severities["test_services_running"] == "UNKNOWN"
    reached = severities["test_backup_recency"] != "UNKNOWN"  # reads opslib's catalogue
    assert reached is (present == "postgresql only")
    assert seconds < 60, f"the suites took {seconds:.0f} s"


def test_prometheus_only(lab: Lab, tmp_path: Path) -> None:
    env = _base(tmp_path)
    lab_settings = load_settings(lab.config_file)
    env["OPSLIB_PROMETHEUS_URL"] = lab_settings.prometheus_url
    env["OPSLIB_METRICS_URLS"] = json.dumps(lab_settings.metrics_urls)
    summary, seconds, output = _suites(env, tmp_path)
    severities = _assert_every_check_judged(summary, output)
    assert severities["test_error_rate"] != "UNKNOWN"  # Prometheus answers
    assert severities["test_data_freshness"] == "UNKNOWN"  # no database
    assert seconds < 60, f"the suites took {seconds:.0f} s"

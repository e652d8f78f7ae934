"""The deploy gate against the lab: `pytest checks/maintenance/pre`, a "deploy", then
`pytest checks/maintenance/post`, as CI runs them (subprocesses, the JSON summaries read).

A deploy that breaks something is a lab fault injected between pre and post; a fault injected
before pre is already red in the baseline, so post warns about it instead of failing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opslib import health, quality
from opslib.adapters import Database, Prometheus
from opslib.config import Settings, load_settings
from opslib.lab import Lab
from opslib.maintenance import MaintenanceMode
from opslib.results import Severity
from tests.labkit import require_docker_lab
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]
# The lab writes a row per domain about every second: a domain silent for 20 s has stopped.
GATE_THRESHOLDS = '\n[thresholds."gate.data_flow"]\nwarn = 10\ncrit = 20\n'


@dataclass(frozen=True)
class Run:
    """One suite run: its exit status, output and severities by check name."""

    returncode: int
    stdout: str
    checks: dict[str, tuple[str, str]]

    def severity(self, check: str) -> str:
        return self.checks[check][0]

    def message(self, check: str) -> str:
        return self.checks[check][1]


@dataclass
class Gate:
    """The lab, a config of its own for the gate, and a reports folder."""

    lab: Lab
    config: Path
    reports: Path
    settings: Settings
    db: Database
    prometheus: Prometheus

    def run(self, suite: str) -> Run:
        env = {**os.environ, "OPSLIB_CONFIG": str(self.config)}
        html = self.reports / f"{suite}.html"
        argv = [sys.executable, "-m", "pytest", str(ROOT / "checks" / "maintenance" / suite),
                "-p", "no:cacheprovider", "--html", str(html), "--self-contained-html"]  # fmt: skip
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=120, cwd=self.reports,
            check=False,
        )  # fmt: skip
        summary = json.loads(html.with_suffix(".json").read_text())
        checks = {
            c["nodeid"].split("::")[-1]: (c["severity"], c["message"]) for c in summary["checks"]
        }
        return Run(done.returncode, done.stdout, checks)

    def error_rate(self) -> Severity:
        return health.error_rate(self.prometheus, self.settings).severity


def _backup(lab: Lab, cwd: Path) -> None:
    env = {**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}
    for step in ("create", "verify"):
        done = subprocess.run(
            [sys.executable, "-m", "opslib.cli", "backup", step], env=env, capture_output=True,
            text=True, timeout=120, cwd=cwd, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def verified_backup(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A backup created and verified once: the pre gate's rollback point."""
    require_docker_lab(lab)  # the gate's service checks read the lab's containers
    _backup(lab, tmp_path_factory.mktemp("backup"))


@pytest.fixture
def gate(healthy_lab: Lab, verified_backup: None, tmp_path: Path) -> Iterator[Gate]:
    config = tmp_path / "opslib.toml"
    config.write_text(healthy_lab.config_file.read_text() + GATE_THRESHOLDS)
    config.chmod(0o600)
    settings = load_settings(config)
    assert settings.database_dsn is not None
    with (
        Database(settings.database_dsn.get_secret_value()) as db,
        Prometheus(settings.prometheus_url, timeout=5) as prometheus,
    ):
        found = Gate(healthy_lab, config, tmp_path, settings, db, prometheus)
        # A fault healed by an earlier test may still be inside the lab's 1-minute windows.
        ok = poll_until(found.error_rate, lambda s: s is Severity.OK, 90)
        assert ok is Severity.OK
        yield found


def _domain_confidence(g: Gate, domain: str) -> float:
    stats = {s.domain: s.confidence for s in quality.domain_stats(g.db, 1)}
    return stats.get(domain) or 1.0


def test_pre_passes_and_post_passes_after_a_clean_deploy(gate: Gate) -> None:
    pre = gate.run("pre")
    assert pre.returncode == 0, pre.stdout[-3000:]
    assert pre.severity("test_save_baseline") == "OK", pre.message("test_save_baseline")
    baseline = json.loads((gate.reports / "baseline.json").read_text())
    assert baseline["schema_version"] == 1
    assert baseline["unmeasured"] == {}
    assert sorted(baseline["quality"]["domain_rows"]) == sorted(gate.lab.domains)
    assert baseline["running"]["scraper"] >= 1
    # The deploy: maintenance on (the scrapers pause), then off again (they resume).
    mode = MaintenanceMode(gate.db, gate.settings.maintenance)
    mode.enable("deploy of a clean build", actor="ci")
    mode.disable(actor="ci")
    post = gate.run("post")
    assert post.returncode == 0, post.stdout[-3000:]
    severities = {name: sev for name, (sev, _msg) in post.checks.items()}
    assert severities["test_baseline"] == "OK", post.message("test_baseline")
    assert set(severities.values()) <= {"OK", "WARNING"}, post.checks
    assert len(severities) == 7
    assert "already red" not in post.stdout


def test_what_was_red_before_the_deploy_warns_instead_of_failing(gate: Gate) -> None:
    target = gate.lab.domains[3]
    gate.lab.inject("low-confidence", target)
    try:
        # Wait until the whole 1-minute window holds the changed layout, so pre and post see
        # the same figure (0.4-0.5).
        low = poll_until(lambda: _domain_confidence(gate, target), lambda c: c < 0.52, 100)
        assert low < 0.52
        pre = gate.run("pre")
        post = gate.run("post")
    finally:
        gate.lab.heal()
    assert pre.returncode == 0, pre.stdout[-3000:]
    baseline = json.loads((gate.reports / "baseline.json").read_text())
    assert baseline["quality"]["domain_confidence"][target] < 0.6
    assert post.returncode == 0, post.stdout[-3000:]
    assert post.severity("test_confidence_not_worse") == "WARNING"
    message = post.message("test_confidence_not_worse")
    assert f"confidence[{target}]" in message
    assert "already red before the deploy" in message


def test_post_fails_on_what_the_deploy_broke(gate: Gate) -> None:
    # Last in the file: its error burst stays in the lab's error window for a minute.
    pre = gate.run("pre")
    assert pre.returncode == 0, pre.stdout[-3000:]
    target = gate.lab.domains[2]
    gate.lab.inject("error-burst", target)
    try:
        red = poll_until(gate.error_rate, lambda s: s is Severity.CRITICAL, 90)
        assert red is Severity.CRITICAL
        post = gate.run("post")
    finally:
        gate.lab.heal()
    assert post.returncode == 1, post.stdout[-3000:]
    assert post.severity("test_error_rate_not_worse") == "CRITICAL"
    message = post.message("test_error_rate_not_worse")
    assert f"error_ratio_rise[{target}]" in message
    assert "before the deploy" in message
    assert "already red" not in message
    # Its pages answer 503: no new rows from it either, and the gate names it.
    assert post.severity("test_data_flowing") == "CRITICAL"
    assert f"seconds_to_new_row[{target}]" in post.message("test_data_flowing")
    assert post.severity("test_maintenance_off") == "OK"

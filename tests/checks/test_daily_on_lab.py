"""The daily checks against the live lab: green when healthy, red for the matching fault.

Each fault is injected with the lab's own mechanism (what `opslib lab inject` does) and the
check is polled, within a bounded deadline, until it turns red; the fault is healed afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opslib import health, maintenance, performance, quality
from opslib.adapters import Database, Platform, Prometheus, scrape_all
from opslib.config import Settings, load_settings
from opslib.lab import Lab
from opslib.results import CheckResult, Severity
from tests.labkit import require_docker_lab
from tests.pytest_plugin.conftest import read_html
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    """The adapters a check needs, pointed at the lab."""

    settings: Settings
    db: Database
    prometheus: Prometheus
    platform: Platform


@pytest.fixture(scope="module")
def stack(lab: Lab) -> Iterator[Stack]:
    settings = load_settings(lab.config_file)
    assert settings.database_dsn is not None
    t = settings.timeouts
    with (
        Database(settings.database_dsn.get_secret_value(), connect_timeout=t.connect) as db,
        Prometheus(settings.prometheus_url, timeout=t.http) as prometheus,
        Platform(settings.compose_project, timeout=t.docker) as platform,
    ):
        yield Stack(settings, db, prometheus, platform)


Check = Callable[[Stack], CheckResult]


def _queue(s: Stack) -> CheckResult:
    return performance.queue_size(scrape_all, s.prometheus, s.settings)


CHECKS: dict[str, Check] = {
    "services": lambda s: health.service_status(s.platform, s.settings),
    "error_rate": lambda s: health.error_rate(s.prometheus, s.settings),
    "queue": _queue,
    "coverage": lambda s: quality.price_coverage(s.db, s.settings),
    "domain_confidence": lambda s: quality.domain_confidence(s.db, s.settings),
    "freshness": lambda s: quality.data_freshness(s.db, s.settings),
    "maintenance": lambda s: maintenance.stuck_windows(s.db, s.settings),
}


def wait_for(
    check: Check, stack: Stack, accept: Callable[[CheckResult], bool], *, deadline: float = 120
) -> CheckResult:
    """Poll ``check`` every 2 s until ``accept`` holds or ``deadline`` seconds pass."""
    return poll_until(lambda: check(stack), accept, deadline)


def test_daily_run_on_healthy_lab_is_all_green_with_reports(lab: Lab, tmp_path: Path) -> None:
    """`pytest checks/daily` exits 0, every check OK, reports written, no secret in them."""
    require_docker_lab(lab)  # services, restarts and resources read the lab's containers
    lab.heal()
    html, junit = tmp_path / "daily.html", tmp_path / "daily.xml"
    env = {**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}
    argv = [sys.executable, "-m", "pytest", str(ROOT / "checks" / "daily"),
            "-p", "no:cacheprovider", "--html", str(html), "--self-contained-html",
            "--junitxml", str(junit)]  # fmt: skip

    def run_daily() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path, check=False
        )

    def severities() -> dict[str, str]:
        summary = json.loads((tmp_path / "daily.json").read_text())
        return {
            c["nodeid"].split("::")[-1]: f"{c['severity']}: {c['message']}"
            for c in summary["checks"]
        }

    def all_ok(run: subprocess.CompletedProcess[str]) -> bool:
        return run.returncode == 0 and all(s.startswith("OK") for s in severities().values())

    # Earlier tests may have just healed a fault that is still inside a check's window.
    deadline = time.monotonic() + 120
    run = run_daily()
    while not all_ok(run) and time.monotonic() < deadline:
        time.sleep(10)
        run = run_daily()
    assert run.returncode == 0, run.stdout[-3000:]
    found = severities()
    assert len(found) == 12
    assert all(s.startswith("OK") for s in found.values()), found
    password = load_settings(lab.config_file).database_dsn
    assert password is not None
    secret = password.get_secret_value().split("password=")[1].split()[0]
    for path in (html, junit, tmp_path / "daily.json"):
        text = path.read_text()
        assert secret not in text
    assert secret not in run.stdout
    report = read_html(html)
    assert len(report.rows) == 12
    extras = "".join(x for row in report.rows.values() for x in row.extras)
    assert "<svg" in extras
    assert "hourly extractions" in extras
    assert "daily.data_quality" in report.raw


@dataclass(frozen=True)
class Fault:
    name: str
    check: str
    severity: Severity
    mention: str
    target: bool = False
    containers: bool = False  # its check reads the lab's containers from the Docker engine
    judged: tuple[str, ...] = ()  # other checks that must still measure (not UNKNOWN) meanwhile


FAULTS = [
    Fault(
        "scraper-stopped",
        "services",
        Severity.CRITICAL,
        "not_running",
        containers=True,
        judged=("queue",),  # judged on the scraper that still answers, naming the stopped one
    ),
    Fault("error-burst", "error_rate", Severity.CRITICAL, "error_ratio", target=True),
    Fault("low-confidence", "domain_confidence", Severity.CRITICAL, "confidence", target=True),
    Fault("missing-prices", "coverage", Severity.CRITICAL, "price_coverage"),
    Fault("queue-backlog", "queue", Severity.CRITICAL, "queue_size"),
    Fault("stale-data", "freshness", Severity.CRITICAL, "missing_hours"),
    Fault("maintenance-stuck", "maintenance", Severity.CRITICAL, "minutes_past_expected_end"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_turns_its_check_red(lab: Lab, stack: Stack, fault: Fault) -> None:
    if fault.containers:
        require_docker_lab(lab)
    check = CHECKS[fault.check]
    lab.heal()
    healthy = wait_for(check, stack, lambda r: r.severity is Severity.OK)
    assert healthy.severity is Severity.OK, healthy.message()
    target = lab.domains[2] if fault.target else None
    lab.inject(fault.name, target)
    try:
        red = wait_for(check, stack, lambda r: r.severity is fault.severity)
        meanwhile = {name: CHECKS[name](stack) for name in fault.judged}
    finally:
        lab.heal()
    for name, result in meanwhile.items():
        assert result.severity is not Severity.UNKNOWN, f"{name}: {result.message()}"
        notes = " ".join(m.note for m in result.measurements)
        assert "/metrics endpoints; metrics http://127.0.0.1:" in notes, f"{name}: {notes}"
    message = red.message()
    assert red.severity is fault.severity, message
    assert fault.mention in message
    if target is not None:
        assert target in message
    assert "next:" in message

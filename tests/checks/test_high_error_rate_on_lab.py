"""checks/emergency/high_error_rate against the live lab: three shops fail at once, each for
its own reason (rate limiting, blocking the proxies, down); the suite names each cause and its
command, the commands it names are run, and every shop's error rate recovers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opslib import health, logs, sites
from opslib.adapters import Database, Prometheus
from opslib.cli import main
from opslib.config import Settings, load_settings
from opslib.connect import open_platform
from opslib.health import Cause
from opslib.lab import Lab
from opslib.results import CheckResult, Severity
from opslib.sites import Verdict
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]
# fault -> (the cause the error rate names, the site verdict, the command the check names)
FAULTS = {
    "rate-limited": (Cause.RATE_LIMITED, Verdict.RATE_LIMITED, "opslib ratelimit set {d}"),
    "site-blocking": (Cause.BLOCKED, Verdict.BLOCKING, "opslib domains cooldown {d}"),
    "site-down": (Cause.SITE_DOWN, Verdict.DOWN, "opslib domains cooldown {d}"),
}
# the command that acts on each, as an operator runs it from the check's remediation
CONTROLS = {
    "rate-limited": ["ratelimit", "set", "{d}", "--rate", "0.3/s", "--burst", "1"],
    "site-blocking": ["domains", "cooldown", "{d}", "--for", "30m"],
    "site-down": ["domains", "cooldown", "{d}", "--for", "30m"],
}


@pytest.fixture
def stack(
    healthy_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Database, Prometheus, Settings]]:
    settings = load_settings(healthy_lab.config_file)
    monkeypatch.setenv("OPSLIB_CONFIG", str(healthy_lab.config_file))
    assert settings.database_dsn is not None
    with (
        Database(settings.database_dsn, connect_timeout=settings.timeouts.connect) as db,
        Prometheus(settings.prometheus_url, timeout=settings.timeouts.http) as prometheus,
    ):
        yield db, prometheus, settings
        domains = list(healthy_lab.domains)
        db.execute("DELETE FROM opslib.rate_limits WHERE domain = ANY(%s)", (domains,))
        db.execute("DELETE FROM opslib.domain_state WHERE domain = ANY(%s)", (domains,))


def _causes(prometheus: Prometheus, settings: Settings) -> CheckResult:
    return health.error_causes(prometheus, settings)


def _red(result: CheckResult) -> dict[str, str]:
    return {m.subject: m.note for m in result.problems if m.subject}


def _wait_for_calm(prometheus: Prometheus, settings: Settings) -> None:
    """An earlier fault (another test's, or the one just healed) may still be inside the
    1 min error window."""
    calm = poll_until(lambda: _causes(prometheus, settings), lambda r: not _red(r), 150)
    assert not _red(calm), calm.message()


def test_each_cause_is_named_and_its_command_brings_the_errors_down(
    healthy_lab: Lab, stack: tuple[Database, Prometheus, Settings]
) -> None:
    db, prometheus, settings = stack
    _wait_for_calm(prometheus, settings)
    targets = dict(zip(FAULTS, healthy_lab.domains[1:4], strict=True))
    for fault, domain in targets.items():
        healthy_lab.inject(fault, domain)
    try:
        _diagnose(db, prometheus, settings, targets)
        for fault, domain in targets.items():
            argv = [arg.format(d=domain) for arg in CONTROLS[fault]]
            assert main(argv) == 0, argv
        recovered = poll_until(
            lambda: _causes(prometheus, settings),
            lambda r: not set(_red(r)) & set(targets.values()),
            150,
        )
        assert not set(_red(recovered)) & set(targets.values()), recovered.message()
    finally:
        healthy_lab.heal()


def _diagnose(
    db: Database, prometheus: Prometheus, settings: Settings, targets: dict[str, str]
) -> None:
    """The suite's three diagnostic checks each name every target's cause and command."""
    expected = {
        domain: f"likely cause: {FAULTS[fault][0].value}" for fault, domain in targets.items()
    }
    causes = poll_until(
        lambda: _causes(prometheus, settings),
        lambda r: all(want in _red(r).get(d, "") for d, want in expected.items()),
        120,
    )
    red = _red(causes)
    for fault, domain in targets.items():
        assert expected[domain] in red.get(domain, ""), causes.message()
        assert FAULTS[fault][2].format(d=domain) in causes.remediation

    verdicts = sites.sites_that_err(sorted(red), db, settings)
    by_domain = {m.subject: m.note for m in verdicts.measurements}
    for fault, domain in targets.items():
        assert by_domain[domain].startswith(FAULTS[fault][1].label), verdicts.message()

    since = datetime.now(UTC) - 2 * settings.error_window_span
    # Docker workers log to their containers; local ones to the files in logs.files
    opened = nullcontext(None) if settings.logs.files else open_platform(settings)
    with opened as platform:
        patterns = logs.error_patterns(logs.recent_log_lines(settings, platform, since), settings)
    shown = {row[3] for row in patterns.tables[0].rows}
    assert Cause.RATE_LIMITED.value in shown, patterns.message()
    assert patterns.severity is not Severity.UNKNOWN


def test_suite_runs_as_pytest_with_its_report(
    healthy_lab: Lab, stack: tuple[Database, Prometheus, Settings], tmp_path: Path
) -> None:
    _wait_for_calm(*stack[1:])
    summary = tmp_path / "summary.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "checks" / "emergency" / "high_error_rate"),
         "-p", "no:cacheprovider", f"--ops-summary={summary}"],
        env={**os.environ, "OPSLIB_CONFIG": str(healthy_lab.config_file)},
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert summary.read_text().count("emergency.high_error_rate") >= 4

"""The weekly proxy-pool checks against the live lab: green when healthy, red for each proxy fault.

This module sorts after ``test_daily_on_lab.py`` on purpose: a healed proxy fault lingers in the
daily proxy-performance window (scrape_logs of the last 10 minutes), so the daily green run goes
first. Each fault is healed, and the pool's test results refreshed, before the test ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opslib import proxies
from opslib.config import Settings, load_settings
from opslib.lab import Lab
from opslib.proxies import ProxyPool
from opslib.results import CheckResult, Severity
from tests.pytest_plugin.conftest import read_html
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]
WEEKLY_CHECKS = 5


@dataclass
class PoolStack:
    lab: Lab
    settings: Settings
    pool: ProxyPool


@pytest.fixture(scope="module")
def stack(lab: Lab) -> Iterator[PoolStack]:
    settings = load_settings(lab.config_file)
    with lab.database() as db:
        yield PoolStack(lab, settings, ProxyPool(db, settings.proxies))


def _env(lab: Lab) -> dict[str, str]:
    return {**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}


def run_proxy_test(lab: Lab) -> subprocess.CompletedProcess[str]:
    """Runbook step "Test all proxies": ``opslib proxies test`` records every proxy's result."""
    run = subprocess.run(
        [sys.executable, "-m", "opslib.cli", "--json", "proxies", "test"],
        env=_env(lab), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-2000:]
    return run


Check = Callable[[PoolStack], CheckResult]


def _leaks(s: PoolStack) -> CheckResult:
    run_proxy_test(s.lab)
    return proxies.leaking_proxies(s.pool, s.settings)


CHECKS: dict[str, Check] = {
    "healthy": lambda s: proxies.healthy_proxies(s.pool, s.settings, datetime.now(UTC)),
    "countries": lambda s: proxies.country_distribution(s.pool, s.settings, datetime.now(UTC)),
    "bans": lambda s: proxies.ban_rate(s.pool, s.settings),
    "latency": lambda s: proxies.pool_latency(s.pool, s.settings),
    "leaks": _leaks,
}


def wait_for(
    check: Check, stack: PoolStack, accept: Callable[[CheckResult], bool], *, deadline: float
) -> CheckResult:
    return poll_until(lambda: check(stack), accept, deadline)


def test_weekly_run_on_healthy_lab_is_all_green(lab: Lab, tmp_path: Path) -> None:
    """Test all proxies, then `pytest checks/weekly` exits 0 with every check OK."""
    lab.heal()
    html = tmp_path / "weekly.html"
    # The performance review needs two weeks of history: test_review_capacity_on_lab.py; the
    # database maintenance checks follow `opslib db maintain`: tests/db_maintenance/test_on_lab.py.
    review = ROOT / "checks" / "weekly" / "test_performance_review.py"
    maintenance = ROOT / "checks" / "weekly" / "test_db_maintenance.py"
    argv = [sys.executable, "-m", "pytest", str(ROOT / "checks" / "weekly"), "--ignore",
            str(review), "--ignore", str(maintenance), "-p", "no:cacheprovider", "--html",
            str(html), "--self-contained-html"]  # fmt: skip

    def run_weekly() -> subprocess.CompletedProcess[str]:
        run_proxy_test(lab)
        return subprocess.run(
            argv, env=_env(lab), capture_output=True, text=True, timeout=120, cwd=tmp_path,
            check=False,
        )  # fmt: skip

    # A proxy fault healed by an earlier test may still hold a backoff or a ban (2 min at most).
    deadline = time.monotonic() + 150
    run = run_weekly()
    while run.returncode != 0 and time.monotonic() < deadline:
        time.sleep(5)
        run = run_weekly()
    assert run.returncode == 0, run.stdout[-3000:]
    summary = json.loads(html.with_suffix(".json").read_text())
    severities = {c["nodeid"].split("::")[-1]: c["severity"] for c in summary["checks"]}
    assert len(severities) == WEEKLY_CHECKS, severities
    assert set(severities.values()) == {"OK"}, severities
    assert "weekly.proxy_pool" in html.read_text()
    report = read_html(html)
    (distribution,) = [r for r in report.rows.values() if "country_distribution" in r.test_id]
    extras = "".join(distribution.extras)
    assert "healthy proxies per country" in extras
    # The distribution chart: a "healthy" and a "required" bar for each of the lab's countries.
    countries = {country for _label, country, _port in lab.settings.proxies}
    assert extras.count('class="opslib-bar"') == 2 * len(countries)


@dataclass(frozen=True)
class Fault:
    name: str
    check: str
    mention: str
    proxy: int  # index into the lab's proxies
    also_not_ok: str | None = None


# Ordered by how long a healed fault lingers: leaks clear with the next test, latency within a
# few requests, a backoff within seconds to minutes (requests in flight when it began keep
# reporting failures), a ban after 2 minutes (the lab's ban time). Proxy 2 is left alone: the
# later tests/proxies/test_lab_pool.py needs it leasable to see it banned.
FAULTS = [
    Fault("proxy-leaking", "leaks", "leaking", 4),
    Fault("proxy-slow", "latency", "p95_latency", 3),
    Fault("proxy-dead", "countries", "country_shortfall", 1, also_not_ok="healthy"),
    Fault("proxy-blackhole", "countries", "country_shortfall", 0, also_not_ok="healthy"),
    Fault("proxy-banned", "bans", "banned_share", 5),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_proxy_fault_turns_its_check_red(lab: Lab, stack: PoolStack, fault: Fault) -> None:
    check = CHECKS[fault.check]
    label, country, _port = lab.settings.proxies[fault.proxy]
    lab.heal()
    healthy = wait_for(check, stack, lambda r: r.severity is Severity.OK, deadline=150)
    assert healthy.severity is Severity.OK, healthy.message()
    lab.inject(fault.name, label)
    try:
        red = wait_for(check, stack, lambda r: r.severity is Severity.CRITICAL, deadline=90)
        other = CHECKS[fault.also_not_ok](stack) if fault.also_not_ok else None
    finally:
        lab.heal()
        run_proxy_test(lab)  # the recorded results follow the healed proxy
    message = red.message()
    assert red.severity is Severity.CRITICAL, message
    assert fault.mention in message
    assert "next:" in message
    if fault.check == "countries":
        assert country in message
    if fault.check == "leaks":
        assert label in message
    if other is not None:
        assert other.severity is not Severity.OK, other.message()
        assert label in other.message()

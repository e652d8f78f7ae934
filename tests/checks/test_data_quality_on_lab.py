"""checks/emergency/data_quality against the live lab: each check passes on the healthy lab,
turns red on its fault (naming the domain and the command) and passes again once healed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opslib import quality
from opslib.adapters import Database
from opslib.config import Settings, load_settings
from opslib.lab import Lab
from opslib.results import CheckResult, Severity
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]
Check = Callable[[Database, Settings], CheckResult]


@dataclass(frozen=True)
class Fault:
    name: str
    check: Check
    mention: str
    command: str


FAULTS = [
    Fault("low-confidence", quality.low_confidence_domains, "confidence", "opslib patterns verify"),
    Fault("missing-prices", quality.missing_price_rates, "missing_price", "opslib sites changes"),
    Fault("price-jump", quality.implausible_prices, "jump > 50 %", "opslib patterns generate"),
]  # fmt: skip


@pytest.fixture(scope="module")
def stack(lab: Lab) -> Iterator[tuple[Database, Settings]]:
    settings = load_settings(lab.config_file)
    assert settings.database_dsn is not None
    with Database(settings.database_dsn, connect_timeout=settings.timeouts.connect) as db:
        yield db, settings


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_turns_its_check_red_and_heal_green(
    lab: Lab, stack: tuple[Database, Settings], fault: Fault
) -> None:
    db, settings = stack

    def wait(severity: Severity, deadline: float) -> CheckResult:
        return poll_until(
            lambda: fault.check(db, settings), lambda r: r.severity is severity, deadline
        )

    lab.heal()
    healthy = wait(Severity.OK, 150)  # an earlier fault may still be inside the 1 min window
    assert healthy.severity is Severity.OK, healthy.message()
    target = lab.domains[2]
    lab.inject(fault.name, target)
    try:
        red = wait(Severity.CRITICAL, 120)
    finally:
        lab.heal()
    message = red.message()
    assert red.severity is Severity.CRITICAL, message
    assert [m.subject for m in red.problems] == [target], message
    assert fault.mention in message
    assert fault.command in message
    # Healed: the window moves past the bad rows (a jump back down comes with each URL's next
    # scrape, within its interval).
    healed = wait(Severity.OK, 180)
    assert healed.severity is Severity.OK, healed.message()


def test_suite_on_healthy_lab_passes(lab: Lab) -> None:
    """`pytest checks/emergency/data_quality` exits 0 on the healthy lab."""
    lab.heal()
    env = {**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}
    argv = [sys.executable, "-m", "pytest", str(ROOT / "checks" / "emergency" / "data_quality"),
            "-p", "no:cacheprovider", "-q"]  # fmt: skip

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                              cwd=ROOT, check=False)  # fmt: skip

    done = poll_until(run, lambda r: r.returncode == 0, 150, interval=10)
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout
    assert "failed" not in done.stdout

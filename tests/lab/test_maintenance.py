"""The lab's scrapers honour maintenance mode, turned on and off with the real command: no new
work claimed where a window covers (a domain, then everything), work in flight finishes, and
they resume when it goes off. The stuck-window fault turns the daily check red and heals."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime

from opslib.adapters import Database
from opslib.config import load_settings
from opslib.lab import Lab
from opslib.maintenance import MaintenanceMode, stuck_windows
from opslib.results import Severity
from tests.support import wait_until

IN_FLIGHT_SECONDS = 2.0  # a claimed page is fetched and written well within this
QUIET_SECONDS = 4.0  # how long no rows must arrive once the workers have settled


def _maintenance(lab: Lab, *argv: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_CONFIG"] = str(lab.config_file)
    run = subprocess.run(
        [sys.executable, "-m", "opslib.cli", "maintenance", *argv],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr


def _now(db: Database) -> datetime:
    row = db.fetch_one("SELECT now() AS now")
    assert row is not None
    now: datetime = row["now"]
    return now


def _rows_by_domain(db: Database, since: datetime) -> dict[str, int]:
    rows = db.fetch_all(
        "SELECT u.domain, count(*) AS n FROM price_history p JOIN monitored_urls u"
        " ON u.id = p.url_id WHERE p.checked_at > %s GROUP BY u.domain",
        (since,),
    )
    return {r["domain"]: int(r["n"]) for r in rows}


def _quiet_window(db: Database, settle: float) -> dict[str, int]:
    """Rows written during QUIET_SECONDS, once ``settle`` seconds have let the workers notice
    the change (their cache) and finish what they had claimed."""
    time.sleep(settle)
    since = _now(db)
    time.sleep(QUIET_SECONDS)
    return _rows_by_domain(db, since)


def test_scrapers_pause_and_resume(healthy_lab: Lab) -> None:
    lab = healthy_lab
    settings = load_settings(lab.config_file)
    settle = settings.maintenance.cache_seconds + IN_FLIGHT_SECONDS
    paused_domain = lab.domains[1]
    with lab.database() as db:
        try:
            _maintenance(lab, "on", "--reason", "lab test: one shop", "--domain", paused_domain)
            one_paused = _quiet_window(db, settle)
            _maintenance(lab, "on", "--reason", "lab test: everything", "--until", "10m")
            all_paused = _quiet_window(db, settle)
            _maintenance(lab, "off")
            resumed = _now(db)
            wait_until(
                lambda: sum(_rows_by_domain(db, resumed).values()) > 0,
                settle + 10,
                "new price_history rows after maintenance off",
            )
        finally:
            MaintenanceMode(db).disable("test cleanup")
    assert paused_domain not in one_paused, one_paused
    assert sum(one_paused.values()) > 0, "the other shops were scraped meanwhile"
    assert all_paused == {}, all_paused


def test_stuck_window_fault_turns_the_check_red_and_heals(healthy_lab: Lab) -> None:
    lab = healthy_lab
    settings = load_settings(lab.config_file)
    with lab.database() as db:
        assert stuck_windows(db, settings).severity is Severity.OK
        description = lab.inject("maintenance-stuck")
        assert "expected to end 1 h ago" in description
        red = stuck_windows(db, settings)
        assert red.severity is Severity.CRITICAL
        assert "service backoffice" in red.message()
        lab.heal()
        assert stuck_windows(db, settings).severity is Severity.OK

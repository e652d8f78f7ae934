"""The lab's scrapers obey the controls, changed with the real commands: a cooldown stops every
request to a shop until it is lifted, a lowered rate limit holds across every worker, and a
strategy's proxy country is followed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime

from opslib.adapters import Database
from opslib.config import load_settings
from opslib.lab import Lab
from tests.support import wait_until

IN_FLIGHT_SECONDS = 2.0  # a claimed page is fetched and written well within this


def _opslib(lab: Lab, *argv: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_CONFIG"] = str(lab.config_file)
    run = subprocess.run(
        [sys.executable, "-m", "opslib.cli", *argv],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr


def _now(db: Database) -> datetime:
    row = db.fetch_one("SELECT now() AS now")
    assert row is not None
    now: datetime = row["now"]
    return now


def _requests(db: Database, domain: str, since: datetime) -> list[dict[str, object]]:
    return db.fetch_all(
        "SELECT started_at, proxy_country FROM scrape_logs WHERE domain = %s AND started_at > %s",
        (domain, since),
    )


def test_scrapers_obey_cooldown_rate_limit_and_strategy(healthy_lab: Lab) -> None:
    lab = healthy_lab
    cooled, limited, steered = lab.domains[2], lab.domains[3], lab.domains[4]
    settle = load_settings(lab.config_file).domain_controls.cache_seconds + IN_FLIGHT_SECONDS
    country = lab.settings.proxies[0][1].lower()
    strategy = lab.settings.state_dir / "strategy.toml"
    strategy.write_text(f'proxy_country = "{country}"\nretries = 0\n')
    with lab.database() as db:
        try:
            _opslib(lab, "domains", "cooldown", cooled, "--for", "10m", "--reason", "lab test")
            _opslib(lab, "ratelimit", "set", limited, "--rate", "0.2/s", "--burst", "1")
            _opslib(lab, "strategies", "set", steered, "--file", str(strategy))
            time.sleep(settle)
            since = _now(db)
            time.sleep(10)
            assert _requests(db, cooled, since) == []
            # 0.2/s over 10 s plus the burst, and at most one held permit per worker
            assert len(_requests(db, limited, since)) <= 0.2 * 10 + 1 + lab.settings.workers
            steered_rows = _requests(db, steered, since)
            assert steered_rows
            assert {str(r["proxy_country"]).strip().lower() for r in steered_rows} == {country}
            assert _requests(db, lab.domains[0], since), "the other shops were scraped meanwhile"
            _opslib(lab, "domains", "cooldown", cooled, "--off")
            lifted = _now(db)
            wait_until(
                lambda: bool(_requests(db, cooled, lifted)), settle + 30, "requests after --off"
            )
        finally:
            for table in ("rate_limits", "domain_state", "strategies"):
                db.execute(
                    "DELETE FROM opslib." + table + " WHERE domain = ANY(%s)",
                    ([cooled, limited, steered],),
                )

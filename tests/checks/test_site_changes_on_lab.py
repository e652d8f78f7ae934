"""checks/emergency/data_quality/test_site_changes.py against the live lab: a shop serves a new
template (site-change); the check fires naming it and its command, every other shop unchanged,
the scrapers' confidence drops; healed, the check passes again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from opslib import quality
from opslib.adapters import Database
from opslib.config import load_settings
from opslib.lab import Lab
from opslib.results import Severity
from opslib.sites import site_changes
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "checks" / "emergency" / "data_quality" / "test_site_changes.py"


def _run_check(lab: Lab) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(CHECK), "-p", "no:cacheprovider", "-q"],
        env=env, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip


def test_site_change_fires_naming_the_domain_and_heals(healthy_lab: Lab) -> None:
    lab = healthy_lab
    settings = load_settings(lab.config_file)
    assert settings.database_dsn is not None
    target = lab.domains[3]
    with Database(settings.database_dsn, connect_timeout=settings.timeouts.connect) as db:
        healthy = site_changes(db, settings)  # the first look records the baselines
        assert healthy.severity is Severity.OK, healthy.message()
        lab.inject("site-change", target)
        try:
            red = site_changes(db, settings)
            suite = _run_check(lab)
            dropped = poll_until(
                lambda: quality.low_confidence_domains(db, settings),
                lambda r: target in [m.subject for m in r.problems],
                150,
                interval=5,
            )
        finally:
            lab.heal("site-change")
        message = red.message()
        assert red.severity is Severity.CRITICAL, message
        assert [m.subject for m in red.problems] == [target], message
        assert f"opslib patterns generate {target}" in message
        assert suite.returncode != 0, suite.stdout[-2000:]
        assert f"opslib patterns generate {target}" in suite.stdout
        assert [m.subject for m in dropped.problems] == [target], dropped.message()
        healed = site_changes(db, settings)
        assert healed.severity is Severity.OK, healed.message()
        assert _run_check(lab).returncode == 0

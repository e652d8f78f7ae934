"""checks/emergency/security's request-rules check on the session lab: the fault
``rules-ignored`` (rules denying /admin* and *.env, an API that skips them, a scanner probing
them) turns it red naming the scanner's block and the patch; heal brings it back to OK."""

from __future__ import annotations

from opslib.config import Settings, load_settings
from opslib.connect import open_database
from opslib.lab import Lab
from opslib.lab._api import ATTACKERS
from opslib.results import CheckResult, Severity
from opslib.security import check_rules_enforced
from tests.support import poll_until


def _judged(settings: Settings) -> CheckResult:
    with open_database(settings) as db:
        return check_rules_enforced(db, settings)


def test_rules_ignored_fires_and_heals(healthy_lab: Lab) -> None:
    settings = load_settings(healthy_lab.config_file)
    assert _judged(settings).severity is Severity.OK
    try:
        assert "rules-ignored" in healthy_lab.inject("rules-ignored")
        red = poll_until(lambda: _judged(settings), lambda r: r.severity is Severity.CRITICAL, 60)
        assert red.severity is Severity.CRITICAL, red.message()
        assert f"opslib security block {ATTACKERS['scan']}" in red.remediation
        assert "opslib security patch" in red.remediation
    finally:
        healthy_lab.heal()
    assert _judged(settings).severity is Severity.OK

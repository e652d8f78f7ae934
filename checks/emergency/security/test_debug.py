"""emergency.security: debug logging and request tracking not left on past their time.

The debug switches (``opslib.debug_switches``, turned on by ``opslib security debug on``) go off
by themselves at their expiry; a switch in effect for longer than the critical limit of
``security.debug_hours`` is red and names ``opslib security debug off``.
"""

from __future__ import annotations

import pytest

from opslib import security
from opslib.adapters import Database
from opslib.config import Settings
from opslib.errors import OpsError
from opslib.pytest_plugin import Verdict
from opslib.results import CheckResult

pytestmark = pytest.mark.sop("emergency.security")


def test_debug_not_left_on(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """No debug switch in effect longer than security.debug_hours (runbook: enable debug logging
    and request tracking, for the investigation only)."""
    try:
        status = security.DebugSwitch(ops_db, ops_settings.security).status()
    except OpsError as exc:
        ops_verdict(CheckResult.unknown(security.SOP, "debug switches", str(exc)))
        return
    ops_verdict(security.check_debug_switches(status, ops_settings))

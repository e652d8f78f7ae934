"""Debug logging and request tracking on a real database: ``opslib security debug on | off |
status``, the expiry honoured by readers (cached or not) with nobody switching it off, the open
incident joined, the check red past security.debug_hours naming the command."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from opslib.config import SecuritySettings, Settings
from opslib.maintenance import MaintenanceScope
from opslib.results import Severity
from opslib.security import (
    DebugSwitch,
    check_debug_switches,
    enable_debug_logging,
    enable_request_tracking,
    generate_incident_report,
)
from tests.dbkit import TestDatabase
from tests.support import poll_until


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["--json", "security", "debug", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_on_off_dry_run_audit_and_refusals(
    env: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    switch = DebugSwitch(env, SecuritySettings(cache_seconds=0))
    code, plan, _ = _run(capsys, "on", "--service", "api", "--dry-run")
    assert (code, plan["action"], plan["dry_run"]) == (0, "on", True)
    assert not switch.state("api").on
    code, plan, _ = _run(capsys, "on", "--service", "api", "--for", "30m")
    assert (code, plan["action"], plan["services"]) == (0, "on", ["api"])
    state = switch.state("api")
    assert state.debug_logging
    assert state.request_tracking
    assert state.until is not None
    assert not switch.state("scraper").on  # another service is not switched
    code, plan, _ = _run(capsys, "on", "--service", "api", "--for", "30m")
    assert plan["action"] == "keep"
    code, plan, _ = _run(capsys, "on", "--service", "api", "--for", "2h", "--only", "tracking")
    assert plan["action"] == "extend"
    state = switch.state("api")
    assert state.request_tracking
    assert not state.debug_logging
    assert main(["security", "debug", "on", "--for", "5h"]) == 2
    err = capsys.readouterr().err
    assert "at most 4 h" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert main(["security", "debug", "status"]) == 0
    capsys.readouterr()
    code, plan, _ = _run(capsys, "off")
    assert (code, plan["action"], len(plan["switches"])) == (0, "off", 1)
    assert not switch.state("api").on
    code, plan, _ = _run(capsys, "off")
    assert plan["action"] == "none"
    actions = [(e.action, e.dry_run) for e in AuditLog(env).recent(10)]
    assert ("security.debug.on", True) in actions
    assert ("security.debug.off", False) in actions
    assert ("security.debug.on", False) in actions


def test_a_switch_goes_off_by_itself_even_from_the_cache(env: TestDatabase) -> None:
    reader = DebugSwitch(env, SecuritySettings(cache_seconds=300))  # reads once
    DebugSwitch(env).on(timedelta(seconds=2), reason="short look", actor="carol")
    assert reader.state().debug_logging  # for every service
    assert reader.state("api").request_tracking
    off = poll_until(lambda: reader.state("api"), lambda s: not s.on, 10)
    assert not off.on
    assert DebugSwitch(env).status().effective == ()  # never ended, yet off for every reader
    made = enable_request_tracking(env, reason="trace one client", services=["api"])
    assert made.action == "on"
    state = DebugSwitch(env).state("api")
    assert state.request_tracking
    assert state.level == logging.INFO
    assert enable_debug_logging(env, reason="look", services=["api"]).action == "extend"
    assert DebugSwitch(env).state("api").level == logging.DEBUG


def test_joins_the_open_incident_and_the_check_names_the_command(
    env: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["security", "incident", "open", "--title", "key leak"]) == 0
    capsys.readouterr()
    _code, plan, _ = _run(capsys, "on", "--service", "api")
    assert plan["incident"] == 1
    report = generate_incident_report(env, 1)
    assert any(row[2] == "security.debug.on" for row in report.timeline)
    settings = Settings()
    switch = DebugSwitch(env)
    ok = check_debug_switches(switch.status(), settings)
    assert ok.severity is Severity.OK
    env.execute(
        "INSERT INTO opslib.debug_switches (services, reason, actor, started_at, expires_at)"
        " VALUES ('{scraper}', 'forgotten', 'dave', now() - interval '5 hours',"
        " now() + interval '2 days')"
    )
    red = check_debug_switches(switch.status(), settings)
    assert red.severity is Severity.CRITICAL
    assert "opslib security debug off --service scraper" in red.remediation
    assert main(["security", "debug", "status"]) == 2
    capsys.readouterr()
    switch.off(MaintenanceScope.of(["scraper"]), actor="carol")
    assert check_debug_switches(switch.status(), settings).severity is Severity.OK

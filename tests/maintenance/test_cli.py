"""``opslib maintenance on | off | status`` against a real database: plans, idempotence, exit
statuses (0 off, 1 on, 2 stuck), the audit log, one-line errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from tests.dbkit import TestDatabase
from tests.support import free_port


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["--json", "maintenance", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_on_status_off(env: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    code, plan, _ = _run(capsys, "on", "--reason", "deploy v2", "--until", "90m", "--dry-run")
    assert (code, plan["action"], plan["dry_run"]) == (0, "open", True)
    assert _run(capsys, "status")[0] == 0  # the dry run changed nothing
    code, plan, _ = _run(capsys, "on", "--reason", "deploy v2", "--until", "90m",
                         "--service", "scraper", "--domain", "Alpha.test")  # fmt: skip
    assert (code, plan["action"]) == (0, "open")
    assert plan["scope"] == {
        "everything": False,
        "services": ["scraper"],
        "domains": ["alpha.test"],
    }
    [window] = plan["windows"]
    assert window["actor"] == "carol"
    code, again, _ = _run(capsys, "on", "--reason", "deploy", "--service", "scraper",
                          "--domain", "alpha.test")  # fmt: skip
    assert (code, again["action"], again["changes"]) == (0, "keep", False)
    code, status, err = _run(capsys, "status")
    assert (code, status["state"]) == (1, "on")
    assert status["windows"][0]["reason"] == "deploy v2"
    assert "maintenance mode is on for services scraper" not in err  # one service: "service"
    assert "maintenance mode is on for service scraper; domain alpha.test" in err
    code, plan, _ = _run(capsys, "off", "--dry-run")
    assert (code, plan["action"], len(plan["windows"])) == (0, "close", 1)
    assert _run(capsys, "status")[0] == 1
    code, plan, _ = _run(capsys, "off")
    assert (code, plan["action"]) == (0, "close")
    assert _run(capsys, "off")[1]["action"] == "none"
    code, status, _ = _run(capsys, "status")
    assert (code, status["state"], status["windows"]) == (0, "off", [])
    audit = [(e.action, e.dry_run, e.outcome, e.actor) for e in AuditLog(env).recent()]
    assert audit == [
        ("maintenance.off", False, "ok", "carol"),
        ("maintenance.off", False, "ok", "carol"),
        ("maintenance.off", True, "ok", "carol"),
        ("maintenance.on", False, "ok", "carol"),
        ("maintenance.on", False, "ok", "carol"),
        ("maintenance.on", True, "ok", "carol"),
    ]
    assert "nothing to change" in AuditLog(env).recent(action="maintenance.on")[0].detail


def test_a_stuck_window_exits_2(env: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    env.execute(
        "INSERT INTO opslib.maintenance_windows (reason, actor, started_at, expected_end)"
        " VALUES ('forgotten', 'bob', now() - interval '3 h', now() - interval '1 h')"
    )
    code, status, _ = _run(capsys, "status")
    assert (code, status["state"]) == (2, "stuck")
    assert status["windows"][0]["stuck"] is True
    assert 59 <= status["windows"][0]["overdue_minutes"] <= 61
    assert main(["maintenance", "status"]) == 2
    out = capsys.readouterr().out
    assert "everything  stuck  forgotten  bob" in out
    assert "CRITICAL: maintenance mode is not stuck" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["on", "--reason", "x", "--until", "soon"], "--until 'soon': not a duration"),
        (["on", "--reason", "x", "--until", "30d"], "more than 168 h ahead"),
        (["on", "--reason", "x", "--service", "no such"], "not a service name"),
        (["on", "--reason", "x", "--domain", "a..b"], "not a domain name"),
        (["on", "--reason", " "], "--reason: say why"),
        (["on"], "Missing option '--reason'"),
        (["sideways"], "No such command"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    env: TestDatabase, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["maintenance", *argv]) == 2
    out, err = capsys.readouterr()
    assert message in err
    assert "Traceback" not in err
    assert out == ""
    if argv[0] == "on" and len(argv) > 1:
        assert len(err.strip().splitlines()) == 1
    assert env.fetch_one("SELECT count(*) AS n FROM opslib.maintenance_windows") == {"n": 0}


def test_unreachable_database_exits_3(
    env: TestDatabase, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "OPSLIB_DATABASE_DSN", f"host=127.0.0.1 port={free_port()} dbname=x password=Secret99"
    )
    monkeypatch.setenv("OPSLIB_TIMEOUTS__CONNECT", "1")
    assert main(["maintenance", "status"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("opslib: error: postgresql:")
    assert "Secret99" not in err

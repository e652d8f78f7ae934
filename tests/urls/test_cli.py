"""``opslib urls pause | resume | interval | status``: the load printed before acting, --dry-run
that changes nothing, the refusal to pause everything, the audit log, an exact restore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from tests.dbkit import TestDatabase
from tests.support import without_opslib_environment


@pytest.fixture
def env(platform_db: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TestDatabase:
    """Ten URLs of alpha.test, priorities 1..10, each every 30 s; opslib pointed at them."""
    without_opslib_environment(monkeypatch)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", platform_db.dsn)
    monkeypatch.setenv("OPSLIB_ACTOR", "carol")
    monkeypatch.chdir(tmp_path)
    platform_db.execute(
        "INSERT INTO monitored_urls (domain, url, priority, check_interval)"
        " SELECT 'alpha.test', 'http://alpha.test/' || n, n, interval '30 seconds'"
        " FROM generate_series(1, 10) AS n"
    )
    return platform_db


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Exit status, the JSON printed, and stderr (the plan's line, errors)."""
    code = main(["--json", "urls", *argv])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else None, captured.err


def _active(db: TestDatabase) -> int:
    row = db.fetch_one("SELECT count(*) AS n FROM monitored_urls WHERE active")
    assert row is not None
    return int(row["n"])


def test_pause_dry_run_then_for_real_then_resume(
    env: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    code, plan, err = _run(capsys, "pause", "--priority", "low", "--for", "2h", "--dry-run")
    assert (code, plan["dry_run"], plan["paused"]) == (0, True, 4)
    assert plan["removes"] == {"urls": 4, "requests_per_hour": 480.0}
    assert "removes 40% of the 1,200 requests/h of 10 active URLs" in err
    assert _active(env) == 10
    code, plan, err = _run(capsys, "pause", "--priority", "low", "--reason", "overload")
    assert (code, plan["paused"]) == (0, 4)
    assert _active(env) == 6
    code, status, _ = _run(capsys, "status")
    assert status["active"]["urls"] == 6
    assert status["paused"][0]["urls"] == 4
    assert status["paused"][0]["actor"] == "carol"
    code, plan, _ = _run(capsys, "resume")
    assert (code, plan["resumed"]) == (0, 4)
    assert _active(env) == 10
    actions = [(e.action, e.dry_run, e.outcome) for e in AuditLog(env).recent()]
    assert actions[:3] == [
        ("urls.resume", False, "ok"),
        ("urls.pause", False, "ok"),
        ("urls.pause", True, "ok"),
    ]


def test_refusals_are_one_line_and_change_nothing(
    env: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "pause", "--domain", "alpha.test")
    assert code == 3
    assert "every active URL (10)" in err
    assert "--force" in err
    assert "Traceback" not in err
    assert _active(env) == 10
    code, _, err = _run(capsys, "pause", "--domain", "alpha.test", "--dry-run")
    assert code == 3
    assert "refused" in err
    code, _, err = _run(capsys, "pause", "--priority", "urgent")
    assert code == 2
    assert "urls.priorities" in err
    code, _, err = _run(capsys, "interval", "--priority", "low")
    assert code == 2
    assert "--factor" in err
    code, _, err = _run(capsys, "pause", "--priority", "low", "--for", "40d")
    assert code == 2
    assert "72" in err
    assert [e.outcome for e in AuditLog(env).recent(action="urls.pause")] == ["refused", "refused"]


def test_interval_then_restore(env: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    code, plan, err = _run(capsys, "interval", "--priority", "low", "--factor", "2", "--dry-run")
    assert (code, plan["changed"]) == (0, 4)
    assert "removes 240 requests/h (480 -> 240 of these URLs)" in err
    code, plan, _ = _run(capsys, "interval", "--priority", "low", "--factor", "2")
    row = env.fetch_one(
        "SELECT count(*) AS n FROM monitored_urls WHERE check_interval = interval '60 s'"
    )
    assert row is not None
    assert row["n"] == 4
    code, plan, err = _run(capsys, "interval", "--priority", "low", "--restore")
    assert (code, plan["restore"], plan["changed"]) == (0, True, 4)
    assert "adds 240 requests/h" in err
    row = env.fetch_one(
        "SELECT count(*) AS n FROM monitored_urls WHERE check_interval = interval '30 s'"
    )
    assert row is not None
    assert row["n"] == 10

"""``opslib domains list | cooldown | pause | resume | auto-cooldown``: plans, --dry-run that
changes nothing, the audit log, every domain listed with its state, limit and strategy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from tests.dbkit import TestDatabase


@pytest.fixture
def env(env: TestDatabase) -> TestDatabase:
    platform_db = env
    platform_db.execute(
        "INSERT INTO monitored_urls (domain, url) VALUES ('alpha.test', 'http://alpha.test/1'),"
        " ('Beta.test', 'http://beta.test/1')"
    )
    return platform_db


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["--json", "domains", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def _states(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    code, listed, _ = _run(capsys, "list")
    assert code == 0
    return {d["domain"]: d["state"] for d in listed["domains"]}


def test_cooldown_dry_run_then_for_real(
    env: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _states(capsys) == {"alpha.test": "active", "beta.test": "active"}
    code, plan, _ = _run(capsys, "cooldown", "alpha.test", "--for", "30m", "--dry-run")
    assert (code, plan["action"], plan["dry_run"]) == (0, "cooldown", True)
    assert _states(capsys)["alpha.test"] == "active"  # the dry run changed nothing
    code, plan, _ = _run(capsys, "cooldown", "alpha.test", "--for", "30m", "--reason", "bans")
    assert (code, plan["action"]) == (0, "cooldown")
    code, listed, _ = _run(capsys, "list")
    alpha = next(d for d in listed["domains"] if d["domain"] == "alpha.test")
    assert (alpha["state"], alpha["reason"], alpha["actor"]) == ("cooling", "bans", "carol")
    assert alpha["rate_limit"]["configured"] is False
    assert alpha["strategy_version"] is None
    code, plan, _ = _run(capsys, "cooldown", "alpha.test", "--off", "--dry-run")
    assert plan["action"] == "end"
    assert _states(capsys)["alpha.test"] == "cooling"
    assert _run(capsys, "cooldown", "alpha.test", "--off")[1]["action"] == "end"
    assert _states(capsys)["alpha.test"] == "active"
    audit = [(e.action, e.dry_run, e.outcome) for e in AuditLog(env).recent()]
    assert audit == [
        ("domains.cooldown", False, "ok"),
        ("domains.cooldown", True, "ok"),
        ("domains.cooldown", False, "ok"),
        ("domains.cooldown", True, "ok"),
    ]


def test_pause_resume_and_text(env: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["domains", "pause", "beta.test", "--dry-run"]) == 0
    assert capsys.readouterr().out == "would pause beta.test: paused by hand\n"
    assert _states(capsys)["beta.test"] == "active"
    assert main(["domains", "pause", "beta.test", "--reason", "redesign"]) == 0
    assert main(["ratelimit", "set", "beta.test", "--rate", "1/s"]) == 0
    capsys.readouterr()
    assert main(["domains", "list"]) == 0
    out = capsys.readouterr().out
    beta = next(line for line in out.splitlines() if line.startswith("beta.test"))
    assert "paused (redesign, by carol)" in beta
    assert "1/s, burst 1" in beta
    assert main(["domains", "resume", "beta.test"]) == 0
    assert capsys.readouterr().out == "resume beta.test\n"
    assert _states(capsys)["beta.test"] == "active"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cooldown", "alpha.test"], "give --for DURATION"),
        (["cooldown", "alpha.test", "--for", "30m", "--off"], "give --for DURATION"),
        (["cooldown", "alpha.test", "--for", "soon"], "not a duration"),
        (["cooldown", "alpha.test", "--for", "30d"], "more than 168 h"),
        (["cooldown", "not a domain", "--for", "1m"], "not a domain name"),
    ],
    ids=["nothing", "both", "bad-duration", "too-long", "bad-domain"],
)
def test_bad_input_is_one_line(
    env: TestDatabase, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["domains", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert message in err


def test_auto_cooldown_command(env: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    env.execute(
        "INSERT INTO scrape_logs (domain, outcome) SELECT 'alpha.test',"
        " CASE WHEN n % 5 = 0 THEN 'ok' ELSE 'banned' END FROM generate_series(1, 50) n"
    )
    code, found, _ = _run(capsys, "auto-cooldown")
    assert code == 0
    assert [(f["domain"], f["bans"]) for f in found["started"]] == [("alpha.test", 40)]
    assert _states(capsys)["alpha.test"] == "cooling"
    [entry] = AuditLog(env).recent(action="domains.cooldown")
    assert entry.actor == "opslib auto-cooldown"

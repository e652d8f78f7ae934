"""A failed step stops the run with its state recorded, and ``--resume`` continues there:
``opslib maintenance run`` in-process against a test database, a real webhook receiver and
real config files (no lab needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opslib.cli import main
from opslib.config import toml_value
from tests.dbkit import TestDatabase
from tests.notify.receivers import TOKEN, Hooks, hooks
from tests.support import without_opslib_environment


def write_config(tmp_path: Path, db: TestDatabase, hook: Hooks, live: Path) -> Path:
    lines = [
        f"database_dsn = {toml_value(db.dsn)}",
        'platform_name = "resume-test"',
        "[backups]",
        f"backup_dir = {toml_value(str(tmp_path / 'backups'))}",
        f"config_paths = [{toml_value(str(live))}]",
        "[notify]",
        'contact = "ops desk"',
        "timeout = 2",
        "attempts = 1",  # so /flaky's one 503 fails the first send
        "[[notify.channels]]",
        'type = "webhook"',
        'name = "ops-hook"',
        f"url = {toml_value(hook.recording_url)}",
        "[[notify.channels]]",
        'type = "webhook"',
        'name = "flaky-hook"',
        f"url = {toml_value(hook.url('/flaky?token=' + TOKEN))}",
    ]
    path = tmp_path / "opslib.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def setup(tmp_path: Path, platform_db: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> Any:
    without_opslib_environment(monkeypatch)
    monkeypatch.setenv("OPSLIB_ACTOR", "resume-test")
    live = tmp_path / "etc" / "scraper.toml"
    live.parent.mkdir()
    live.write_text("workers = 4\n")
    (tmp_path / "backups").mkdir()
    with hooks() as hook:
        monkeypatch.setenv("OPSLIB_CONFIG", str(write_config(tmp_path, platform_db, hook, live)))
        yield hook, live


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def plan(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "plan.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def windows_open(db: TestDatabase) -> int:
    rows = db.fetch_all(
        "SELECT count(*) AS n FROM opslib.maintenance_windows WHERE ended_at IS NULL"
    )
    return int(rows[0]["n"])


def audited(db: TestDatabase, action: str) -> list[str]:
    rows = db.fetch_all(
        "SELECT outcome FROM opslib.audit_log WHERE action = %s ORDER BY id", (action,)
    )
    return [str(r["outcome"]) for r in rows]


def test_a_failed_notice_is_resent_only_to_the_channel_that_failed(
    setup: Any, tmp_path: Path, platform_db: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    hook, _ = setup
    steps = plan(tmp_path, 'reason = "deploy v2"',
                 'steps = ["notice", "maintenance_on", "maintenance_off"]')  # fmt: skip
    code, out, err = run(capsys, "maintenance", "run", "--plan", steps)
    assert code == 2, out + err
    assert "stopped at step notice: notify: sent to ops-hook; failed: flaky-hook (HTTP 503" in err
    assert "--resume" in err
    assert [r.body["kind"] for r in hook.received] == ["maintenance"]  # ops-hook only
    assert hook.hits["/flaky"] == 1
    assert windows_open(platform_db) == 0  # the failed notice left maintenance mode alone
    code, out, _ = run(capsys, "maintenance", "run", "--status")
    assert code == 2
    assert "failed at step notice" in out
    assert "maintenance_on: pending" in out

    code, out, err = run(capsys, "maintenance", "run", "--resume")
    assert code == 0, out + err
    assert [r.path for r in hook.received] == [f"/hook/{TOKEN}", "/flaky"]  # no second copy
    assert hook.hits == {f"/hook/{TOKEN}": 1, "/flaky": 2}
    assert "already sent" not in out
    assert "sent to flaky-hook" in out
    assert windows_open(platform_db) == 0
    assert audited(platform_db, "maintenance.run.notice") == ["started", "failed", "started", "ok"]
    assert TOKEN not in out + err


def test_a_failed_step_stops_the_run_and_resume_continues_there(
    setup: Any, tmp_path: Path, platform_db: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    _, live = setup
    config_set = tmp_path / "set"
    config_set.mkdir()
    (config_set / "scraper.toml").write_text("workers = \n")  # does not parse
    steps = plan(
        tmp_path,
        'steps = ["maintenance_on", "update_configs", "maintenance_off"]',
        "[step.update_configs]",
        f"source = {toml_value(str(config_set))}",
    )
    code, out, err = run(capsys, "maintenance", "run", "--plan", steps)
    assert code == 2, out + err
    assert "stopped at step update_configs: config set:" in err
    assert "scraper.toml does not parse" in err
    assert live.read_text() == "workers = 4\n"
    assert windows_open(platform_db) == 1  # on, as the run left it: --status says so
    code, out, _ = run(capsys, "maintenance", "run", "--status")
    assert code == 2
    assert "failed at step update_configs" in out
    assert "maintenance mode is on" in out
    assert "next: `opslib maintenance run --resume` continues at step update_configs" in out
    # A new run is refused while this one is unfinished.
    code, _, err = run(capsys, "maintenance", "run", "--plan", steps)
    assert code != 0
    assert "continue it with --resume, or --abandon it first" in err

    (config_set / "scraper.toml").write_text("workers = 8\n")
    code, out, err = run(capsys, "maintenance", "run", "--resume")
    assert code == 0, out + err
    assert live.read_text() == "workers = 8\n"
    [kept] = (tmp_path / "backups" / "config-sets").glob("run-*/previous/scraper.toml")
    assert kept.read_text() == "workers = 4\n"
    assert windows_open(platform_db) == 0
    assert audited(platform_db, "maintenance.run.maintenance_on") == ["started", "ok"]  # once
    assert audited(platform_db, "maintenance.run.update_configs") == [
        "started", "failed", "started", "ok"
    ]  # fmt: skip
    code, out, _ = run(capsys, "maintenance", "run", "--status")
    assert code == 0
    assert "completed" in out.splitlines()[0]

"""``opslib backup policy``: the policy in force, refusals, storing one that prune then uses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opslib.backups import (
    Catalog,
    RetentionPolicy,
    create_backup,
    plan_prune,
    policy_in_force,
    policy_refusals,
    revise_policy,
    steady_state_count,
)
from opslib.cli import main
from opslib.config import BackupSettings
from opslib.errors import InputError
from tests.dbkit import TestDatabase

NOW = datetime.now(UTC)


def test_steady_state_count_follows_the_buckets() -> None:
    assert steady_state_count(RetentionPolicy(daily=7, weekly=0, monthly=0, min_count=1)) == 7
    # 7 days, 4 ISO weeks and 6 months overlap on the newest days: fewer than 17
    both = steady_state_count(RetentionPolicy(daily=7, weekly=4, monthly=6, min_count=1))
    assert 12 <= both < 17


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"keep_daily": "0"}, "recovery point objective"),
        ({"min_count": "2"}, "below the config file's backups.min_count 3"),
        ({"keep_daily": "1", "keep_weekly": "0", "keep_monthly": "0"}, "fewer than min_count 3"),
    ],
)
def test_refusals(changes: dict[str, str], problem: str) -> None:
    settings = BackupSettings()
    policy = revise_policy(RetentionPolicy.from_settings(settings), changes)
    assert any(problem in p for p in policy_refusals(policy, settings, 26.0))


def test_a_sound_change_is_accepted() -> None:
    settings = BackupSettings()
    policy = revise_policy(RetentionPolicy.from_settings(settings), {"keep_monthly": "2"})
    assert (policy.daily, policy.weekly, policy.monthly) == (7, 4, 2)
    assert policy_refusals(policy, settings, 26.0) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"keep_hourly": "3"}, "unknown policy setting"), ({"keep_daily": "x"}, "not a number")],
)
def test_bad_input(changes: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        revise_policy(RetentionPolicy(), changes)


@pytest.fixture
def cli_env(
    seeded_db: TestDatabase, settings: BackupSettings, monkeypatch: pytest.MonkeyPatch
) -> TestDatabase:
    for name in ("OPSLIB_CONFIG", "OPSLIB_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", seeded_db.dsn)
    monkeypatch.setenv("OPSLIB_ACTOR", "carol")
    monkeypatch.setenv("OPSLIB_PROMETHEUS_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("OPSLIB_BACKUPS__BACKUP_DIR", str(settings.backup_dir))
    monkeypatch.chdir(settings.backup_dir.parent)
    return seeded_db


def _aged(db: TestDatabase, settings: BackupSettings, ages: tuple[int, ...]) -> list[str]:
    names = []
    for age in sorted(ages, reverse=True):
        made = create_backup(db, settings)
        db.execute(
            "UPDATE opslib.backups SET created_at = %s WHERE name = %s",
            (NOW - timedelta(days=age, minutes=1), made.name),
        )
        names.append(made.name)
    return names[::-1]  # newest first


def test_set_stores_a_policy_that_prune_and_list_use(
    cli_env: TestDatabase,
    settings: BackupSettings,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    names = _aged(cli_env, settings, (0, 1, 2, 3, 4))
    assert plan_prune(cli_env, settings).delete == ()  # the config's 7 days keep all five

    assert main(["--json", "backup", "policy"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["policy"]["source"] == "config file"
    assert shown["keeps"] == names
    assert [h["days"] for h in shown["projection"]] == [30, 90, 180]
    assert shown["projection"][1]["backups"] > 5  # grows to the steady state
    assert shown["projection"][1]["bytes"] > shown["kept_bytes"]

    only_days = ["--set", "keep_daily=3", "--set", "keep_weekly=0", "--set", "keep_monthly=0"]
    assert main(["--json", "backup", "policy", *only_days, "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] is True
    assert dry["would_prune"] == names[3:]
    assert policy_in_force(cli_env, settings).source == "config file"  # nothing stored

    assert main(["backup", "policy", *only_days]) == 0
    assert "stored" in capsys.readouterr().out
    stored = policy_in_force(cli_env, settings)
    assert (stored.policy.daily, stored.policy.monthly, stored.set_by) == (3, 0, "carol")
    assert plan_prune(cli_env, settings).delete == tuple(names[3:])

    assert main(["--json", "backup", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["policy"]["keep_daily"] == 3
    assert listed["policy"]["source"].startswith("stored")

    rows = cli_env.fetch_all(
        "SELECT dry_run, outcome, arguments FROM opslib.audit_log"
        " WHERE action = 'backup.policy' ORDER BY id"
    )
    assert [(r["dry_run"], r["outcome"]) for r in rows] == [(True, "ok"), (False, "ok")]
    assert rows[1]["arguments"] == {"keep_daily": "3", "keep_weekly": "0", "keep_monthly": "0"}
    assert Catalog(cli_env, settings.backup_dir).consistency().ok


def test_refused_policy_is_one_line_audited_and_not_stored(
    cli_env: TestDatabase, settings: BackupSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backup", "policy", "--set", "keep_daily=0"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "recovery point objective" in err[0]
    assert policy_in_force(cli_env, settings).source == "config file"
    row = cli_env.fetch_one(
        "SELECT outcome FROM opslib.audit_log WHERE action = 'backup.policy' ORDER BY id DESC"
    )
    assert row is not None
    assert row["outcome"] == "refused"
    assert main(["backup", "policy", "--set", "keep_daily"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err

"""``prune`` on real backups: dry run lists, real run deletes files and catalogue rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from opslib.backups import Catalog, create_backup, prune
from opslib.backups._store import complete_names
from opslib.config import BackupSettings
from tests.backups.conftest import run_cli
from tests.dbkit import TestDatabase

NOW = datetime.now(UTC)


@pytest.fixture
def aged(seeded_db: TestDatabase, settings: BackupSettings) -> list[str]:
    """Four real backups, aged 0, 1, 2 and 40 days in the catalogue (newest first)."""
    names = []
    for age, kind in ((40, "regular"), (2, "emergency"), (1, "regular"), (0, "regular")):
        made = create_backup(seeded_db, settings, kind=kind)  # type: ignore[arg-type]
        seeded_db.execute(
            "UPDATE opslib.backups SET created_at = %s WHERE name = %s",
            (NOW - timedelta(days=age, minutes=1), made.name),
        )
        names.append(made.name)
    return names[::-1]


def _settings(base: BackupSettings, **changes: object) -> BackupSettings:
    policy = {"keep_daily": 1, "keep_weekly": 0, "keep_monthly": 0, "min_count": 1}
    return base.model_copy(update={**policy, **changes})


def test_dry_run_lists_and_deletes_nothing(
    aged: list[str], seeded_db: TestDatabase, settings: BackupSettings
) -> None:
    done = run_cli(
        seeded_db.dsn,
        settings.backup_dir,
        "--json",
        "backup",
        "prune",
        "--dry-run",
        extra_env={
            "OPSLIB_BACKUPS__KEEP_DAILY": "1",
            "OPSLIB_BACKUPS__KEEP_WEEKLY": "0",
            "OPSLIB_BACKUPS__KEEP_MONTHLY": "0",
            "OPSLIB_BACKUPS__MIN_COUNT": "1",
            "OPSLIB_BACKUPS__EMERGENCY_EXEMPT_HOURS": "1",
        },
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["keep"] == [aged[0]]
    assert out["would_delete"] == aged[1:]
    assert complete_names(settings.backup_dir) == sorted(aged)


def test_prune_deletes_files_and_rows_and_keeps_guarantees(
    aged: list[str], seeded_db: TestDatabase, settings: BackupSettings
) -> None:
    newest, one_day, emergency, old = aged
    seeded_db.execute("UPDATE opslib.backups SET verification = 'ok' WHERE name = %s", (one_day,))
    plan = prune(seeded_db, _settings(settings), dry_run=False)
    assert set(plan.keep) == {newest, one_day, emergency}  # verified; emergency within 72 h
    assert plan.delete == (old,)
    assert complete_names(settings.backup_dir) == sorted(plan.keep)
    catalog = Catalog(seeded_db, settings.backup_dir)
    assert catalog.consistency().problems == []
    record = catalog.get(old)
    assert record is not None
    assert record.state == "deleted"


def test_newest_failed_verification_deletes_nothing(
    aged: list[str], seeded_db: TestDatabase, settings: BackupSettings
) -> None:
    seeded_db.execute(
        "UPDATE opslib.backups SET verification = 'failed' WHERE name = %s", (aged[0],)
    )
    plan = prune(seeded_db, _settings(settings), dry_run=False)
    assert plan.delete == ()
    assert complete_names(settings.backup_dir) == sorted(aged)
    done = run_cli(seeded_db.dsn, settings.backup_dir, "backup", "prune")
    assert done.returncode == 1
    assert "failed verification" in done.stdout + done.stderr

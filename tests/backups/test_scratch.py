"""Scratch databases of restore drills: owned by a session lock, orphans found and dropped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from psycopg import sql

from opslib.backups import (
    create_backup,
    drop_orphan_scratch,
    list_scratch,
    scratch_leftovers,
)
from opslib.backups._scratch import SCRATCH_PREFIX, scratch_database
from opslib.config import BackupSettings, Settings
from opslib.results import Severity
from tests.backups.conftest import seed
from tests.dbkit import TestDatabase
from tests.support import wait_until


def _orphan(db: TestDatabase, suffix: str) -> str:
    """A scratch database as a killed drill leaves it: nobody holds its lock."""
    name = f"{SCRATCH_PREFIX}{suffix}"
    db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def _names(db: TestDatabase) -> list[str]:
    return [d.name for d in list_scratch(db)]


def test_an_orphan_is_dropped_and_reported(platform_db: TestDatabase) -> None:
    name = _orphan(platform_db, "0rphan0000aa")
    (found,) = list_scratch(platform_db)
    assert (found.name, found.owned) == (name, False)
    assert found.bytes > 0
    settings = Settings(database_dsn=platform_db.dsn)
    check = scratch_leftovers(platform_db, settings)
    assert check.severity is Severity.WARNING
    assert check.measurements[0].value == 1.0
    assert name in check.measurements[0].note

    done = drop_orphan_scratch(platform_db)

    assert [d.name for d in done.dropped] == [name]
    assert (done.in_use, done.failed) == ((), ())
    assert done.lines() == [
        f"dropped orphan scratch database {name} ({found.bytes / 1e6:.1f} MB) left by a drill"
        " that is gone"
    ]
    assert _names(platform_db) == []
    assert scratch_leftovers(platform_db, settings).severity is Severity.OK


def test_a_running_drill_is_left_alone_from_its_database_or_another(
    platform_db: TestDatabase, db: TestDatabase
) -> None:
    """The drill's lock is held from this database (try-lock sees it) or from another database
    of the server (only pg_locks does: advisory locks belong to one database)."""
    for owner_dsn in (platform_db.dsn, db.dsn):
        with TestDatabase(owner_dsn) as owner, scratch_database(owner) as name:
            (found,) = list_scratch(platform_db)
            assert (found.name, found.owned) == (name, True)
            done = drop_orphan_scratch(platform_db)
            assert ([d.name for d in done.in_use], done.dropped) == ([name], ())
            assert _names(platform_db) == [name]
            check = scratch_leftovers(platform_db, Settings(database_dsn=platform_db.dsn))
            assert (check.severity, check.measurements[0].value) == (Severity.OK, 0.0)
            assert check.tables[0].rows == ((name, f"{found.bytes / 1e6:.1f}", "drill running"),)
        assert _names(platform_db) == []  # the drill dropped its own


def test_a_cleanup_during_a_running_verify_leaves_it_whole(
    platform_db: TestDatabase, settings: BackupSettings, tmp_path: Path
) -> None:
    """Two operators: one runs ``opslib backup verify``, the other's cleanup runs meanwhile."""
    seed(platform_db, urls=50, prices=40_000, noise=True)
    made = create_backup(platform_db, settings)
    leftover = _orphan(platform_db, "0rphan0000bb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env |= {
        "OPSLIB_DATABASE_DSN": platform_db.dsn,
        "OPSLIB_BACKUPS__BACKUP_DIR": str(settings.backup_dir),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "opslib.cli", "backup", "verify"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # (While the verify drops the orphan, it holds the orphan's lock: that one is no drill.)
        wait_until(
            lambda: any(d.owned and d.name != leftover for d in list_scratch(platform_db)),
            30,
            "the drill",
        )
        done = drop_orphan_scratch(platform_db)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert len(done.in_use) == 1
    assert done.in_use[0].name != leftover
    assert proc.returncode == 0, err
    assert f"{made.name}: restored and checked" in out
    assert done.dropped == ()  # the verify had dropped the orphan before creating its own
    assert f"dropped orphan scratch database {leftover}" in err
    assert _names(platform_db) == []

"""``kill -9`` of ``opslib backup verify`` at random points, then the cleanup (issue 9, item 5).

Each kill lands at a random moment of the drill (aimed at the restore: after its scratch
database appears). The monthly check counts the orphan a kill leaves; after every other kill
``opslib backup integrity`` drops it, else the next drill does before it begins its own. No
``opslib_verify_*`` database may remain, no ``pg_restore`` may outlive its ``opslib``, and the
catalogue must still list exactly the one complete, intact backup.
(``kill -9`` during ``create``: tests/backups/test_kill.py.)
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opslib.backups import (
    Catalog,
    check_integrity,
    find_tools,
    list_scratch,
    scratch_leftovers,
)
from opslib.backups._tools import server_major
from opslib.config import Settings
from tests.backups.conftest import run_cli, seed
from tests.dbkit import TestDatabase
from tests.support import wait_until

KILLS = 8


def _restorers() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"pg_restore" in cmdline and b"opslib_verify_" in cmdline:
            found.append(int(entry.name))
    return found


def _kill_during_drill(
    db: TestDatabase, backup_dir: Path, restore_seconds: float, rng: random.Random
) -> str:
    """Start a verify, kill it at a random moment after its scratch database appears; say
    where the kill landed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env |= {"OPSLIB_DATABASE_DSN": db.dsn, "OPSLIB_BACKUPS__BACKUP_DIR": str(backup_dir)}
    before = {d.name for d in list_scratch(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "opslib.cli", "backup", "verify"],
        env=env,
        cwd=backup_dir.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: (
                any(d.owned and d.name not in before for d in list_scratch(db))
                or proc.poll() is not None
            ),
            30,
            "the drill's scratch database",
        )
        time.sleep(rng.uniform(0, restore_seconds * 1.2))
        landed = "after the drill" if proc.poll() is not None else "during the drill"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    # The owner is gone once the server has ended its session (and released its lock).
    wait_until(lambda: not any(d.owned for d in list_scratch(db)), 10, "the session to end")
    wait_until(lambda: not _restorers(), 10, "pg_restore to die with opslib")
    return landed


@pytest.mark.timeout(240)
def test_killed_drills_leave_nothing_after_the_cleanup(
    platform_db: TestDatabase, tmp_path: Path
) -> None:
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    tools = find_tools(server_major(platform_db)[0])
    seed(platform_db, urls=50, prices=40_000, noise=True)
    made = run_cli(platform_db.dsn, backup_dir, "backup", "create")
    assert made.returncode == 0, made.stderr
    first = run_cli(platform_db.dsn, backup_dir, "--json", "backup", "verify")
    assert first.returncode == 0, first.stderr
    restore_seconds = float(json.loads(first.stdout)["seconds"])
    catalog = Catalog(platform_db, backup_dir)
    (backup,) = catalog.complete_backups()
    rng = random.Random()
    settings = Settings(database_dsn=platform_db.dsn)
    landed: list[str] = []
    dropped = {"integrity": 0, "next verify": 0}
    previous: list[str] = []
    for kill in range(KILLS):
        landed.append(_kill_during_drill(platform_db, backup_dir, restore_seconds, rng))
        orphans = [d.name for d in list_scratch(platform_db)]
        # This drill began by dropping what the one before left (its scratch database
        # appeared, so its cleanup had run).
        assert not set(previous) & set(orphans), (previous, orphans)
        dropped["next verify"] += len(previous)
        check = scratch_leftovers(platform_db, settings)
        assert check.measurements[0].value == len(orphans)
        previous = orphans
        if kill % 2:
            done = run_cli(platform_db.dsn, backup_dir, "backup", "integrity")
            assert done.returncode == 0, done.stdout + done.stderr
            for name in orphans:  # a status line (stdout; stderr with --json)
                assert f"dropped orphan scratch database {name}" in done.stdout
            assert list_scratch(platform_db) == []
            dropped["integrity"] += len(orphans)
            previous = []
    done = run_cli(platform_db.dsn, backup_dir, "backup", "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    for name in previous:  # a warning in the log
        assert f"dropped orphan scratch database {name}" in done.stderr
    dropped["next verify"] += len(previous)
    assert list_scratch(platform_db) == []
    assert scratch_leftovers(platform_db, settings).measurements[0].value == 0
    orphans_seen = sum(dropped.values())

    assert orphans_seen >= 1, landed  # the kills did hit drills in flight
    assert [r.name for r in catalog.complete_backups()] == [backup.name]
    assert platform_db.fetch_all("SELECT name FROM opslib.backups WHERE state <> 'complete'") == []
    assert catalog.consistency().ok
    record = catalog.get(backup.name)
    assert record is not None
    assert record.verification == "ok"
    assert check_integrity(record.path, tools, record).ok
    print(f"kills: {landed}; orphans dropped: {dropped}; drill {restore_seconds:.2f} s")

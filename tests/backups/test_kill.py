"""``kill -9`` at random points during ``create``: never a half backup taken for a whole one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from opslib.backups import Catalog, PgTools, check_integrity
from opslib.backups._store import complete_names
from tests.backups.conftest import run_cli, seed
from tests.dbkit import TestDatabase
from tests.support import wait_until


def _processes_writing_to(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(folder).encode() in cmdline and b"pg_dump" in cmdline:
            found.append(int(entry.name))
    return found


def test_kill_during_create_leaves_nothing_taken_for_complete(
    platform_db: TestDatabase, backup_dir: Path, tools: PgTools
) -> None:
    seed(platform_db, urls=50, prices=40_000, noise=True)
    env = {
        **os.environ,
        "OPSLIB_DATABASE_DSN": platform_db.dsn,
        "OPSLIB_BACKUPS__BACKUP_DIR": str(backup_dir),
    }
    env.pop("OPSLIB_CONFIG", None)
    rng = random.Random()
    catalog = Catalog(platform_db, backup_dir)
    # The CLI starts in ~0.6 s and a create of this database takes ~0.3 s: aim into it.
    delays = [rng.uniform(0.45, 1.0) for _ in range(8)]
    for delay in delays:
        proc = subprocess.Popen(
            [sys.executable, "-m", "opslib.cli", "backup", "create"],
            env=env,
            cwd=backup_dir.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        wait_until(lambda: not _processes_writing_to(backup_dir), 10, "pg_dump to die with opslib")
        for name in complete_names(backup_dir):
            report = check_integrity(backup_dir / name, tools)
            assert report.ok, (delay, report.problems)
        assert catalog.consistency().missing_on_disk == ()
    done = run_cli(platform_db.dsn, backup_dir, "backup", "create")
    assert done.returncode == 0, done.stderr
    consistency = catalog.consistency()
    assert consistency.ok, consistency.problems
    assert consistency.leftovers == ()
    assert platform_db.fetch_all("SELECT name FROM opslib.backups WHERE state = 'creating'") == []
    for record in catalog.complete_backups():
        assert check_integrity(record.path, tools, record).ok

"""``kill -9`` at random points during ``create``: never a half backup taken for a whole one."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from opslib.backups import Catalog, PgTools, check_integrity
from opslib.backups._store import complete_names, leftovers
from tests.backups.conftest import run_cli, seed
from tests.dbkit import TestDatabase
from tests.support import wait_until


def _rows(db: TestDatabase) -> dict[str, str]:
    return {r["name"]: r["state"] for r in db.fetch_all("SELECT name, state FROM opslib.backups")}


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
    reference = run_cli(platform_db.dsn, backup_dir, "--json", "backup", "create")
    assert reference.returncode == 0, reference.stderr
    create_seconds = float(json.loads(reference.stdout)["seconds"])
    landed: Counter[str] = Counter()
    for _ in range(8):
        known = _rows(platform_db)
        proc = subprocess.Popen(
            [sys.executable, "-m", "opslib.cli", "backup", "create"],
            env=env,
            cwd=backup_dir.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Aimed past the CLI's start (slow on a busy machine): once this create has its
        # catalogue row, anywhere in the dump, the rename and the catalogue update.
        wait_until(
            lambda: bool(set(_rows(platform_db)) - set(known)) or proc.poll() is not None,  # noqa: B023
            30,
            "the create to begin",
        )
        time.sleep(rng.uniform(0, create_seconds))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        wait_until(lambda: not _processes_writing_to(backup_dir), 10, "pg_dump to die with opslib")
        mine = [state for name, state in _rows(platform_db).items() if name not in known]
        on_disk = "a leftover on disk" if leftovers(backup_dir) else "nothing on disk"
        landed[f"{mine[0] if mine else 'no row'}, {on_disk}"] += 1
        for name in complete_names(backup_dir):
            report = check_integrity(backup_dir / name, tools)
            assert report.ok, (landed, report.problems)
        assert catalog.consistency().missing_on_disk == ()
    pending = sum(1 for state in _rows(platform_db).values() if state == "creating")
    done = run_cli(platform_db.dsn, backup_dir, "backup", "create")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("settled an interrupted backup") == pending, done.stdout
    consistency = catalog.consistency()
    assert consistency.ok, consistency.problems
    assert consistency.leftovers == ()
    assert platform_db.fetch_all("SELECT name FROM opslib.backups WHERE state = 'creating'") == []
    for record in catalog.complete_backups():
        assert check_integrity(record.path, tools, record).ok
    print(f"create kills: {dict(landed)}; settled by the next create: {pending}")

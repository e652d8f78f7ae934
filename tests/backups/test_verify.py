"""``verify``: a real restore into a scratch database that is always dropped."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from opslib.backups import Catalog, create_backup, verify_backup
from opslib.backups._manifest import SUMS_FILE, format_sums, read_manifest, sha256_file
from opslib.backups._tools import find_tools, server_major
from opslib.backups._verify import SCRATCH_PREFIX
from opslib.config import BackupSettings
from opslib.errors import DataError
from tests.backups.conftest import run_cli
from tests.dbkit import TestDatabase


def _scratch_databases(db: TestDatabase) -> list[str]:
    rows = db.fetch_all(
        "SELECT datname FROM pg_database WHERE datname LIKE %s", (SCRATCH_PREFIX + "%",)
    )
    return [str(r["datname"]) for r in rows]


def test_verify_newest_restores_compares_and_drops(
    seeded_db: TestDatabase, settings: BackupSettings
) -> None:
    create_backup(seeded_db, settings)
    seeded_db.execute("DELETE FROM scrape_logs")  # the live database moves on
    newest = create_backup(seeded_db, settings)
    before = _scratch_databases(seeded_db)
    steps: list[str] = []
    report = verify_backup(seeded_db, settings, progress=steps.append)
    assert report.ok, report.problems
    assert report.name == newest.name
    assert report.row_counts == {"monitored_urls": 20, "price_history": 500, "scrape_logs": 0}
    assert report.newest_checked_at == newest.manifest.newest_checked_at
    assert report.scratch_database.startswith(SCRATCH_PREFIX)
    assert _scratch_databases(seeded_db) == before
    assert any(s.startswith("restoring ") for s in steps)
    record = Catalog(seeded_db, settings.backup_dir).get(newest.name)
    assert record is not None
    assert record.verification == "ok"
    assert record.verified_at is not None


def test_verify_named_backup(seeded_db: TestDatabase, settings: BackupSettings) -> None:
    first = create_backup(seeded_db, settings)
    seeded_db.execute("DELETE FROM scrape_logs")
    create_backup(seeded_db, settings)
    report = verify_backup(seeded_db, settings, first.name)
    assert report.ok, report.problems
    assert report.row_counts["scrape_logs"] == 250


def test_corrupted_dump_fails_and_is_recorded(
    seeded_db: TestDatabase, settings: BackupSettings
) -> None:
    made = create_backup(seeded_db, settings)
    dump = made.path / "db.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    report = verify_backup(seeded_db, settings)
    assert not report.ok
    assert "SHA-256" in report.problems[0]
    record = Catalog(seeded_db, settings.backup_dir).get(made.name)
    assert record is not None
    assert record.verification == "failed"
    assert _scratch_databases(seeded_db) == []


def _rewrite_manifest(folder: Path, **changes: object) -> None:
    """Simulate a manifest that lies about its dump (its checksums kept consistent)."""
    manifest = read_manifest(folder)
    (folder / "manifest.json").write_text(
        json.dumps(manifest.model_copy(update=changes).model_dump(mode="json"))
    )
    sums = {
        name: sha256_file(folder / name)[1]
        for name in ("db.dump", "config.tar.gz", "manifest.json")
    }
    (folder / SUMS_FILE).write_bytes(format_sums(sums))


def test_restored_counts_differing_from_manifest_fail(
    seeded_db: TestDatabase, settings: BackupSettings
) -> None:
    made = create_backup(seeded_db, settings)
    _rewrite_manifest(made.path, row_counts={"monitored_urls": 20, "price_history": 501})
    report = verify_backup(seeded_db, settings)
    assert report.problems == ("price_history: 500 rows restored, manifest says 501",)
    assert _scratch_databases(seeded_db) == []


def test_restore_error_fails_and_drops_scratch(
    seeded_db: TestDatabase, settings: BackupSettings
) -> None:
    made = create_backup(seeded_db, settings)
    dump = made.path / "db.dump"
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size - 200])
    _rewrite_manifest(made.path)  # checksums agree: only the restore can tell
    manifest = read_manifest(made.path)
    files = tuple(
        f.model_copy(update={"sha256": sha256_file(made.path / f.name)[1]}) for f in manifest.files
    )
    _rewrite_manifest(made.path, files=files)
    seeded_db.execute("UPDATE opslib.backups SET dump_sha256 = NULL WHERE name = %s", (made.name,))
    report = verify_backup(seeded_db, settings)
    assert not report.ok
    assert report.problems[0].startswith("pg_restore failed"), report.problems
    assert _scratch_databases(seeded_db) == []


def test_no_backup_is_a_clear_error(platform_db: TestDatabase, settings: BackupSettings) -> None:
    with pytest.raises(DataError, match="no complete backup"):
        verify_backup(platform_db, settings)


def test_cli_verify(seeded_db: TestDatabase, settings: BackupSettings) -> None:
    made = create_backup(seeded_db, settings)
    done = run_cli(seeded_db.dsn, settings.backup_dir, "--json", "backup", "verify", made.name)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    (made.path / "db.dump").write_bytes(b"garbage")
    done = run_cli(seeded_db.dsn, settings.backup_dir, "backup", "verify")
    assert done.returncode == 2
    assert "verification FAILED" in done.stdout


def test_hung_restore_is_stopped_at_the_timeout(
    seeded_db: TestDatabase, settings: BackupSettings, tmp_path: Path
) -> None:
    # A pg_restore that hangs mid-restore cannot be produced on demand: a stand-in answers
    # --version and --list with the real binary, then hangs on the restore itself.
    real = find_tools(server_major(seeded_db)[0])
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "pg_dump").symlink_to(real.pg_dump)
    hung = folder / "pg_restore"
    hung.write_text(
        f'#!/bin/sh\ncase "$1" in --version|--list) exec {real.pg_restore} "$@";; esac\n'
        "exec sleep 60\n"
    )
    hung.chmod(0o755)
    create_backup(seeded_db, settings)
    slow = settings.model_copy(update={"pg_bin_dir": folder, "restore_timeout": 1.0})
    began = time.monotonic()
    report = verify_backup(seeded_db, slow)
    assert time.monotonic() - began < 10
    assert report.problems == ("pg_restore did not finish within 1 s (backups.restore_timeout)",)
    assert _scratch_databases(seeded_db) == []

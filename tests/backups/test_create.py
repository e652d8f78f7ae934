"""``create``: real pg_dump into real directories; bad input gives one line and nothing kept."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
from psycopg import conninfo, sql

from opslib.backups import (
    Catalog,
    PgTools,
    check_integrity,
    create_backup,
    read_manifest,
    verify_backup,
)
from opslib.config import BackupSettings, PlatformTables
from opslib.errors import ConfigError, DependencyError
from tests.backups.conftest import run_cli, seed
from tests.dbkit import TestDatabase


def _password(dsn: str) -> str:
    return str(conninfo.conninfo_to_dict(dsn)["password"])


def test_create_writes_a_complete_catalogued_backup(
    seeded_db: TestDatabase, settings: BackupSettings, tools: PgTools
) -> None:
    made = create_backup(seeded_db, settings)
    assert sorted(p.name for p in made.path.iterdir()) == [
        "SHA256SUMS",
        "config.tar.gz",
        "db.dump",
        "manifest.json",
    ]
    assert [p.name for p in settings.backup_dir.iterdir() if p.name != ".lock"] == [made.name]
    manifest = read_manifest(made.path)
    assert manifest.row_counts == {"monitored_urls": 20, "price_history": 500, "scrape_logs": 250}
    newest = seeded_db.fetch_one("SELECT max(checked_at) AS m FROM price_history")
    assert newest is not None
    assert manifest.newest_checked_at == newest["m"]
    assert manifest.server_version.startswith(str(tools.major))
    assert check_integrity(made.path, tools).ok
    with tarfile.open(made.path / "config.tar.gz") as tar:
        assert any(n.endswith("sub/proxies.txt") for n in tar.getnames())
    record = Catalog(seeded_db, settings.backup_dir).get(made.name)
    assert record is not None
    assert record.state == "complete"
    assert record.dump_sha256 == manifest.file("db.dump").sha256
    assert Catalog(seeded_db, settings.backup_dir).consistency().problems == []
    password = _password(seeded_db.dsn)
    for name in ("manifest.json", "SHA256SUMS"):
        assert password not in (made.path / name).read_text()


def test_password_goes_by_environment_not_argv(platform_db: TestDatabase, tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_text('#!/bin/sh\necho "$@" > "$0.argv"\necho "$PGPASSWORD" > "$0.env"\n')
    tool.chmod(0o700)
    proc = platform_db.spawn_client(tool, ["--list"])
    assert proc.wait(timeout=10) == 0
    assert proc.stderr is not None
    proc.stderr.close()
    password = _password(platform_db.dsn)
    argv = (tmp_path / "tool.argv").read_text()
    assert "--dbname" in argv
    assert f"dbname={platform_db.name}" in argv
    assert password not in argv
    assert (tmp_path / "tool.env").read_text().strip() == password


def test_cli_create_json_and_no_secret_in_output(seeded_db: TestDatabase, backup_dir: Path) -> None:
    done = run_cli(seeded_db.dsn, backup_dir, "--json", "backup", "create")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["row_counts"]["price_history"] == 500
    assert (backup_dir / out["name"] / "db.dump").stat().st_size == out["files"]["db.dump"]["bytes"]
    assert _password(seeded_db.dsn) not in done.stdout + done.stderr
    audit = seeded_db.fetch_one(
        "SELECT outcome, detail FROM opslib.audit_log WHERE action = 'backup.create'"
    )
    assert audit == {"outcome": "ok", "detail": f"created {out['name']}"}


def test_dry_run_writes_nothing(seeded_db: TestDatabase, backup_dir: Path) -> None:
    done = run_cli(seeded_db.dsn, backup_dir, "backup", "create", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "would dump the database" in done.stdout
    assert list(backup_dir.iterdir()) == []


def _fails_with_one_line(done: subprocess.CompletedProcess[str], expected: str) -> None:
    __tracebackhide__ = True
    assert done.returncode != 0
    # A failed audit write may add a log line; the error itself is one line.
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("opslib: error:")]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert expected in lines[0], lines[0]


def test_missing_directory(seeded_db: TestDatabase, tmp_path: Path) -> None:
    done = run_cli(seeded_db.dsn, tmp_path / "nowhere", "backup", "create")
    _fails_with_one_line(done, "does not exist")


def test_read_only_directory(seeded_db: TestDatabase, small_fs: Path, backup_dir: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    done = run_cli(seeded_db.dsn, small_fs, "backup", "create")
    _fails_with_one_line(done, "is not writable")


def test_no_rights(seeded_db: TestDatabase, backup_dir: Path) -> None:
    role = "t_norights"
    seeded_db.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    seeded_db.execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'secret-norights'").format(sql.Identifier(role))
    )
    try:
        params = conninfo.conninfo_to_dict(seeded_db.dsn)
        params.update(user=role, password="secret-norights")
        done = run_cli(conninfo.make_conninfo("", **params), backup_dir, "backup", "create")
        _fails_with_one_line(done, "permission denied")
        assert "secret-norights" not in done.stderr
        assert [p for p in backup_dir.iterdir() if p.name != ".lock"] == []
    finally:
        seeded_db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_missing_pg_dump(seeded_db: TestDatabase, settings: BackupSettings, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    with pytest.raises(ConfigError, match=r"pg_dump for PostgreSQL 1\d not found"):
        create_backup(seeded_db, settings.model_copy(update={"pg_bin_dir": empty}))


def test_wrong_major_pg_dump(
    seeded_db: TestDatabase, settings: BackupSettings, tmp_path: Path
) -> None:
    # Only one major version is installed: a stand-in binary is the only way to get another.
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("pg_dump", "pg_restore"):
        script = folder / name
        script.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) 9.6.24'\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    bad = settings.model_copy(update={"pg_bin_dir": folder})
    with pytest.raises(ConfigError, match=r"is PostgreSQL 9, the server is PostgreSQL 1\d"):
        create_backup(seeded_db, bad)
    done = run_cli(
        seeded_db.dsn,
        settings.backup_dir,
        "backup",
        "create",
        extra_env={"OPSLIB_BACKUPS__PG_BIN_DIR": str(folder)},
    )
    _fails_with_one_line(done, "is PostgreSQL 9")
    assert done.returncode == 2


def test_full_disk_clear_error_and_nothing_left(platform_db: TestDatabase, small_fs: Path) -> None:
    seed(platform_db, urls=50, prices=60_000, noise=True)
    settings = BackupSettings(backup_dir=small_fs)
    with pytest.raises(DependencyError, match="no space left on device"):
        create_backup(platform_db, settings)
    assert [p.name for p in small_fs.iterdir() if p.name != ".lock"] == []
    rows = platform_db.fetch_all("SELECT state FROM opslib.backups")
    assert rows == [{"state": "failed"}]
    done = run_cli(platform_db.dsn, small_fs, "backup", "create")
    _fails_with_one_line(done, "no space left on device")
    assert os.statvfs(small_fs).f_bfree > 0


def test_emergency_backup_is_tagged_and_restorable(
    seeded_db: TestDatabase, backup_dir: Path
) -> None:
    done = run_cli(seeded_db.dsn, backup_dir, "--json", "backup", "emergency")
    assert done.returncode == 0, done.stderr
    name = json.loads(done.stdout)["name"]
    assert "-emergency-" in name
    assert read_manifest(backup_dir / name).kind == "emergency"
    record = Catalog(seeded_db, backup_dir).get(name)
    assert record is not None
    assert record.kind == "emergency"
    done = run_cli(seeded_db.dsn, backup_dir, "backup", "verify", name)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_manifest_counts_the_configured_tables(
    seeded_db: TestDatabase, settings: BackupSettings
) -> None:
    """A platform with its own names: counted and verified under them, the newest row too."""
    seeded_db.execute(
        "ALTER TABLE price_history RENAME TO prices;"
        " ALTER TABLE prices RENAME COLUMN checked_at TO seen_at;"
        " CREATE SCHEMA shop; ALTER TABLE monitored_urls SET SCHEMA shop"
    )
    tables = PlatformTables.model_validate(
        {
            "price_history": {"name": "prices", "checked_at": "seen_at"},
            "monitored_urls": {"name": "shop.monitored_urls"},
        }
    )
    made = create_backup(seeded_db, settings, tables=tables)
    manifest = read_manifest(made.path)
    assert manifest.row_counts == {"shop.monitored_urls": 20, "prices": 500, "scrape_logs": 250}
    newest = seeded_db.fetch_one("SELECT max(seen_at) AS m FROM prices")
    assert newest is not None
    assert manifest.newest_checked_at == newest["m"]
    report = verify_backup(seeded_db, settings, tables=tables)
    assert report.ok, report.problems
    assert report.row_counts == manifest.row_counts
    assert report.newest_checked_at == newest["m"]

"""monthly.backups: green on a healthy setup; red on a corrupted, stale or unverifiable backup."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opslib import backups
from opslib.backups import create_backup, verify_backup
from opslib.config import BackupSettings, Settings
from opslib.results import Severity
from tests.dbkit import TestDatabase

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def healthy(seeded_db: TestDatabase, settings: BackupSettings) -> Settings:
    """One fresh backup that passed a restore (and a policy content with one)."""
    create_backup(seeded_db, settings)
    assert verify_backup(seeded_db, settings).ok
    return Settings(
        database_dsn=seeded_db.dsn, backups=settings.model_copy(update={"min_count": 1})
    )


def _severities(db: TestDatabase, settings: Settings) -> dict[str, Severity]:
    return {
        "recency": backups.backup_recency(db, settings).severity,
        "verified": backups.verified_recency(db, settings).severity,
        "integrity": backups.backup_integrity(db, settings).severity,
        "drill": backups.restore_drill(db, settings).severity,
        "retention": backups.retention_status(db, settings).severity,
    }


def test_healthy_setup_is_green(seeded_db: TestDatabase, healthy: Settings) -> None:
    assert set(_severities(seeded_db, healthy).values()) == {Severity.OK}


def test_corrupted_backup(seeded_db: TestDatabase, healthy: Settings) -> None:
    dump = (
        healthy.backups.backup_dir
        / backups.select_backup(backups.Catalog(seeded_db, healthy.backups.backup_dir), None).name
        / "db.dump"
    )
    data = bytearray(dump.read_bytes())
    data[len(data) // 3] ^= 0x10
    dump.write_bytes(bytes(data))
    result = backups.backup_integrity(seeded_db, healthy)
    assert result.severity is Severity.CRITICAL
    assert "SHA-256" in result.message()
    assert backups.restore_drill(seeded_db, healthy).severity is Severity.CRITICAL


def test_stale_backup(seeded_db: TestDatabase, healthy: Settings) -> None:
    later = datetime.now(UTC) + timedelta(hours=27)
    result = backups.backup_recency(seeded_db, healthy, now=later)
    assert result.severity is Severity.CRITICAL
    assert "opslib backup create" in result.message()
    far = datetime.now(UTC) + timedelta(days=36)
    assert backups.verified_recency(seeded_db, healthy, now=far).severity is Severity.CRITICAL


def test_unverifiable_backup(seeded_db: TestDatabase, settings: BackupSettings) -> None:
    made = create_backup(seeded_db, settings)
    dump = made.path / "db.dump"
    dump.write_bytes(dump.read_bytes()[:100])
    configured = Settings(database_dsn=seeded_db.dsn, backups=settings)
    assert backups.restore_drill(seeded_db, configured).severity is Severity.CRITICAL
    assert backups.verified_recency(seeded_db, configured).severity is Severity.CRITICAL


def test_no_backup_at_all(platform_db: TestDatabase, settings: BackupSettings) -> None:
    configured = Settings(database_dsn=platform_db.dsn, backups=settings)
    severities = _severities(platform_db, configured)
    assert severities["recency"] is Severity.CRITICAL
    assert severities["verified"] is Severity.CRITICAL
    assert severities["retention"] is Severity.CRITICAL  # below min_count
    assert severities["drill"] is Severity.UNKNOWN  # nothing to restore


def test_missing_backup_folder_breaks_retention(seeded_db: TestDatabase, healthy: Settings) -> None:
    folder = next(p for p in healthy.backups.backup_dir.iterdir() if not p.name.startswith("."))
    folder.rename(folder.with_name("elsewhere"))
    result = backups.retention_status(seeded_db, healthy)
    assert result.severity is Severity.CRITICAL
    assert "missing from disk" in result.message()


def _run_suite(healthy: Settings, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    assert healthy.database_dsn is not None
    config = tmp_path / "opslib.toml"
    config.write_text(
        f"database_dsn = '{healthy.database_dsn.get_secret_value()}'\n"
        f"[backups]\nbackup_dir = '{healthy.backups.backup_dir}'\nmin_count = 1\n"
    )
    env = {**os.environ, "OPSLIB_CONFIG": str(config)}
    return subprocess.run(
        # the backups' own checks: the other monthly suites need a platform's history
        [
            sys.executable,
            "-m",
            "pytest",
            "checks/monthly/test_backups.py",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_monthly_suite_passes_then_fails(
    seeded_db: TestDatabase, healthy: Settings, tmp_path: Path
) -> None:
    done = _run_suite(healthy, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "6 passed" in done.stdout
    for folder in healthy.backups.backup_dir.iterdir():
        if (folder / "config.tar.gz").exists():
            (folder / "config.tar.gz").write_bytes(b"\x1f\x8b broken")
    done = _run_suite(healthy, tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "test_backup_integrity" in done.stdout

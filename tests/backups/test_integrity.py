"""``integrity``: flipped bytes at random offsets and truncations of every file are found."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from opslib.backups import Catalog, CreatedBackup, PgTools, check_integrity, create_backup
from opslib.backups._manifest import SUMS_FILE, format_sums, sha256_file
from opslib.config import BackupSettings
from tests.backups.conftest import run_cli
from tests.dbkit import TestDatabase

FILES = ("db.dump", "config.tar.gz", "manifest.json", "SHA256SUMS")


@pytest.fixture
def made(seeded_db: TestDatabase, settings: BackupSettings) -> CreatedBackup:
    return create_backup(seeded_db, settings)


def test_intact_backup_passes(made: CreatedBackup, tools: PgTools) -> None:
    report = check_integrity(made.path, tools)
    assert report.ok, report.problems
    assert (
        report.bytes_read
        == sum(f.bytes for f in made.manifest.files) + (made.path / "manifest.json").stat().st_size
    )


@pytest.mark.parametrize("file_name", FILES)
def test_flipped_bytes_anywhere_are_detected(
    made: CreatedBackup, tools: PgTools, file_name: str
) -> None:
    path = made.path / file_name
    original = path.read_bytes()
    rng = random.Random()
    offsets = {0, len(original) - 1} | {rng.randrange(len(original)) for _ in range(20)}
    for offset in sorted(offsets):
        data = bytearray(original)
        data[offset] ^= rng.randrange(1, 256)
        path.write_bytes(bytes(data))
        report = check_integrity(made.path, tools)
        assert not report.ok, f"flip at {offset} of {file_name} not detected"
    path.write_bytes(original)
    assert check_integrity(made.path, tools).ok


@pytest.mark.parametrize("file_name", FILES)
def test_truncation_is_detected(made: CreatedBackup, tools: PgTools, file_name: str) -> None:
    path = made.path / file_name
    original = path.read_bytes()
    rng = random.Random()
    for length in {0, 1, len(original) - 1} | {rng.randrange(len(original)) for _ in range(5)}:
        path.write_bytes(original[:length])
        assert not check_integrity(made.path, tools).ok, f"{file_name} cut at {length}"
    path.write_bytes(original)


def test_missing_file_is_detected(made: CreatedBackup, tools: PgTools) -> None:
    (made.path / "config.tar.gz").unlink()
    report = check_integrity(made.path, tools)
    assert any("config.tar.gz: unreadable" in p for p in report.problems)


def test_consistent_rewrite_is_caught_by_the_catalogue(
    made: CreatedBackup, tools: PgTools, seeded_db: TestDatabase, settings: BackupSettings
) -> None:
    manifest = made.path / "manifest.json"
    data = json.loads(manifest.read_text())
    data["row_counts"]["price_history"] = 1
    manifest.write_text(json.dumps(data))
    sums = {n: sha256_file(made.path / n)[1] for n in FILES[:3]}
    (made.path / SUMS_FILE).write_bytes(format_sums(sums))
    assert check_integrity(made.path, tools).ok  # self-consistent on disk ...
    record = Catalog(seeded_db, settings.backup_dir).get(made.name)
    report = check_integrity(made.path, tools, record)
    assert report.problems == ("manifest.json: SHA-256 differs from the catalogue",)


def test_cli_integrity(made: CreatedBackup, seeded_db: TestDatabase, backup_dir: Path) -> None:
    done = run_cli(seeded_db.dsn, backup_dir, "backup", "integrity")
    assert done.returncode == 0, done.stderr
    assert made.name in done.stdout
    dump = made.path / "db.dump"
    dump.write_bytes(dump.read_bytes()[:-10])
    done = run_cli(seeded_db.dsn, backup_dir, "--json", "backup", "integrity")
    assert done.returncode == 2
    out = json.loads(done.stdout)
    assert out["backups"][0]["ok"] is False

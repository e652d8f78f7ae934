"""Issue 9, item 6: a backup is for its owner only, and ``integrity`` reads the dump to its end."""

from __future__ import annotations

import json
import stat

import pytest

from opslib.backups import CreatedBackup, PgTools, check_integrity, create_backup
from opslib.backups._manifest import SUMS_FILE, format_sums, sha256_file
from opslib.backups._tools import list_archive
from opslib.config import BackupSettings
from tests.dbkit import TestDatabase

FILES = ("db.dump", "config.tar.gz", "manifest.json", "SHA256SUMS")


@pytest.fixture
def made(seeded_db: TestDatabase, settings: BackupSettings) -> CreatedBackup:
    return create_backup(seeded_db, settings)


def test_every_file_of_a_backup_is_owner_only(made: CreatedBackup) -> None:
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o700
    modes = {name: stat.S_IMODE((made.path / name).stat().st_mode) for name in FILES}
    assert modes == dict.fromkeys(FILES, 0o600)


@pytest.mark.parametrize("keep", [0.98, 0.6, 0.2])
def test_a_cut_dump_with_checksums_rewritten_to_match_fails_integrity(
    made: CreatedBackup, tools: PgTools, keep: float
) -> None:
    dump = made.path / "db.dump"
    data = dump.read_bytes()
    dump.write_bytes(data[: int(len(data) * keep)])
    size, digest = sha256_file(dump)
    manifest = made.path / "manifest.json"
    body = json.loads(manifest.read_text())
    for entry in body["files"]:
        if entry["name"] == "db.dump":
            entry.update(bytes=size, sha256=digest)
    manifest.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    sums = {name: sha256_file(made.path / name)[1] for name in FILES[:3]}
    (made.path / SUMS_FILE).write_bytes(format_sums(sums))
    if keep > 0.9:  # the table of contents survived: listing alone would pass it
        assert list_archive(tools, dump)[1] is None
    report = check_integrity(made.path, tools)  # no catalogue row to compare with
    assert len(report.problems) == 1, report.problems
    assert report.problems[0].startswith("db.dump: unreadable archive:"), report.problems

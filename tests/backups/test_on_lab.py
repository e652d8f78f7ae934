"""Backups of the live lab, while its workers keep writing: the snapshot keeps them consistent."""

from __future__ import annotations

from pathlib import Path

from opslib import backups
from opslib.adapters import Database
from opslib.config import BackupSettings, load_settings
from opslib.lab import Lab
from opslib.results import Severity


def test_backup_cycle_on_the_live_lab(healthy_lab: Lab, tmp_path: Path) -> None:
    loaded = load_settings(healthy_lab.config_file)
    assert loaded.database_dsn is not None
    settings = loaded.model_copy(
        update={"backups": BackupSettings(backup_dir=tmp_path, min_count=1)}
    )
    with Database(loaded.database_dsn.get_secret_value()) as db:
        made = backups.create_backup(db, settings.backups)
        assert made.manifest.row_counts["price_history"] > 0
        report = backups.verify_backup(db, settings.backups)
        assert report.ok, report.problems
        assert report.row_counts == made.manifest.row_counts
        for check in (
            backups.backup_recency,
            backups.verified_recency,
            backups.backup_integrity,
            backups.retention_status,
        ):
            result = check(db, settings)
            assert result.severity is Severity.OK, result.message()

"""Backups of the live lab, while its workers keep writing: the snapshot keeps them consistent."""

from __future__ import annotations

from opslib import backups
from opslib.config import load_settings
from opslib.connect import open_database
from opslib.lab import Lab
from opslib.results import Severity


def test_backup_cycle_on_the_live_lab(healthy_lab: Lab) -> None:
    settings = load_settings(healthy_lab.config_file)  # as `opslib lab up` wrote it: no edits
    assert settings.backups.backup_dir.is_relative_to(healthy_lab.paths.root)
    with open_database(settings) as db:
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

"""monthly.capacity's backup-policy check: the backup volume holds what the retention policy
keeps 90 days ahead, its backups growing with the database's forecast."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from opslib.backups import RetentionPolicy, create_backup, store_policy
from opslib.capacity import POLICY_DAYS, capacity_report
from opslib.config import load_settings, toml_value
from opslib.lab._control import FaultRecord
from opslib.lab._disk_fault import fill_disk, free_disk
from opslib.lab._paths import LabPaths
from opslib.lab._settings import LabSettings
from opslib.results import Severity
from tests.capacity.conftest import LabHost, Seeder, settings_for


def test_no_backup_is_unknown_not_guessed(seeded: Seeder, tmp_path: Path) -> None:
    db = seeded(30)
    report = capacity_report(db, settings_for(db, tmp_path))
    result = report.results[3]
    assert result.severity is Severity.UNKNOWN
    assert "no backup in the catalogue" in result.error


def test_fires_on_a_small_volume_and_a_smaller_policy_passes(
    seeded: Seeder, tmp_path: Path
) -> None:
    db = seeded(60)
    settings = settings_for(db, tmp_path)
    made = create_backup(db, settings.backups)
    size = sum(f.bytes for f in made.manifest.files)

    roomy = capacity_report(db, settings)
    assert roomy.results[3].severity is Severity.OK  # the machine's disk
    cost = roomy.backup_policy
    assert cost is not None
    ahead = cost.at(POLICY_DAYS)
    assert ahead is not None
    assert ahead.backups >= 10  # 7 days, 4 weeks, 3 months of daily backups by then
    assert ahead.bytes >= ahead.backups * size * 0.9  # grows with the database, never shrinks

    # a volume with room for 60 % of that: the default policy overflows it within 90 days,
    # three daily backups (most of them as large as the newest then) fit
    small = settings_for(db, tmp_path, backup_volume_bytes=int(0.6 * ahead.high))
    red = capacity_report(db, small).results[3]
    assert red.severity is Severity.CRITICAL
    assert "opslib backup policy --set" in red.remediation
    assert red.measurements[0].subject.startswith("keep_daily=7 keep_weekly=4 keep_monthly=6")

    store_policy(db, RetentionPolicy(daily=3, weekly=0, monthly=0), "carol")
    healed = capacity_report(db, small).results[3]
    assert healed.severity is Severity.OK, healed.measurements[0].note
    assert "stored" in healed.measurements[0].subject


def test_disk_filling_fires_the_policy_check_and_heals(seeded: Seeder, tmp_path: Path) -> None:
    db = seeded(30)
    lab = LabSettings(state_dir=tmp_path / "lab", port_base=20000)
    config = LabPaths(lab.state_dir).config
    config.parent.mkdir(parents=True)
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    config.write_text(
        f"database_dsn = {toml_value(db.dsn)}\nprometheus_url = 'http://127.0.0.1:9'\n"
        f"[backups]\nbackup_dir = {toml_value(str(backup_dir))}\n"
        "[capacity]\nrequests_per_replica = 100000.0\n"
    )
    create_backup(db, load_settings(config).backups)
    assert capacity_report(db, load_settings(config)).results[3].severity is Severity.OK

    said = fill_disk(LabHost(lab, db.dsn), None)
    assert "capacity.backup_volume_bytes" in said
    red = capacity_report(db, load_settings(config)).results[3]
    assert red.severity is Severity.CRITICAL

    free_disk(
        LabHost(lab, db.dsn),
        FaultRecord(name="disk-filling", since=datetime.now(UTC), description=said),
    )
    assert "backup_volume_bytes" not in config.read_text()
    assert capacity_report(db, load_settings(config)).results[3].severity is Severity.OK

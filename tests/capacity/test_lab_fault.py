"""Lab fault disk-filling: the capacity check turns red on it and green when healed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from opslib.capacity import capacity_report
from opslib.config import load_settings, toml_value
from opslib.lab._control import FaultRecord
from opslib.lab._disk_fault import fill_disk, free_disk
from opslib.lab._paths import LabPaths
from opslib.lab._settings import LabSettings
from opslib.results import Severity
from tests.capacity.conftest import LabHost, Seeder


def test_disk_filling_fires_and_heals(seeded: Seeder, tmp_path: Path) -> None:
    db = seeded(60)
    lab = LabSettings(state_dir=tmp_path / "lab", port_base=20000)
    config = LabPaths(lab.state_dir).config
    config.parent.mkdir(parents=True)
    config.write_text(
        f"database_dsn = {toml_value(db.dsn)}\nprometheus_url = 'http://127.0.0.1:9'\n"
        f"[backups]\nbackup_dir = {toml_value(str(tmp_path))}\n"
        "[capacity]\nrequests_per_replica = 100000.0\n"
    )
    host = LabHost(lab, db.dsn)

    healthy = capacity_report(db, load_settings(config)).results[0]
    assert healthy.measurements[0].severity is Severity.OK  # the machine's disk: room for years

    said = fill_disk(host, None)
    assert "capacity.database_volume_bytes" in said
    red = capacity_report(db, load_settings(config)).results[0]
    assert red.severity is Severity.CRITICAL
    assert red.measurements[0].subject == "database volume"
    assert "opslib db maintain" in red.remediation

    free_disk(host, FaultRecord(name="disk-filling", since=datetime.now(UTC), description=said))
    assert "database_volume_bytes" not in config.read_text()
    assert load_settings(config).capacity.database_volume_bytes is None

"""A platform database seeded with the lab's long history, and settings pointing at it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opslib.adapters import Database
from opslib.config import Settings
from opslib.lab._seed import seed
from opslib.lab._settings import LabSettings
from tests.dbkit import TestDatabase
from tests.support import without_opslib_environment

Seeder = Callable[[int], TestDatabase]


@pytest.fixture(autouse=True)
def _defaults_only(monkeypatch: pytest.MonkeyPatch) -> None:
    without_opslib_environment(monkeypatch)


@pytest.fixture
def seeded(platform_db: TestDatabase, tmp_path: Path) -> Seeder:
    """Seed ``platform_db`` with ``days`` of the lab's history (thinned: 0.25 rows per URL per
    hour, so 180 days take seconds) up to now."""

    def run(days: int) -> TestDatabase:
        lab = LabSettings(
            state_dir=tmp_path / "lab", port_base=20000, history_days=days, history_volume=0.25
        )
        seed(platform_db, lab, datetime.now(UTC))
        return platform_db

    return run


def settings_for(db: TestDatabase, tmp_path: Path, **capacity: object) -> Settings:
    """Settings for ``db``: backups in ``tmp_path``, Prometheus nowhere."""
    return Settings(
        database_dsn=db.dsn,
        prometheus_url="http://127.0.0.1:9",
        backups={"backup_dir": tmp_path},
        capacity=capacity,
    )


@dataclass
class LabHost:
    """What a lab fault needs of the lab: its settings and its database."""

    settings: LabSettings
    dsn: str

    def database(self) -> Database:
        return TestDatabase(self.dsn)

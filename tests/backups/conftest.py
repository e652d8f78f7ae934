"""Fixtures for backup tests: a seeded platform database, a backup directory, settings."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opslib.backups import PgTools, find_tools
from opslib.backups._tools import server_major
from opslib.config import BackupSettings
from tests.dbkit import TestDatabase
from tests.support import require

ROOT = Path(__file__).resolve().parents[2]


def seed(db: TestDatabase, urls: int = 20, prices: int = 500, noise: bool = False) -> None:
    """Platform rows made by the server (``noise``: incompressible text, for big dumps)."""
    db.execute(
        "INSERT INTO monitored_urls (domain, url) SELECT 'shop' || (g %% 3) || '.test',"
        " 'https://shop.test/p/' || g || '-' || %s FROM generate_series(1, %s) g",
        (uuid.uuid4().hex[:6], urls),
    )
    db.execute(
        "INSERT INTO price_history (url_id, price, extraction_confidence, extraction_method,"
        " checked_at) SELECT (SELECT min(id) FROM monitored_urls) + g %% %(urls)s,"
        " round((random() * 100)::numeric, 2), 0.9,"
        " CASE WHEN %(noise)s THEN md5(random()::text) || md5(random()::text) ELSE 'css' END,"
        " now() - g * interval '1 second' FROM generate_series(1, %(n)s) g",
        {"urls": urls, "n": prices, "noise": noise},
    )
    db.execute(
        "INSERT INTO scrape_logs (domain, outcome, duration_ms) SELECT 'shop0.test', 'ok', g"
        " FROM generate_series(1, %s) g",
        (prices // 2,),
    )


@pytest.fixture
def seeded_db(platform_db: TestDatabase) -> TestDatabase:
    seed(platform_db)
    return platform_db


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    (folder / "sub").mkdir(parents=True)
    (folder / "opslib.toml").write_text('compose_project = "pricewatch"\n')
    (folder / "sub" / "proxies.txt").write_text("http://127.0.0.1:3128\n" * 50)
    return folder


@pytest.fixture
def backup_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "backups"
    folder.mkdir()
    return folder


@pytest.fixture
def settings(backup_dir: Path, config_dir: Path) -> BackupSettings:
    return BackupSettings(backup_dir=backup_dir, config_paths=[config_dir])


@pytest.fixture
def tools(platform_db: TestDatabase) -> PgTools:
    return find_tools(server_major(platform_db)[0])


def run_cli(
    dsn: str, backup_dir: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``opslib <args>`` in a subprocess, configured by environment only."""
    env = {
        **os.environ,
        "OPSLIB_DATABASE_DSN": dsn,
        "OPSLIB_BACKUPS__BACKUP_DIR": str(backup_dir),
        **(extra_env or {}),
    }
    env.pop("OPSLIB_CONFIG", None)  # the tmp folder holds no opslib.toml either
    return subprocess.run(
        [sys.executable, "-m", "opslib.cli", *args],
        env=env,
        cwd=backup_dir.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (root only); unmounted afterwards."""
    folder = tmp_path / "small"
    folder.mkdir()
    require(os.geteuid() == 0, "mounting a small filesystem needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    require(done.returncode == 0, f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)

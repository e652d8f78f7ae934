"""Fixtures of the proxy tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbkit import TestDatabase


@pytest.fixture
def env(platform_db: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TestDatabase:
    """The platform database, configured for ``opslib`` commands run in-process."""
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", platform_db.dsn)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSLIB_CONFIG", raising=False)
    return platform_db

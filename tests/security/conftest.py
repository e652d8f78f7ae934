"""Fixtures of the security tests: the command line on a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbkit import TestDatabase

PEPPER = "Pepper-Secret-31415926535"
"""The key pepper the command line is given (a secret: never in any output)."""


@pytest.fixture
def env(platform_db: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TestDatabase:
    for name in ("OPSLIB_CONFIG", "OPSLIB_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", platform_db.dsn)
    monkeypatch.setenv("OPSLIB_ACTOR", "carol")
    monkeypatch.setenv("OPSLIB_SECURITY__KEY_PEPPER", PEPPER)
    monkeypatch.chdir(tmp_path)
    return platform_db

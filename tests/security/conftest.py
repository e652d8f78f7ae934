"""Fixtures of the security tests: the command line on a real database."""

from __future__ import annotations

import pytest

from tests.dbkit import TestDatabase

PEPPER = "Pepper-Secret-31415926535"
"""The key pepper the command line is given (a secret: never in any output)."""


@pytest.fixture
def env(env: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> TestDatabase:
    monkeypatch.setenv("OPSLIB_SECURITY__KEY_PEPPER", PEPPER)
    return env

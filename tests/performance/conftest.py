"""Unit tests judge settings built in the test, never the environment's."""

from __future__ import annotations

import pytest

from tests.support import without_opslib_environment


@pytest.fixture(autouse=True)
def _defaults_only(monkeypatch: pytest.MonkeyPatch) -> None:
    without_opslib_environment(monkeypatch)

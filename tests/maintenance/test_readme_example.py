"""The README's maintenance example runs as written and pauses for a window."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from opslib.maintenance import MaintenanceMode, MaintenanceScope
from tests.dbkit import TestDatabase

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    section = README.read_text().split("## Using the library", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    [block] = [b for b in blocks if "MaintenanceMode" in b]
    return str(block)


def test_example_pauses_for_a_window(
    platform_db: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSLIB_CONFIG", raising=False)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", platform_db.dsn)
    monkeypatch.setenv("OPSLIB_MAINTENANCE__CACHE_SECONDS", "0")  # see the change at once
    namespace: dict[str, Any] = {}
    exec(compile(_example(), "README.md", "exec"), namespace)
    mode: MaintenanceMode = namespace["mode"]
    try:
        assert namespace["may_claim"]("alpha.test")
        MaintenanceMode(platform_db).enable(
            "shop", scope=MaintenanceScope.of(domains=["alpha.test"])
        )
        assert not namespace["may_claim"]("alpha.test")
        assert namespace["may_claim"]("bravo.test")
        MaintenanceMode(platform_db).enable("all")
        assert not namespace["may_claim"]("bravo.test")
    finally:
        mode.database.close()

"""The capacity tests' seeded database and settings, shared (fixtures are found by import)."""

from __future__ import annotations

from tests.capacity.conftest import Seeder, _defaults_only, seeded, settings_for

__all__ = ["Seeder", "_defaults_only", "seeded", "settings_for"]

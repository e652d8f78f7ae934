"""Versioned schema migrations for the ``opslib`` schema and the lab's platform tables."""

from opslib.migrations._runner import Migration, MigrationSet, applied, available, migrate, pending

__all__ = ["Migration", "MigrationSet", "applied", "available", "migrate", "pending"]

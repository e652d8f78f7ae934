"""Versioned schema migrations for the ``opslib`` schema and the lab's platform tables."""

from opslib.migrations._runner import (
    Migration,
    MigrationSet,
    applied,
    apply_migrations,
    available,
    from_directory,
    migrate,
    pending,
)

__all__ = [
    "Migration",
    "MigrationSet",
    "applied",
    "apply_migrations",
    "available",
    "from_directory",
    "migrate",
    "pending",
]

"""Versioned SQL migrations, applied in order under a PostgreSQL advisory lock.

Files are ``sql/<set>/NNNN_name.sql``. Each runs in its own transaction together with its row in
``opslib.schema_migrations``; the session-level advisory lock serialises concurrent runners and
is released by the server if a runner dies.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, cast

from psycopg import sql

from opslib.adapters import Database
from opslib.errors import ConfigError, DataError

__all__ = [
    "Migration",
    "MigrationSet",
    "apply_migrations",
    "applied",
    "from_directory",
    "migrate",
    "pending",
]

MigrationSet = Literal["opslib", "platform"]
"""The migration sets: opslib's own schema, and the platform tables (for labs and tests)."""
_LOCK_KEY = 0x6F70736C6962  # "opslib"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One SQL file of a migration set."""

    set: str  # a MigrationSet, or the name of a platform's own migration directory
    version: int
    name: str
    sql_text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql_text.encode()).hexdigest()


def available(migration_set: MigrationSet) -> list[Migration]:
    """The migrations shipped with opslib for ``migration_set``, in version order."""
    folder = resources.files("opslib.migrations") / "sql" / migration_set
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(
                Migration(migration_set, int(match[1]), match[2], entry.read_text(encoding="utf-8"))
            )
    return sorted(found, key=lambda m: m.version)


_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS opslib;
CREATE TABLE IF NOT EXISTS opslib.schema_migrations (
    migration_set text        NOT NULL,
    version       integer     NOT NULL,
    name          text        NOT NULL,
    checksum      text        NOT NULL,
    applied_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (migration_set, version)
)
"""


def from_directory(folder: Path, migration_set: str) -> list[Migration]:
    """The ``NNNN_name.sql`` files of ``folder`` (a platform's own migrations), in version order;
    other files are ignored, two files of one version are refused."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise ConfigError(
            f"migrations directory {folder} cannot be read: {exc.strerror or exc}"
        ) from exc
    found: dict[int, Migration] = {}
    for entry in entries:
        match = _FILE.match(entry.name)
        if not match or not entry.is_file():
            continue
        version = int(match[1])
        if version in found:
            raise ConfigError(f"migrations directory {folder}: two files of version {match[1]}")
        try:
            text = entry.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"migration {entry} cannot be read: {exc}") from exc
        found[version] = Migration(migration_set, version, match[2], text)
    return [found[v] for v in sorted(found)]


def applied(db: Database, migration_set: str) -> dict[int, str]:
    """Version -> checksum of what is applied (empty if opslib never migrated this database)."""
    exists = db.fetch_one("SELECT to_regclass('opslib.schema_migrations') IS NOT NULL AS ok")
    if not exists or not exists["ok"]:
        return {}
    rows = db.fetch_all(
        "SELECT version, checksum FROM opslib.schema_migrations WHERE migration_set = %s",
        (migration_set,),
    )
    return {int(r["version"]): str(r["checksum"]) for r in rows}


def pending(
    db: Database, migration_set: str, migrations: Sequence[Migration] | None = None
) -> list[Migration]:
    """Migrations not yet applied (of ``migrations``, default those opslib ships for
    ``migration_set``); raises DataError if an applied file was changed since."""
    done = applied(db, migration_set)
    todo = []
    shipped = migrations if migrations is not None else available(cast(MigrationSet, migration_set))
    for migration in shipped:
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                raise DataError(
                    f"migration {migration_set}/{migration.version:04d}_{migration.name} was "
                    "changed after it was applied; add a new migration instead"
                )
        else:
            todo.append(migration)
    return todo


def migrate(db: Database, sets: tuple[MigrationSet, ...] = ("opslib",)) -> list[Migration]:
    """Apply what is pending in ``sets``; return what was applied. Safe to run concurrently."""
    return _apply(db, [(s, None) for s in sets])


def apply_migrations(
    db: Database, migration_set: str, migrations: Sequence[Migration]
) -> list[Migration]:
    """Apply the pending ``migrations`` (of a platform's own directory: :func:`from_directory`)
    in order, recorded under ``migration_set``, under the same lock as :func:`migrate`."""
    return _apply(db, [(migration_set, migrations)])


def _apply(db: Database, sets: Sequence[tuple[str, Sequence[Migration] | None]]) -> list[Migration]:
    done: list[Migration] = []
    db.execute(sql.SQL("SELECT pg_advisory_lock({})").format(sql.Literal(_LOCK_KEY)))
    try:
        with db.transaction():
            db.execute(_BOOTSTRAP)
        for migration_set, given in sets:
            for migration in pending(db, migration_set, given):
                with db.transaction():
                    db.execute_script(migration.sql_text)
                    db.execute(
                        "INSERT INTO opslib.schema_migrations"
                        " (migration_set, version, name, checksum) VALUES (%s, %s, %s, %s)",
                        (migration.set, migration.version, migration.name, migration.checksum),
                    )
                done.append(migration)
    finally:
        db.execute(sql.SQL("SELECT pg_advisory_unlock({})").format(sql.Literal(_LOCK_KEY)))
    return done

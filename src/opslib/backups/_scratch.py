"""Scratch databases of restore drills: each one owned by a session lock, orphans dropped.

A drill takes a session advisory lock keyed by its scratch database's name *before* creating
it, and holds it until the database is dropped. PostgreSQL releases the lock when the drill's
session ends, also when the process is killed (``kill -9``), so a scratch database whose lock
nobody holds is an orphan. Cleanup takes the lock itself before dropping: a drill that is still
running (its lock held) is never touched, and two cleanups (or a cleanup and a starting drill)
cannot both act on one database. Advisory locks belong to one database, so a lock held from
another database of the same server (another installation's drill) is looked up in
``pg_locks`` as well.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from psycopg import sql

from opslib.adapters import Database
from opslib.errors import OpsError

__all__ = [
    "SCRATCH_PREFIX",
    "ScratchCleanup",
    "ScratchDatabase",
    "drop_orphan_scratch",
    "list_scratch",
    "scratch_database",
]

SCRATCH_PREFIX = "opslib_verify_"
"""Name prefix of every scratch database a restore drill creates."""
# Two-key advisory locks: (this class, hashtext(name)). "opsv", below 2**31.
_LOCK_CLASS = 0x6F707376
_LIST = (
    "SELECT d.datname AS name, EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory'"
    " AND l.granted AND l.classid = %(cls)s AND l.objid = hashtext(d.datname)::oid"
    " AND l.objsubid = 2) AS owned FROM pg_database d"
    " WHERE starts_with(d.datname, %(prefix)s) ORDER BY d.datname"
)


@dataclass(frozen=True)
class ScratchDatabase:
    """A scratch database on the server; ``owned`` while a running drill holds its lock."""

    name: str
    bytes: int
    owned: bool


@dataclass(frozen=True)
class ScratchCleanup:
    """What a cleanup did: orphans dropped, databases of running drills left alone, orphans
    that could not be dropped (with the server's reason)."""

    dropped: tuple[ScratchDatabase, ...] = ()
    in_use: tuple[ScratchDatabase, ...] = ()
    failed: tuple[tuple[ScratchDatabase, str], ...] = ()

    def lines(self) -> list[str]:
        """One line per database acted on or left behind."""
        return [
            f"dropped orphan scratch database {d.name} ({d.bytes / 1e6:.1f} MB) left by a"
            " drill that is gone"
            for d in self.dropped
        ] + [f"orphan scratch database {d.name} not dropped: {why}" for d, why in self.failed]


def _size(db: Database, name: str) -> int:
    try:
        row = db.fetch_one(
            "SELECT pg_database_size(oid) AS n FROM pg_database WHERE datname = %s", (name,)
        )
    except OpsError:  # dropped meanwhile, or no right to see its size
        return 0
    return int(row["n"]) if row and row["n"] is not None else 0


def list_scratch(db: Database) -> list[ScratchDatabase]:
    """Every scratch database on ``db``'s server, and whether a running drill owns it."""
    rows = db.fetch_all(_LIST, {"cls": _LOCK_CLASS, "prefix": SCRATCH_PREFIX})
    return [ScratchDatabase(str(r["name"]), _size(db, r["name"]), bool(r["owned"])) for r in rows]


def _lock(db: Database, name: str, *, wait: bool) -> bool:
    if wait:
        db.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_LOCK_CLASS, name))
        return True
    row = db.fetch_one("SELECT pg_try_advisory_lock(%s, hashtext(%s)) AS got", (_LOCK_CLASS, name))
    return bool(row and row["got"])


def _unlock(db: Database, name: str) -> None:
    db.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_LOCK_CLASS, name))


def _owned_elsewhere(db: Database, name: str) -> bool:
    """Advisory locks belong to one database: a drill connected to another database of the
    server holds its lock there, where our try-lock does not see it; pg_locks does."""
    row = db.fetch_one(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND classid = %s AND objid = hashtext(%s)::oid AND objsubid = 2"
        " AND pid <> pg_backend_pid()) AS held",
        (_LOCK_CLASS, name),
    )
    return bool(row and row["held"])


def _drop(db: Database, name: str) -> None:
    db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def scratch_database(db: Database) -> Iterator[str]:
    """Create a scratch database owned by ``db``'s session for the block; dropped after it,
    also when the block raises. Yields its name."""
    name = f"{SCRATCH_PREFIX}{secrets.token_hex(6)}"
    _lock(db, name, wait=True)  # before it exists: a cleanup never sees it unowned
    try:
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield name
        finally:
            _drop(db, name)
    finally:
        _unlock(db, name)


def drop_orphan_scratch(db: Database) -> ScratchCleanup:
    """Drop every scratch database whose drill is gone (its lock free); leave running drills'."""
    dropped: list[ScratchDatabase] = []
    in_use: list[ScratchDatabase] = []
    failed: list[tuple[ScratchDatabase, str]] = []
    for found in list_scratch(db):
        if not _lock(db, found.name, wait=False):
            in_use.append(found)
            continue
        try:
            if _owned_elsewhere(db, found.name):
                in_use.append(found)
                continue
            _drop(db, found.name)
            dropped.append(ScratchDatabase(found.name, found.bytes, owned=False))
        except OpsError as exc:
            failed.append((found, str(exc)))
        finally:
            _unlock(db, found.name)
    return ScratchCleanup(tuple(dropped), tuple(in_use), tuple(failed))

"""The catalogue of backups in ``opslib.backups``, and its consistency with the directory."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from opslib.adapters import Database, Row
from opslib.backups._manifest import (
    MANIFEST_FILE,
    BackupKind,
    Manifest,
    read_manifest,
    sha256_file,
)
from opslib.backups._store import complete_names, leftovers, unknown_entries

__all__ = ["BackupRecord", "Catalog", "Consistency", "Verification"]

Verification = Literal["unverified", "ok", "failed"]
"""What the newest restore drill of a backup found."""
_COLUMNS = (
    "name, kind, state, backup_dir, started_at, created_at, database_name, server_version,"
    " dump_bytes, dump_sha256, config_bytes, config_sha256, manifest_sha256, row_counts,"
    " newest_checked_at, verification, verified_at, verification_detail, detail"
)


@dataclass(frozen=True)
class BackupRecord:
    """One catalogue row."""

    name: str
    kind: BackupKind
    state: str
    backup_dir: str
    started_at: datetime
    created_at: datetime | None
    database_name: str | None
    server_version: str | None
    dump_bytes: int | None
    dump_sha256: str | None
    config_bytes: int | None
    config_sha256: str | None
    manifest_sha256: str | None
    row_counts: dict[str, int]
    newest_checked_at: datetime | None
    verification: Verification
    verified_at: datetime | None
    verification_detail: str
    detail: str

    @property
    def path(self) -> Path:
        return Path(self.backup_dir) / self.name


@dataclass(frozen=True)
class Consistency:
    """Differences between the catalogue and the directory; empty lists mean consistent."""

    missing_on_disk: tuple[str, ...] = ()
    unknown_on_disk: tuple[str, ...] = ()
    leftovers: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = field(default=())

    @property
    def problems(self) -> list[str]:
        """One line per difference."""
        return (
            [f"{n}: in the catalogue but missing from disk" for n in self.missing_on_disk]
            + [f"{n}: on disk but unknown to the catalogue" for n in self.unknown_on_disk]
            + [f"{n}: leftover of an interrupted write" for n in self.leftovers]
            + [f"{n}: not a backup (left alone)" for n in self.unexpected]
        )

    @property
    def ok(self) -> bool:
        return not (self.missing_on_disk or self.unknown_on_disk)


class Catalog:
    """Reads and writes ``opslib.backups`` rows for one backup directory."""

    def __init__(self, db: Database, backup_dir: Path) -> None:
        self.db = db
        self.backup_dir = backup_dir

    def start(self, name: str, kind: BackupKind) -> None:
        self.db.execute(
            "INSERT INTO opslib.backups (name, kind, state, backup_dir)"
            " VALUES (%s, %s, 'creating', %s)",
            (name, kind, str(self.backup_dir)),
        )

    def complete(self, manifest: Manifest, manifest_sha256: str) -> None:
        dump = manifest.file("db.dump")
        config = manifest.file("config.tar.gz")
        self.db.execute(
            "UPDATE opslib.backups SET state = 'complete', created_at = %s, database_name = %s,"
            " server_version = %s, dump_bytes = %s, dump_sha256 = %s, config_bytes = %s,"
            " config_sha256 = %s, manifest_sha256 = %s, row_counts = %s::jsonb,"
            " newest_checked_at = %s WHERE name = %s",
            (
                manifest.created_at,
                manifest.database,
                manifest.server_version,
                dump.bytes,
                dump.sha256,
                config.bytes,
                config.sha256,
                manifest_sha256,
                json.dumps(manifest.row_counts),
                manifest.newest_checked_at,
                manifest.name,
            ),
        )

    def fail(self, name: str, detail: str) -> None:
        self.db.execute(
            "UPDATE opslib.backups SET state = 'failed', detail = %s WHERE name = %s",
            (detail[:2000], name),
        )

    def mark_deleted(self, name: str) -> None:
        self.db.execute(
            "UPDATE opslib.backups SET state = 'deleted', deleted_at = now() WHERE name = %s",
            (name,),
        )

    def record_verification(self, name: str, ok: bool, detail: str) -> None:
        self.db.execute(
            "UPDATE opslib.backups SET verification = %s, verified_at = now(),"
            " verification_detail = %s WHERE name = %s",
            ("ok" if ok else "failed", detail[:2000], name),
        )

    def get(self, name: str) -> BackupRecord | None:
        row = self.db.fetch_one(
            "SELECT " + _COLUMNS + " FROM opslib.backups WHERE name = %s",
            (name,),
        )
        return _record(row) if row else None

    def complete_backups(self) -> list[BackupRecord]:
        """Complete backups of this directory, newest first."""
        rows = self.db.fetch_all(
            "SELECT " + _COLUMNS + " FROM opslib.backups"
            " WHERE state = 'complete' AND backup_dir = %s ORDER BY created_at DESC, name DESC",
            (str(self.backup_dir),),
        )
        return [_record(r) for r in rows]

    def recover(self) -> list[str]:
        """Settle rows left 'creating' by a writer that died (call under the writer lock).

        A backup that reached its final name is complete by construction and is adopted from
        its manifest; any other is marked failed. Returns one line per row settled.
        """
        rows = self.db.fetch_all(
            "SELECT name FROM opslib.backups WHERE state = 'creating' AND backup_dir = %s",
            (str(self.backup_dir),),
        )
        on_disk = set(complete_names(self.backup_dir))
        settled = []
        for row in rows:
            name = str(row["name"])
            if name in on_disk:
                folder = self.backup_dir / name
                self.complete(read_manifest(folder), sha256_file(folder / MANIFEST_FILE)[1])
                settled.append(f"{name}: adopted (complete on disk)")
            else:
                self.fail(name, "interrupted before completion")
                settled.append(f"{name}: marked failed (interrupted)")
        return settled

    def consistency(self) -> Consistency:
        on_disk = set(complete_names(self.backup_dir))
        known = {r.name for r in self.complete_backups()}
        return Consistency(
            missing_on_disk=tuple(sorted(known - on_disk)),
            unknown_on_disk=tuple(sorted(on_disk - known)),
            leftovers=tuple(p.name for p in leftovers(self.backup_dir)),
            unexpected=tuple(unknown_entries(self.backup_dir)),
        )


def _record(row: Row) -> BackupRecord:
    data: dict[str, Any] = dict(row)
    data["row_counts"] = {str(k): int(v) for k, v in (data["row_counts"] or {}).items()}
    return BackupRecord(**data)

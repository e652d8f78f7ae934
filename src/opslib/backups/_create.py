"""``create``: a consistent dump and the config tarball, written atomically, then catalogued."""

from __future__ import annotations

import errno
import logging
import os
import secrets
import shutil
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from psycopg import sql

from opslib.adapters import Database
from opslib.backups._catalog import Catalog
from opslib.backups._manifest import (
    CONFIG_FILE,
    DUMP_FILE,
    MANIFEST_FILE,
    SUMS_FILE,
    BackupKind,
    FileEntry,
    Manifest,
    format_sums,
    manifest_bytes,
    sha256_file,
    write_durably,
)
from opslib.backups._store import (
    TEMP_PREFIX,
    check_writable,
    fsync_dir,
    leftovers,
    writer_lock,
)
from opslib.backups._tools import find_tools, server_major
from opslib.config import BackupSettings, PlatformTables
from opslib.errors import ConfigError, DependencyError, OpsError
from opslib.quality import PlatformSchema, TableKey

__all__ = ["CreatedBackup", "Progress", "create_backup", "plan_create"]

_log = logging.getLogger(__name__)
Progress = Callable[[str], None]
"""Called with one line of progress at a time (a terminal shows it, a script may drop it)."""


@dataclass(frozen=True)
class CreatedBackup:
    """A backup renamed into place and catalogued as complete."""

    name: str
    path: Path
    manifest: Manifest
    seconds: float
    recovered: tuple[str, ...] = ()


def plan_create(db: Database, settings: BackupSettings) -> str:
    """Check what ``create`` needs (directory, config paths, tools); say what it would do."""
    check_writable(settings.backup_dir)
    for path in settings.config_paths:
        if not path.exists():
            raise ConfigError(f"config path {path} (backups.config_paths) does not exist")
    major, _ = server_major(db)
    tools = find_tools(major, settings.pg_bin_dir)
    return (
        f"dump the database with {tools.pg_dump} and tar {len(settings.config_paths)} config"
        f" path(s) into {settings.backup_dir}"
    )


def create_backup(
    db: Database,
    settings: BackupSettings,
    *,
    kind: BackupKind = "regular",
    progress: Progress | None = None,
    tables: PlatformTables | None = None,
) -> CreatedBackup:
    """Dump ``db`` (custom format) and tar the config paths into a new backup.

    Files are written under a temporary name in the backup directory, fsynced, and the folder is
    renamed into place: a reader sees a complete backup or none. ``emergency`` backups use the
    fastest compression. The manifest counts the rows of the platform tables (``tables``: their
    configured names) that exist. Raises ConfigError / DependencyError with one line on failure.
    """
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    folder = settings.backup_dir
    plan_create(db, settings)
    major, version = server_major(db)
    tools = find_tools(major, settings.pg_bin_dir)
    catalog = Catalog(db, folder)
    with writer_lock(folder):
        recovered = tuple(catalog.recover())
        for stale in leftovers(folder):
            shutil.rmtree(stale)
        stamp = datetime.now(UTC)
        name = f"{stamp:%Y%m%dT%H%M%SZ}-{kind}-{secrets.token_hex(3)}"
        tmp = folder / f"{TEMP_PREFIX}{name}"
        catalog.start(name, kind)
        try:
            tmp.mkdir(mode=0o700)
            manifest = _write(
                tmp,
                name=name,
                kind=kind,
                db=db,
                pg_dump=tools.pg_dump,
                settings=settings,
                version=version,
                say=say,
                tables=tables if tables is not None else PlatformTables(),
            )
            fsync_dir(tmp)
            tmp.rename(folder / name)
            fsync_dir(folder)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            _fail(catalog, name, exc)
            if isinstance(exc, OSError):
                raise _disk_error(folder, exc) from exc
            raise
        catalog.complete(manifest, sha256_file(folder / name / MANIFEST_FILE)[1])
    say(f"backup {name} complete")
    return CreatedBackup(name, folder / name, manifest, time.monotonic() - started, recovered)


def _write(
    tmp: Path,
    *,
    name: str,
    kind: BackupKind,
    db: Database,
    pg_dump: Path,
    settings: BackupSettings,
    version: str,
    say: Progress,
    tables: PlatformTables,
) -> Manifest:
    dump = tmp / DUMP_FILE
    with (
        db.open(statement_timeout=settings.dump_timeout, application_name="opslib-backup") as snap,
        snap.transaction(),
    ):
        # One snapshot for pg_dump and for the figures the manifest promises about it.
        snap.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        row = snap.fetch_one(
            "SELECT pg_export_snapshot() AS snapshot, current_database() AS db, now() AS at"
        )
        assert row is not None
        args = ["--format=custom", f"--snapshot={row['snapshot']}"]
        if kind == "emergency":
            args.append("--compress=1")
        args += ["--file", str(dump)]
        say(f"dumping database {row['db']} into {tmp.parent}")
        proc = snap.spawn_client(pg_dump, args)
        try:
            counts, newest = _figures(snap, tables)
            _tar_config(tmp / CONFIG_FILE, settings.config_paths)
            _, err = proc.communicate(timeout=settings.dump_timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if proc.returncode != 0:
            error = snap.tool_failure("pg_dump", err.decode(errors="replace"))
            if "No space left" in error.reason:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            raise error
    files = []
    for file_name in (DUMP_FILE, CONFIG_FILE):
        path = tmp / file_name
        path.chmod(0o600)  # pg_dump and tarfile create files by the umask (0644)
        _fsync(path)
        size, digest = sha256_file(path)
        files.append(FileEntry(name=file_name, bytes=size, sha256=digest))
    manifest = Manifest(
        name=name,
        kind=kind,
        created_at=row["at"],
        database=str(row["db"]),
        server_version=version,
        files=tuple(files),
        row_counts=counts,
        newest_checked_at=newest,
        config_paths=tuple(str(p) for p in settings.config_paths),
    )
    body = manifest_bytes(manifest)
    write_durably(tmp / MANIFEST_FILE, body)
    sums = {f.name: f.sha256 for f in files}
    sums[MANIFEST_FILE] = sha256_file(tmp / MANIFEST_FILE)[1]
    write_durably(tmp / SUMS_FILE, format_sums(sums))
    return manifest


_COUNTED: tuple[TableKey, ...] = ("monitored_urls", "price_history", "scrape_logs")


def _figures(db: Database, tables: PlatformTables) -> tuple[dict[str, int], datetime | None]:
    """Rows of each platform table that exists (by its configured name) and the newest
    ``checked_at`` of the price table (None when it or the column is absent)."""
    schema = PlatformSchema.read(db, tables)
    counts: dict[str, int] = {}
    for key in _COUNTED:
        if schema.columns[key] is not None:
            row = db.fetch_one(sql.SQL("SELECT count(*) AS n FROM {}").format(schema.table(key)))
            counts[schema.name(key)] = int(row["n"]) if row else 0
    newest = None
    if schema.has("price_history", "checked_at"):
        row = db.fetch_one(
            sql.SQL("SELECT max({}) AS newest FROM {}").format(
                schema.column("price_history", "checked_at"), schema.table("price_history")
            )
        )
        newest = row["newest"] if row else None
    return counts, newest


def _tar_config(target: Path, paths: list[Path]) -> None:
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        for path in paths:
            tar.add(path, arcname=str(path.resolve()).lstrip("/"))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fail(catalog: Catalog, name: str, exc: BaseException) -> None:
    try:
        catalog.fail(name, str(exc) or type(exc).__name__)
    except OpsError as catalog_exc:
        # The backup's own error matters more; the next create settles the row.
        _log.warning("backup %s not marked failed: %s", name, catalog_exc)


def _disk_error(folder: Path, exc: OSError) -> DependencyError:
    if exc.errno == errno.ENOSPC:
        return DependencyError(
            "backup directory", f"{folder}: no space left on device (nothing was kept)"
        )
    return DependencyError(
        "backup directory", f"{folder}: {exc.strerror or exc} (nothing was kept)"
    )

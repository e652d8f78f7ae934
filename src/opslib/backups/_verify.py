"""``verify``: restore a backup into a scratch database, compare it with its manifest, drop it."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg import sql

from opslib.adapters import Database, Row
from opslib.backups._catalog import BackupRecord, Catalog
from opslib.backups._create import Progress
from opslib.backups._manifest import DUMP_FILE, Manifest, read_manifest, sha256_file
from opslib.backups._scratch import SCRATCH_PREFIX, drop_orphan_scratch, scratch_database
from opslib.backups._tools import PgTools, find_tools, list_archive, server_major
from opslib.config import BackupSettings, PlatformTables
from opslib.errors import DataError, InputError, OpsError
from opslib.quality import PlatformSchema

__all__ = ["SCRATCH_PREFIX", "VerifyReport", "select_backup", "verify_backup"]

_log = logging.getLogger(__name__)
_STEP = re.compile(r"^pg_restore: (creating|processing data for table|processing item) ")
# One pass over the restored prices: the count, the newest row, and rows that must not exist.
# (Prices pointing at no URL are ruled out by the foreign key pg_restore validates.) Names are
# the configured ones; a price column the table lacks skips the negative-price count.
_PRICES = sql.SQL(
    "SELECT count(*) AS n, max({checked_at}) AS newest,"
    " {negative} AS negative,"
    " count(*) FILTER (WHERE {checked_at} > %(limit)s) AS later FROM {table}"
)


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of one restore drill."""

    name: str
    scratch_database: str
    problems: tuple[str, ...]
    row_counts: dict[str, int]
    newest_checked_at: datetime | None
    seconds: float
    orphans_dropped: tuple[str, ...] = ()
    """Scratch databases of killed drills dropped before this one began."""

    @property
    def ok(self) -> bool:
        return not self.problems


def select_backup(catalog: Catalog, name: str | None) -> BackupRecord:
    """The named complete backup, else the newest; DataError if there is none."""
    if name is not None:
        record = catalog.get(name)
        if record is None or record.state != "complete":
            raise InputError(f"no complete backup named {name} in the catalogue")
        return record
    found = catalog.complete_backups()
    if not found:
        raise DataError(f"no complete backup of {catalog.backup_dir} in the catalogue")
    return found[0]


def verify_backup(
    db: Database,
    settings: BackupSettings,
    name: str | None = None,
    *,
    progress: Progress | None = None,
    tables: PlatformTables | None = None,
) -> VerifyReport:
    """Restore the newest (or ``name``) backup into a new scratch database and check it.

    The scratch database gets a unique name, is owned by this session (a lock) and is dropped
    afterwards, also on failure; scratch databases of drills that were killed are dropped first
    (``drop_orphan_scratch``). The live database is never written. The restored row counts are
    compared with the manifest's, and the price table (``tables``: the configured names) for
    its newest ``checked_at``. The outcome is recorded in the catalogue.
    """
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    catalog = Catalog(db, settings.backup_dir)
    record = select_backup(catalog, name)
    major, _ = server_major(db)
    tools = find_tools(major, settings.pg_bin_dir)
    cleanup = drop_orphan_scratch(db)  # left by drills that were killed
    for line in cleanup.lines():
        _log.warning("%s", line)
    scratch = ""
    counts: dict[str, int] = {}
    newest: datetime | None = None
    try:
        manifest = read_manifest(record.path)
        problems = _dump_checksum(record, manifest)
    except DataError as exc:
        problems = [str(exc)]
    if not problems:
        with scratch_database(db) as scratch:
            say(f"restoring {record.name} into scratch database {scratch}")
            with db.open(
                scratch, statement_timeout=settings.dump_timeout, application_name="opslib-verify"
            ) as restored:
                problems = _restore(tools, restored, record, say, timeout=settings.restore_timeout)
                if not problems:
                    counts, newest, problems = _compare(
                        restored, manifest, tables if tables is not None else PlatformTables()
                    )
    report = VerifyReport(
        record.name,
        scratch,
        tuple(problems),
        counts,
        newest,
        time.monotonic() - started,
        tuple(d.name for d in cleanup.dropped),
    )
    detail = "; ".join(problems) if problems else _summary(counts)
    catalog.record_verification(record.name, report.ok, detail)
    say(f"verification of {record.name}: {'ok' if report.ok else 'FAILED'}")
    return report


def _dump_checksum(record: BackupRecord, manifest: Manifest) -> list[str]:
    expected = manifest.file(DUMP_FILE).sha256
    try:
        _, actual = sha256_file(record.path / DUMP_FILE)
    except OSError as exc:
        return [f"{DUMP_FILE}: unreadable: {exc.strerror or exc}"]
    if actual != expected or (record.dump_sha256 not in (None, actual)):
        return [f"{DUMP_FILE}: SHA-256 differs from the manifest or the catalogue"]
    return []


def _restore(
    tools: PgTools, scratch: Database, record: BackupRecord, say: Progress, *, timeout: float
) -> list[str]:
    dump = record.path / DUMP_FILE
    total, error = list_archive(tools, dump)
    if error:
        return [error]
    proc = scratch.spawn_client(
        tools.pg_restore,
        ["--no-owner", "--no-privileges", "--exit-on-error", "--verbose", str(dump)],
        text=True,
    )
    tail: deque[str] = deque(maxlen=20)
    done = 0
    shown = 0.0
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        proc.kill()

    # A timer, not a read timeout: a hung pg_restore prints nothing for the loop below to see.
    deadline = threading.Timer(timeout, expire)
    deadline.daemon = True
    deadline.start()
    assert proc.stderr is not None
    try:
        for line in proc.stderr:
            tail.append(line.rstrip())
            if _STEP.match(line):
                done += 1
                if time.monotonic() - shown > 0.5:
                    shown = time.monotonic()
                    say(f"restoring {min(done, total)}/{total}: {line[12:].strip()[:70]}")
        proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        deadline.cancel()
        proc.stderr.close()
    if expired.is_set() and proc.returncode != 0:
        return [f"pg_restore did not finish within {timeout:g} s (backups.restore_timeout)"]
    if proc.returncode != 0:
        errors = [ln for ln in tail if "error" in ln.lower()] or list(tail)
        return [f"pg_restore failed: {scratch.redact(errors[-1] if errors else 'no message')}"]
    return []


def _compare(
    restored: Database, manifest: Manifest, tables: PlatformTables
) -> tuple[dict[str, int], datetime | None, list[str]]:
    problems: list[str] = []
    counts: dict[str, int] = {}
    newest = None
    limit = manifest.created_at + timedelta(minutes=5)
    schema = PlatformSchema.read(restored, tables)
    # The price figures as create took them: only where the price table has checked_at.
    prices = schema.name("price_history")
    judge_prices = schema.has("price_history", "checked_at")
    for table in sorted(manifest.row_counts):
        try:
            if table == prices and judge_prices:
                row = restored.fetch_one(_prices_query(schema), {"limit": limit})
            else:
                row = restored.fetch_one(
                    sql.SQL("SELECT count(*) AS n FROM {}").format(
                        sql.Identifier(*table.split("."))
                    )
                )
        except OpsError as exc:
            problems.append(f"{table}: cannot be read after restore: {exc}")
            continue
        assert row is not None
        counts[table] = int(row["n"])
        if table == prices and judge_prices:
            newest = row["newest"]
            problems += _price_problems(row, manifest)
    problems[:0] = [
        f"{table}: {counts[table]} rows restored, manifest says {expected}"
        for table, expected in sorted(manifest.row_counts.items())
        if table in counts and counts[table] != expected
    ]
    return counts, newest, problems


def _prices_query(schema: PlatformSchema) -> sql.Composed:
    price = schema.column("price_history", "price")
    return _PRICES.format(
        checked_at=schema.column("price_history", "checked_at"),
        negative=sql.SQL("count(*) FILTER (WHERE {} < 0)").format(price)
        if schema.has("price_history", "price")
        else sql.SQL("0"),
        table=schema.table("price_history"),
    )


def _price_problems(row: Row, manifest: Manifest) -> list[str]:
    problems = []
    if row["newest"] != manifest.newest_checked_at:
        problems.append(
            f"newest checked_at restored {row['newest']},"
            f" manifest says {manifest.newest_checked_at}"
        )
    if row["negative"]:
        problems.append(f"sanity: {row['negative']} negative prices")
    if row["later"]:
        problems.append(f"sanity: {row['later']} prices checked after the backup was taken")
    return problems


def _summary(counts: dict[str, int]) -> str:
    return "restored; " + ", ".join(f"{t}={n}" for t, n in sorted(counts.items()))

"""``opslib db partition``: ``price_history`` made a table partitioned by month of
``checked_at``, online.

Steps: a partitioned copy (``LIKE`` the table: columns, defaults, NOT NULL and CHECK
constraints; the primary key becomes ``(id, checked_at)``, as a partitioned table's unique keys
must hold the partition key; every other index and foreign key recreated from the catalogue's
own definitions) with a partition a month from the oldest row to three months ahead and a
DEFAULT one; rows copied in batches of ids while the scrapers keep writing; then one short
transaction under ``lock_timeout`` copies the rows written meanwhile, checks the counts match,
swaps the names and hands the id sequence to the new table. The old table stays, renamed
``<name>_unpartitioned``, for the operator to drop once satisfied.

``price_history`` is append-only on the platform: a row updated or deleted during the copy is
not carried over (the counts check sees a deleted one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables
from opslib.errors import DataError, OpsError, UnsafeActionError

__all__ = ["PartitionPlan", "PartitionResult", "apply_partitioning", "plan_partitioning"]

_OLD_SUFFIX = "_unpartitioned"
_NEW_SUFFIX = "_partitioned"
_AHEAD_MONTHS = 3


@dataclass(frozen=True)
class PartitionPlan:
    """What partitioning the table involves; ``refused`` says why it may not be done."""

    table: str
    column: str
    rows: int
    partitions: tuple[tuple[str, date | None, date | None], ...]
    indexes: tuple[tuple[str, str], ...]
    foreign_keys: tuple[tuple[str, str], ...]
    sequence: str | None
    refused: str = ""
    batch_rows: int = 50_000
    lock_timeout: float = 2.0
    attempts: int = 5
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    @property
    def old_name(self) -> str:
        return _name(self.table) + _OLD_SUFFIX

    def lines(self) -> list[str]:
        """The plan in words."""
        if self.refused:
            return [f"refused: {self.refused}"]
        return [
            f"create {_name(self.table)}{_NEW_SUFFIX} PARTITION BY RANGE ({self.column}),"
            f" primary key (id, {self.column})",
            *(f"  partition {n}: {_bound(a)} .. {_bound(b)}" for n, a, b in self.partitions),
            *(f"  index {n}: {d}" for n, d in self.indexes),
            *(f"  constraint {n}: {d}" for n, d in self.foreign_keys),
            f"copy ~{self.rows} rows in batches of {self.batch_rows} ids while writes go on",
            f"swap names in one transaction (lock_timeout {self.lock_timeout:g} s); the old"
            f" table stays as {self.old_name}",
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "column": self.column,
            "rows": self.rows,
            "partitions": [
                {"name": n, "from": a and a.isoformat(), "to": b and b.isoformat()}
                for n, a, b in self.partitions
            ],
            "indexes": [{"name": n, "definition": d} for n, d in self.indexes],
            "foreign_keys": [{"name": n, "definition": d} for n, d in self.foreign_keys],
            "refused": self.refused,
            "old_table": self.old_name,
        }


@dataclass(frozen=True)
class PartitionResult:
    """What was done: rows copied in batches, in the swap, and the lock attempts it took."""

    plan: PartitionPlan
    copied: int
    caught_up: int
    attempts: int
    seconds: float
    swap_seconds: float


def _name(table: str) -> str:
    return table.rpartition(".")[2]


def _ident(table: str) -> sql.Identifier:
    return sql.Identifier(*table.split("."))


def _sibling(table: str, name: str) -> sql.Identifier:
    schema, _, _ = table.rpartition(".")
    return sql.Identifier(schema, name) if schema else sql.Identifier(name)


def _bound(day: date | None) -> str:
    return "DEFAULT" if day is None else day.isoformat()


def _month(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def _regclass(table: str) -> str:
    return ".".join(f'"{part}"' for part in table.split("."))


def plan_partitioning(
    db: Database, tables: PlatformTables, *, now: datetime | None = None
) -> PartitionPlan:
    """Read the table's catalogue entries and rows' span; refuse what cannot be done safely."""
    table = tables.price_history.name
    column = tables.price_history.checked_at
    row = db.fetch_one(
        "SELECT c.oid, c.relkind, c.reltuples::bigint AS estimate FROM pg_class c"
        " WHERE c.oid = to_regclass(%s)",
        (_regclass(table),),
    )
    if row is None:
        raise DataError(f"table {table} not found: set tables.price_history.name")
    oid = row["oid"]
    empty = PartitionPlan(table, column, 0, (), (), (), None)
    if row["relkind"] == "p":
        return _refused(empty, f"{table} is already partitioned")
    refusal = _unsupported(db, oid, column)
    if refusal:
        return _refused(empty, refusal)
    span = db.fetch_one(
        sql.SQL("SELECT min({c}) AS first, count(*) AS n FROM {t}").format(
            c=sql.Identifier(column), t=_ident(table)
        )
    )
    today = (now or datetime.now(UTC)).date()
    first = span["first"].astimezone(UTC).date() if span and span["first"] else today
    start, end = _month(first, 0), _month(today, _AHEAD_MONTHS)
    months = []
    month = start
    while month < end:
        months.append((f"{_name(table)}_p{month:%Y%m}", month, _month(month, 1)))
        month = _month(month, 1)
    partitions: tuple[tuple[str, date | None, date | None], ...] = (
        *months,
        (f"{_name(table)}_default", None, None),
    )
    return PartitionPlan(
        table,
        column,
        int(span["n"]) if span else 0,
        partitions,
        _indexes(db, oid),
        _foreign_keys(db, oid),
        _sequence(db, table),
    )


def _refused(plan: PartitionPlan, why: str) -> PartitionPlan:
    return PartitionPlan(plan.table, plan.column, 0, (), (), (), None, refused=why)


def _unsupported(db: Database, oid: int, column: str) -> str:
    cols = {
        r["attname"]: r["attidentity"]
        for r in db.fetch_all(
            "SELECT attname, attidentity FROM pg_attribute"
            " WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped",
            (oid,),
        )
    }
    if "id" not in cols or column not in cols:
        return f"the table needs columns id and {column}"
    if cols["id"]:
        return "id is an identity column: a copy would start a new sequence"
    referencing = db.fetch_all(
        "SELECT conname, conrelid::regclass::text AS source FROM pg_constraint"
        " WHERE confrelid = %s AND contype = 'f'",
        (oid,),
    )
    if referencing:
        names = ", ".join(f"{r['source']}.{r['conname']}" for r in referencing)
        return f"foreign keys reference it ({names}): a partitioned table's key is (id, {column})"
    unique = db.fetch_all(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = %s AND i.indisunique AND NOT i.indisprimary",
        (oid,),
    )
    if unique:
        names = ", ".join(r["relname"] for r in unique)
        return f"unique indexes ({names}) would need {column} in their key"
    return ""


def _indexes(db: Database, oid: int) -> tuple[tuple[str, str], ...]:
    rows = db.fetch_all(
        "SELECT c.relname AS name,"
        " substring(pg_get_indexdef(i.indexrelid) FROM ' USING .*$') AS tail"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = %s AND NOT i.indisprimary AND i.indisvalid ORDER BY 1",
        (oid,),
    )
    return tuple((r["name"], r["tail"].strip()) for r in rows)


def _foreign_keys(db: Database, oid: int) -> tuple[tuple[str, str], ...]:
    rows = db.fetch_all(
        "SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint"
        " WHERE conrelid = %s AND contype = 'f' ORDER BY 1",
        (oid,),
    )
    return tuple((r["name"], r["definition"]) for r in rows)


def _sequence(db: Database, table: str) -> str | None:
    row = db.fetch_one("SELECT pg_get_serial_sequence(%s, 'id') AS seq", (_regclass(table),))
    return str(row["seq"]) if row and row["seq"] else None


def _create(db: Database, plan: PartitionPlan) -> None:
    """The partitioned copy, its partitions, key, indexes and foreign keys (one transaction)."""
    new = _sibling(plan.table, _name(plan.table) + _NEW_SUFFIX)
    old = _ident(plan.table)
    column = sql.Identifier(plan.column)
    with db.transaction():
        db.execute(
            sql.SQL(
                "CREATE TABLE {new} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
                " INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE ({c})"
            ).format(new=new, old=old, c=column)
        )
        for name, low, high in plan.partitions:
            part = _sibling(plan.table, name)
            if low is None or high is None:
                db.execute(sql.SQL("CREATE TABLE {} PARTITION OF {} DEFAULT").format(part, new))
                continue
            db.execute(
                sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                    part, new, sql.Literal(low.isoformat()), sql.Literal(high.isoformat())
                )
            )
        db.execute(
            sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({}, {})").format(
                new, sql.Identifier("id"), column
            )
        )
        for name, tail in plan.indexes:
            # ``tail`` is the server's own pg_get_indexdef text from " USING": method, keys
            # and predicate exactly as the old index has them.
            db.execute(
                sql.SQL("CREATE INDEX {} ON {} ").format(sql.Identifier(name + _NEW_SUFFIX), new)
                + sql.SQL(tail)  # catalogue text, not input
            )
        for name, definition in plan.foreign_keys:
            db.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                    new, sql.Identifier(name + _NEW_SUFFIX)
                )
                + sql.SQL(definition)  # catalogue text
            )


def _max_id(db: Database, table: sql.Composable) -> int:
    row = db.fetch_one(sql.SQL("SELECT coalesce(max(id), 0) AS m FROM {}").format(table))
    return int(row["m"]) if row else 0


def _settle(db: Database, plan: PartitionPlan, wait: float = 30.0) -> None:
    """Wait (at most ``wait`` s) for the transactions running now to end, so every id handed
    out so far is committed or gone."""
    row = db.fetch_one("SELECT pg_current_snapshot()::text AS snap")
    snap = row["snap"] if row else None
    deadline = time.monotonic() + wait
    while snap and time.monotonic() < deadline:
        done = db.fetch_one(
            "SELECT pg_snapshot_xmin(pg_current_snapshot()) >= pg_snapshot_xmax(%s::pg_snapshot)"
            " AS done",
            (snap,),
        )
        if done and done["done"]:
            return
        plan.sleep(0.05)


def _copy(db: Database, plan: PartitionPlan, low: int, high: int) -> int:
    new = _sibling(plan.table, _name(plan.table) + _NEW_SUFFIX)
    copied = 0
    start = low
    while start < high:
        stop = min(high, start + plan.batch_rows)
        copied += db.execute(
            sql.SQL("INSERT INTO {} SELECT * FROM {} WHERE id > %s AND id <= %s").format(
                new, _ident(plan.table)
            ),
            (start, stop),
        )
        start = stop
    return copied


def apply_partitioning(db: Database, plan: PartitionPlan) -> PartitionResult:
    """Create, copy and swap as planned; UnsafeActionError when the plan was refused or the
    swap's lock was not granted in ``plan.attempts`` tries (the copy is then dropped)."""
    if plan.refused:
        raise UnsafeActionError(f"db partition refused: {plan.refused}")
    started = time.monotonic()
    _create(db, plan)
    new = _sibling(plan.table, _name(plan.table) + _NEW_SUFFIX)
    try:
        copied, done = 0, 0
        while True:  # rounds until what is left fits in one batch, copied under the lock
            top = _max_id(db, _ident(plan.table))
            _settle(db, plan)
            copied += _copy(db, plan, done, top)
            done = top
            if _max_id(db, _ident(plan.table)) - done <= plan.batch_rows:
                break
        caught, attempts, swap = _swap(db, plan, done)
    except BaseException:
        with db.transaction():
            db.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(new))
        raise
    return PartitionResult(plan, copied, caught, attempts, time.monotonic() - started, swap)


def _swap(db: Database, plan: PartitionPlan, done: int) -> tuple[int, int, float]:
    old = _ident(plan.table)
    new = _sibling(plan.table, _name(plan.table) + _NEW_SUFFIX)
    for attempt in range(1, plan.attempts + 1):
        began = time.monotonic()
        try:
            with db.transaction():
                db.execute(
                    sql.SQL("SET LOCAL lock_timeout = {}").format(
                        sql.Literal(f"{int(plan.lock_timeout * 1000)}ms")
                    )
                )
                db.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(old))
                caught = _copy(db, plan, done, _max_id(db, old))
                caught += _missing(db, old, new)
                _rename(db, plan)
            return caught, attempt, time.monotonic() - began
        except OpsError as exc:
            if not isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
                raise
            plan.sleep(1.0)
    raise UnsafeActionError(
        f"db partition: the lock on {plan.table} was not granted within"
        f" {plan.lock_timeout:g} s in {plan.attempts} attempts: run it again later"
    )


def _missing(db: Database, old: sql.Composable, new: sql.Composable) -> int:
    """Rows of the old table the batches missed (a transaction that committed late): copied
    when the counts differ."""
    counts = db.fetch_one(
        sql.SQL("SELECT (SELECT count(*) FROM {}) AS old, (SELECT count(*) FROM {}) AS new").format(
            old, new
        )
    )
    if counts is None or counts["old"] == counts["new"]:
        return 0
    return db.execute(
        sql.SQL(
            "INSERT INTO {new} SELECT o.* FROM {old} o WHERE NOT EXISTS"
            " (SELECT 1 FROM {new} n WHERE n.id = o.id)"
        ).format(new=new, old=old)
    )


def _rename(db: Database, plan: PartitionPlan) -> None:
    name = _name(plan.table)
    old = _ident(plan.table)
    db.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(old, sql.Identifier(plan.old_name)))
    for index, _tail in plan.indexes:
        db.execute(
            sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                _sibling(plan.table, index), sql.Identifier(index + _OLD_SUFFIX)
            )
        )
        db.execute(
            sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                _sibling(plan.table, index + _NEW_SUFFIX), sql.Identifier(index)
            )
        )
    db.execute(
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(
            _sibling(plan.table, name + _NEW_SUFFIX), sql.Identifier(name)
        )
    )
    if plan.sequence:
        db.execute(
            sql.SQL("ALTER SEQUENCE {} OWNED BY {}").format(
                sql.SQL(plan.sequence),  # quoted by pg_get_serial_sequence
                sql.Identifier(*plan.table.split("."), "id"),
            )
        )

"""The lab faults of weekly.db_maintenance: ``table-bloat``, ``stale-stats``, ``unused-index``.

``table-bloat`` rewrites every row of ``price_history`` twice (the same values), so about two
thirds of its heap is dead or free space; ``heal`` gives it back (``VACUUM FULL``, a moment's
exclusive lock on the lab's small table) and analyses it. ``stale-stats`` forgets a table's
vacuum and analyze times (``pg_stat_reset_single_table_counters``) and turns its autovacuum off;
``heal`` turns it on and runs ``opslib db maintain``'s statements. ``unused-index`` creates an
index no query uses on ``price_history``; ``heal`` drops it.
"""

from __future__ import annotations

from typing import Protocol

from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables
from opslib.dbmaintain import MaintainPolicy, apply_maintenance, plan_maintenance
from opslib.errors import LabError
from opslib.lab._control import FaultRecord
from opslib.lab._settings import LabSettings

__all__ = [
    "STALE_TABLES",
    "UNUSED_INDEX",
    "heal_bloat",
    "heal_stale",
    "heal_unused_index",
    "inject_bloat",
    "inject_stale",
    "inject_unused_index",
    "stale_target",
]

STALE_TABLES = ("monitored_urls", "price_history", "scrape_logs")
"""The tables ``stale-stats`` may target (default ``scrape_logs``)."""
UNUSED_INDEX = "price_history_lab_unused_idx"
"""The index ``unused-index`` creates."""
_BLOAT_PASSES = 2


class _Host(Protocol):
    def database(self) -> Database: ...


def _table(name: str) -> sql.Identifier:
    return sql.Identifier(*name.split("."))


def inject_bloat(host: _Host, _target: str | None) -> str:
    table = PlatformTables().price_history.name
    with host.database() as db, db.open(statement_timeout=600) as worker:
        worker.execute(
            sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(_table(table))
        )
        rows = 0
        for _ in range(_BLOAT_PASSES):
            rows = worker.execute(sql.SQL("UPDATE {} SET price = price").format(_table(table)))
        worker.execute("SELECT pg_stat_force_next_flush()")
    return (
        f"table-bloat: every row of {table} ({rows}) rewritten {_BLOAT_PASSES} times, its"
        " autovacuum off: about two thirds of its heap dead or free"
    )


def heal_bloat(host: _Host, _record: FaultRecord) -> str:
    table = PlatformTables().price_history.name
    with host.database() as db, db.open(statement_timeout=600) as worker:
        worker.execute(sql.SQL("ALTER TABLE {} RESET (autovacuum_enabled)").format(_table(table)))
        worker.execute(sql.SQL("VACUUM (FULL, ANALYZE) {}").format(_table(table)))
    return f"table-bloat: {table} rewritten compact (VACUUM FULL) and analysed"


def stale_target(_settings: LabSettings, target: str | None) -> str:
    """The table ``stale-stats`` targets (a runbook table name)."""
    if target is None:
        return "scrape_logs"
    if target not in STALE_TABLES:
        raise LabError(f"stale-stats: unknown table {target!r}; one of {', '.join(STALE_TABLES)}")
    return target


def inject_stale(host: _Host, target: str | None) -> str:
    name = str(target)
    with host.database() as db:
        db.execute(sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(_table(name)))
        db.execute(
            "SELECT pg_stat_reset_single_table_counters(to_regclass(%s))",
            (sql.Identifier(*name.split(".")).as_string(db.connection()),),
        )
    return f"stale-stats: {name}'s vacuum and analyze times forgotten, its autovacuum off"


def heal_stale(host: _Host, record: FaultRecord) -> str:
    name = str(record.target or "scrape_logs")
    with host.database() as db:
        db.execute(sql.SQL("ALTER TABLE {} RESET (autovacuum_enabled)").format(_table(name)))
        tables = PlatformTables()
        result = apply_maintenance(
            db, plan_maintenance(db, tables, MaintainPolicy(fresh_hours=0)), tables
        )
        # ANALYZE alone leaves a vacuum time unset: the maintenance the runbook adds for it.
        if name != tables.price_history.name:
            db.execute(sql.SQL("VACUUM {}").format(_table(name)))
    done = ", ".join(f"{s.table} {s.state}" for s in result.steps)
    return f"stale-stats: autovacuum back on {name}; opslib db maintain: {done}"


def inject_unused_index(host: _Host, _target: str | None) -> str:
    table = PlatformTables().price_history.name
    with host.database() as db, db.open(statement_timeout=600) as worker:
        worker.execute(
            sql.SQL("CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} ({}, {})").format(
                sql.Identifier(UNUSED_INDEX),
                _table(table),
                sql.Identifier("extraction_method"),
                sql.Identifier("currency"),
            )
        )
    return (
        f"unused-index: index {UNUSED_INDEX} on {table} (extraction_method, currency), never used"
    )


def heal_unused_index(host: _Host, _record: FaultRecord) -> str:
    with host.database() as db, db.open(statement_timeout=600) as worker:
        worker.execute(
            sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(UNUSED_INDEX))
        )
    return f"unused-index: {UNUSED_INDEX} dropped"

"""The maintenance figures of each platform table: dead tuples, last (auto)vacuum and analyze,
sizes, estimated bloat and transaction ID age, read from the catalog in one query a table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString

from opslib.adapters import Database
from opslib.config import PlatformTables
from opslib.errors import OpsError
from opslib.quality import TableKey
from opslib.results import Table

__all__ = ["TABLE_KEYS", "TableStats", "read_stats", "stats_table"]

TABLE_KEYS: tuple[TableKey, ...] = ("monitored_urls", "price_history", "scrape_logs")
"""The three platform tables, in the runbook's order."""

_PAGE = 8192
_USABLE = _PAGE - 24  # the page header
_MIN_JUDGED_PAGES = 128  # 1 MiB: below it, the estimate is noise and the bloat harmless

# pg_stats' average widths give the bytes a live row needs (tuple header 24, line pointer 4,
# data aligned to 8); bloat is the share of the heap those rows do not fill. A documented
# estimate (the shape of the check_postgres / ioguix queries, without the per-type alignment):
# replaced by pgstattuple_approx's dead and free space when the extension is installed.
_STATS: LiteralString = """
SELECT c.oid::int8 AS oid, n.nspname::text AS schema, c.relname::text AS relname,
       c.reltuples::float8 AS reltuples,
       coalesce(s.n_live_tup, 0) AS live, coalesce(s.n_dead_tup, 0) AS dead,
       coalesce(s.n_mod_since_analyze, 0) AS modified,
       s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
       pg_relation_size(c.oid) AS heap_bytes, pg_table_size(c.oid) AS table_bytes,
       pg_indexes_size(c.oid) AS index_bytes, c.relkind::text AS kind,
       age(c.relfrozenxid)::int8 AS xid_age,
       current_setting('autovacuum_freeze_max_age')::int8 AS freeze_max_age,
       (SELECT sum(st.avg_width)::int8 FROM pg_stats st
        WHERE st.schemaname = n.nspname AND st.tablename = c.relname) AS row_width,
       (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user)
         OR pg_has_role(current_user, c.relowner, 'MEMBER')
         OR (SELECT pg_has_role(current_user, d.datdba, 'MEMBER') FROM pg_database d
             WHERE d.datname = current_database()) AS can_maintain,
       now() AS now
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.oid = to_regclass(CASE WHEN %(nsp)s::text IS NULL THEN quote_ident(%(rel)s)
                               ELSE quote_ident(%(nsp)s) || '.' || quote_ident(%(rel)s) END)
"""
_HAS_PGSTATTUPLE: LiteralString = (
    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple') AS present"
)
_PGSTATTUPLE: LiteralString = (
    "SELECT (dead_tuple_percent + approx_free_percent) / 100.0 AS bloat"
    " FROM pgstattuple_approx(%s::oid::regclass)"
)


@dataclass(frozen=True)
class TableStats:
    """One configured table as the server has it; ``exists`` False: only ``key`` and ``name``."""

    key: TableKey
    name: str
    exists: bool
    can_maintain: bool = False
    live: int = 0
    dead: int = 0
    modified: int = 0
    last_vacuum: datetime | None = None
    last_autovacuum: datetime | None = None
    last_analyze: datetime | None = None
    last_autoanalyze: datetime | None = None
    table_bytes: int = 0
    index_bytes: int = 0
    heap_bytes: int = 0
    bloat: float | None = None
    bloat_method: str = ""
    xid_age: int = 0
    freeze_max_age: int = 200_000_000
    partitioned: bool = False
    read_at: datetime | None = None

    @property
    def vacuumed(self) -> datetime | None:
        """The last vacuum, manual or automatic."""
        return _latest(self.last_vacuum, self.last_autovacuum)

    @property
    def analyzed(self) -> datetime | None:
        """The last analyze, manual or automatic."""
        return _latest(self.last_analyze, self.last_autoanalyze)

    def age_days(self, at: datetime | None) -> float | None:
        """Days from ``at`` to when the stats were read (None: never)."""
        if at is None or self.read_at is None:
            return None
        return max(0.0, (self.read_at - at).total_seconds() / 86400)

    @property
    def dead_share(self) -> float:
        """Dead tuples among all tuples."""
        total = self.live + self.dead
        return self.dead / total if total else 0.0

    @property
    def xid_share(self) -> float:
        """Transaction ID age as a share of ``autovacuum_freeze_max_age``."""
        return self.xid_age / self.freeze_max_age if self.freeze_max_age else 0.0

    @property
    def bloat_judged(self) -> bool:
        """Whether the heap is large enough (1 MiB) for its bloat to mean anything."""
        return self.heap_bytes >= _MIN_JUDGED_PAGES * _PAGE

    def as_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "table": self.name,
            "key": self.key,
            "exists": self.exists,
            "can_maintain": self.can_maintain,
            "live_tuples": self.live,
            "dead_tuples": self.dead,
            "modified_since_analyze": self.modified,
            "last_vacuum": iso(self.last_vacuum),
            "last_autovacuum": iso(self.last_autovacuum),
            "last_analyze": iso(self.last_analyze),
            "last_autoanalyze": iso(self.last_autoanalyze),
            "table_bytes": self.table_bytes,
            "index_bytes": self.index_bytes,
            "bloat": None if self.bloat is None else round(self.bloat, 4),
            "bloat_method": self.bloat_method,
            "xid_age": self.xid_age,
            "freeze_max_age": self.freeze_max_age,
        }


def _latest(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _estimate(row: dict[str, Any]) -> float | None:
    width = row["row_width"]
    heap_pages = int(row["heap_bytes"]) // _PAGE
    if width is None or heap_pages == 0:
        return None if width is None and heap_pages else 0.0
    per_row = 24 + 8 * math.ceil(int(width) / 8) + 4
    needed = math.ceil(int(row["live"]) * per_row / _USABLE)
    return max(0.0, 1.0 - needed / heap_pages)


def _split(name: str) -> tuple[str | None, str]:
    schema, _, table = name.rpartition(".")
    return (schema or None), table


def read_stats(db: Database, tables: PlatformTables) -> tuple[TableStats, ...]:
    """The figures of the three configured platform tables (``exists`` False when absent)."""
    found: list[TableStats] = []
    row = db.fetch_one(_HAS_PGSTATTUPLE)
    has_pgstattuple = bool(row and row["present"])
    for key in TABLE_KEYS:
        name = str(getattr(tables, key).name)
        nsp, rel = _split(name)
        r = db.fetch_one(_STATS, {"nsp": nsp, "rel": rel})
        if r is None:
            found.append(TableStats(key=key, name=name, exists=False))
            continue
        partitioned = r["kind"] == "p"
        bloat, method = _estimate(r), "estimate from pg_stats widths"
        if has_pgstattuple and not partitioned:
            try:
                exact = db.fetch_one(_PGSTATTUPLE, (r["oid"],))
            except OpsError:  # no pg_stat_scan_tables rights: the estimate stands
                exact = None
            if exact is not None and exact["bloat"] is not None:
                bloat, method = float(exact["bloat"]), "pgstattuple_approx"
        found.append(
            TableStats(
                key=key,
                name=name,
                exists=True,
                can_maintain=bool(r["can_maintain"]),
                live=int(r["live"]),
                dead=int(r["dead"]),
                modified=int(r["modified"]),
                last_vacuum=r["last_vacuum"],
                last_autovacuum=r["last_autovacuum"],
                last_analyze=r["last_analyze"],
                last_autoanalyze=r["last_autoanalyze"],
                table_bytes=int(r["table_bytes"]),
                index_bytes=int(r["index_bytes"]),
                heap_bytes=int(r["heap_bytes"]),
                bloat=bloat,
                bloat_method=method,
                xid_age=int(r["xid_age"] or 0),
                freeze_max_age=int(r["freeze_max_age"]),
                partitioned=partitioned,
                read_at=r["now"],
            )
        )
    return tuple(found)


def _ago(stats: TableStats, at: datetime | None) -> str:
    age = stats.age_days(at)
    if age is None:
        return "never"
    return f"{age * 24:.1f} h ago" if age < 2 else f"{age:.1f} d ago"


def stats_table(stats: tuple[TableStats, ...]) -> Table:
    """The figures of the tables that exist, as a report table."""
    columns = (
        "table",
        "live",
        "dead",
        "last vacuum",
        "last analyze",
        "table MiB",
        "index MiB",
        "bloat",
        "xid age",
    )
    rows = tuple(
        (
            s.name,
            str(s.live),
            str(s.dead),
            _ago(s, s.vacuumed),
            _ago(s, s.analyzed),
            f"{s.table_bytes / 2**20:.1f}",
            f"{s.index_bytes / 2**20:.1f}",
            "" if s.bloat is None else f"{s.bloat:.0%}",
            f"{s.xid_age} ({s.xid_share:.1%})",
        )
        for s in stats
        if s.exists
    )
    return Table(columns, rows, "platform tables")

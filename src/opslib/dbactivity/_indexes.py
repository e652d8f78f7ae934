"""Index advice: missing indexes on the platform's filters, sequential scans on large tables,
unused and duplicate indexes. Shown; only a missing index is ever created (``apply_index``)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal, LiteralString

from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables
from opslib.errors import OpsError
from opslib.quality import PlatformSchema, TableKey

__all__ = ["IndexAdvice", "advise_indexes", "apply_index", "index_name"]

AdviceKind = Literal["missing", "seq_scans", "unused", "duplicate"]

# The filters the platform's queries use (the runbook's SQL and opslib's checks), as
# (table, columns) by configured field name: an index must lead with these columns.
PLATFORM_FILTERS: tuple[tuple[TableKey, tuple[str, ...]], ...] = (
    ("price_history", ("url_id", "checked_at")),
    ("price_history", ("checked_at",)),
    ("monitored_urls", ("domain",)),
    ("scrape_logs", ("started_at",)),
)

_INDEXES: LiteralString = """
SELECT i.indexrelid::int8 AS oid, i.indisvalid AS valid, i.indpred IS NULL AS whole,
       ARRAY(SELECT coalesce(a.attname::text, '')
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n)
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             ORDER BY k.n) AS columns
FROM pg_index i
WHERE i.indrelid = to_regclass(CASE WHEN %(nsp)s::text IS NULL THEN quote_ident(%(rel)s)
                                    ELSE quote_ident(%(nsp)s) || '.' || quote_ident(%(rel)s) END)
"""
_SEQ_SCANS: LiteralString = """
SELECT schemaname::text AS schema, relname::text AS name, n_live_tup AS live_rows, seq_scan,
       seq_tup_read, coalesce(idx_scan, 0) AS idx_scan
FROM pg_stat_user_tables
WHERE n_live_tup >= %(min_rows)s AND seq_scan > 0
  AND seq_tup_read / seq_scan >= %(min_rows)s / 2 AND seq_scan > coalesce(idx_scan, 0)
ORDER BY seq_tup_read DESC
LIMIT 20
"""
_UNUSED: LiteralString = """
SELECT s.schemaname::text AS schema, s.relname::text AS table_name, s.indexrelid::int8 AS oid,
       s.indexrelname::text AS name, pg_relation_size(s.indexrelid) AS bytes
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
JOIN pg_stat_user_tables t ON t.relid = s.relid
WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary AND i.indisvalid
  AND t.n_live_tup >= %(min_rows)s
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
ORDER BY pg_relation_size(s.indexrelid) DESC
LIMIT 20
"""
_DUPLICATES: LiteralString = """
SELECT n.nspname::text AS schema, t.relname::text AS table_name,
       array_agg(c.relname::text ORDER BY i.indisprimary DESC, i.indisunique DESC,
                 c.oid) AS names
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  AND i.indisvalid
GROUP BY n.nspname, t.relname, i.indrelid, i.indkey::text, i.indclass::text,
         i.indcollation::text, coalesce(pg_get_expr(i.indexprs, i.indrelid), ''),
         coalesce(pg_get_expr(i.indpred, i.indrelid), '')
HAVING count(*) > 1
"""
_STATS_RESET: LiteralString = """
SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()
"""


@dataclass(frozen=True)
class IndexAdvice:
    """One piece of advice. ``statement`` is the SQL that would act on it, for the operator;
    only ``missing`` advice is applied (:func:`apply_index`)."""

    kind: AdviceKind
    table: str
    columns: tuple[str, ...]
    detail: str
    statement: str = ""
    index: str = ""

    @property
    def applicable(self) -> bool:
        """Whether ``--apply`` creates it (a missing index)."""
        return self.kind == "missing"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "table": self.table,
            "columns": list(self.columns),
            "detail": self.detail,
            "statement": self.statement,
            "index": self.index,
        }


def _split(name: str) -> tuple[str | None, str]:
    schema, _, table = name.rpartition(".")
    return (schema or None), table


def index_name(table: str, columns: tuple[str, ...], taken: frozenset[str] = frozenset()) -> str:
    """A safe index name for ``table(columns)``: lower-case letters, digits and ``_``, at most
    63 bytes (a hash of the full name when it had to be cut), not one of ``taken``."""
    base = "_".join([_split(table)[1], *columns, "idx"]).lower()
    clean = re.sub(r"[^a-z0-9_]+", "_", base).strip("_") or "opslib_idx"
    if clean[0].isdigit():
        clean = f"i_{clean}"
    if len(clean) > 63:
        digest = hashlib.sha256(base.encode()).hexdigest()[:8]
        clean = f"{clean[:54].rstrip('_')}_{digest}"
    name, n = clean, 1
    while name in taken:
        n += 1
        suffix = f"_{n}"
        name = clean[: 63 - len(suffix)] + suffix
    return name


def _create_sql(table: str, columns: tuple[str, ...], name: str) -> sql.Composed:
    schema, rel = _split(table)
    target = sql.Identifier(schema, rel) if schema else sql.Identifier(rel)
    return sql.SQL("CREATE INDEX CONCURRENTLY {} ON {} ({})").format(
        sql.Identifier(name), target, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )


def _taken(db: Database, table: str) -> frozenset[str]:
    schema, _rel = _split(table)
    rows = db.fetch_all(
        "SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE n.nspname = coalesce(%s, current_schema())",
        (schema,),
    )
    return frozenset(r["name"] for r in rows)


def _missing(db: Database, tables: PlatformTables) -> tuple[list[IndexAdvice], set[int]]:
    """Advice for each platform filter no index serves; the indexes that serve one."""
    schema = PlatformSchema.read(db, tables)
    advice: list[IndexAdvice] = []
    serving: set[int] = set()
    for key, fields in PLATFORM_FILTERS:
        if not schema.has(key, *fields):
            continue
        table = schema.name(key)
        columns = tuple(schema.column_name(key, f) for f in fields)
        nsp, rel = _split(table)
        rows = db.fetch_all(_INDEXES, {"nsp": nsp, "rel": rel})
        covered = [
            int(r["oid"])
            for r in rows
            if r["valid"] and r["whole"] and tuple(r["columns"][: len(columns)]) == columns
        ]
        if covered:
            serving.update(covered)
            continue
        name = index_name(table, columns, _taken(db, table))
        advice.append(
            IndexAdvice(
                kind="missing",
                table=table,
                columns=columns,
                detail=f"no index leads with ({', '.join(columns)}): the platform filters on it",
                statement=_create_sql(table, columns, name).as_string(db.connection()),
                index=name,
            )
        )
    return advice, serving


def _mib(value: int) -> str:
    return f"{value / 2**20:.1f} MiB"


def advise_indexes(
    db: Database, tables: PlatformTables | None = None, *, min_rows: int = 10_000
) -> tuple[IndexAdvice, ...]:
    """Every piece of index advice for the current database (five catalog queries).

    ``min_rows``: a table with fewer live rows is never "large": its sequential scans are cheap
    and its unused indexes small.
    Usage counts are the server's since its statistics were last reset.
    """
    advice, serving = _missing(db, tables or PlatformTables())
    reset = db.fetch_one(_STATS_RESET)
    at = reset["stats_reset"] if reset else None
    since = f" since {at:%Y-%m-%d %H:%M}" if at else ""
    for r in db.fetch_all(_SEQ_SCANS, {"min_rows": min_rows}):
        average = r["seq_tup_read"] // max(1, r["seq_scan"])
        advice.append(
            IndexAdvice(
                kind="seq_scans",
                table=f"{r['schema']}.{r['name']}",
                columns=(),
                detail=(
                    f"{r['seq_scan']} sequential scans{since} read {average} rows each of"
                    f" {r['live_rows']} ({r['idx_scan']} index scans): index what the slow"
                    " statements filter on"
                ),
            )
        )
    for r in db.fetch_all(_UNUSED, {"min_rows": min_rows}):
        if int(r["oid"]) in serving:  # the platform's filters need it, scanned yet or not
            continue
        ident = sql.Identifier(r["schema"], r["name"]).as_string(db.connection())
        advice.append(
            IndexAdvice(
                kind="unused",
                table=f"{r['schema']}.{r['table_name']}",
                columns=(),
                detail=f"index {r['name']} ({_mib(r['bytes'])}) was never scanned{since}",
                statement=f"DROP INDEX CONCURRENTLY {ident}",
                index=r["name"],
            )
        )
    for r in db.fetch_all(_DUPLICATES):
        keep, *extra = r["names"]
        for name in extra:
            ident = sql.Identifier(r["schema"], name).as_string(db.connection())
            advice.append(
                IndexAdvice(
                    kind="duplicate",
                    table=f"{r['schema']}.{r['table_name']}",
                    columns=(),
                    detail=f"index {name} duplicates {keep}",
                    statement=f"DROP INDEX CONCURRENTLY {ident}",
                    index=name,
                )
            )
    return tuple(advice)


def apply_index(db: Database, advice: IndexAdvice, *, timeout: float = 3600.0) -> str:
    """Create the missing index ``advice`` names, ``CONCURRENTLY`` (writes go on meanwhile), on a
    connection of its own bounded by ``timeout`` seconds; return what was done.

    A build that fails leaves an invalid index behind: it is dropped before the error is raised.
    """
    if not advice.applicable:
        raise ValueError(f"{advice.kind} advice is shown, never applied")
    schema, _rel = _split(advice.table)
    name = sql.Identifier(schema, advice.index) if schema else sql.Identifier(advice.index)
    with db.open(statement_timeout=timeout, application_name="opslib-index") as builder:
        try:
            builder.execute(_create_sql(advice.table, advice.columns, advice.index))
        except OpsError:
            # Only the invalid index our own build left: never another index of that name.
            row = builder.fetch_one(
                "SELECT NOT i.indisvalid AS broken FROM pg_index i"
                " WHERE i.indexrelid = to_regclass(%s)",
                (name.as_string(builder.connection()),),
            )
            if row and row["broken"]:
                builder.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(name))
            raise
    return f"created index {advice.index} on {advice.table} ({', '.join(advice.columns)})"

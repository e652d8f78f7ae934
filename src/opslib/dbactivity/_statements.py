"""Slow statements from ``pg_stat_statements``, and their plans (EXPLAIN, never executed).

How a plan is obtained without running anything (the statement text holds ``$1`` placeholders,
``pg_stat_statements`` having replaced its constants):

- PostgreSQL 16 and later: ``EXPLAIN (GENERIC_PLAN)`` of the text, for SELECT, WITH, INSERT,
  UPDATE and DELETE statements.
- Before 16: plain SELECTs only. The text is prepared (``PREPARE``) with the parameters' types
  inferred by the server, ``plan_cache_mode`` forced to ``force_generic_plan``, and explained
  with ``EXPLAIN EXECUTE`` with NULL for every parameter: the generic plan does not depend on
  them. A statement whose parameter types cannot be inferred is skipped with the reason.

Either way EXPLAIN runs without ANALYZE inside a READ ONLY transaction, on a text that is one
statement (no ``;``), so nothing is executed or changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, LiteralString

from psycopg import sql

from opslib.adapters import Database
from opslib.errors import DependencyError, OpsError

__all__ = ["Explained", "Statement", "Statements", "explain_statement", "read_statements"]

_NAME = "postgresql"
_STATE: LiteralString = """
SELECT (SELECT extnamespace::regnamespace::text FROM pg_extension
        WHERE extname = 'pg_stat_statements') AS schema,
       current_setting('shared_preload_libraries') AS preload,
       current_setting('server_version_num')::int AS version,
       current_database() AS database
"""
_TOP = """
WITH s AS (
    SELECT queryid, query, calls, total_exec_time, mean_exec_time, rows
    FROM {view}
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
)
(SELECT 'total' AS ranked_by, * FROM s ORDER BY total_exec_time DESC LIMIT %(limit)s)
UNION ALL
(SELECT 'mean' AS ranked_by, * FROM s ORDER BY mean_exec_time DESC LIMIT %(limit)s)
UNION ALL
(SELECT 'repeated' AS ranked_by, * FROM s
 WHERE calls >= %(min_calls)s AND query ~* '^\\s*(select|with|insert|update|delete)\\M'
 ORDER BY mean_exec_time DESC LIMIT %(limit)s)
"""
_PREPARED = "opslib_explain"
_PLACEHOLDER = re.compile(r"\$(\d+)")
_FIRST_WORD = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*([A-Za-z]+)", re.S)
_GENERIC_KINDS = frozenset({"select", "with", "insert", "update", "delete"})


@dataclass(frozen=True)
class Statement:
    """One normalised statement (constants shown as ``$n``) and its totals since the reset."""

    queryid: int
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "queryid": self.queryid,
            "query": self.query,
            "calls": self.calls,
            "total_ms": round(self.total_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
            "rows": self.rows,
        }


@dataclass(frozen=True)
class Explained:
    """The plan of one statement, or why there is none."""

    statement: Statement
    plan: str | None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "queryid": self.statement.queryid,
            "query": self.statement.query,
            "plan": self.plan,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Statements:
    """The top statements of the current database by total and by mean execution time."""

    by_total: tuple[Statement, ...]
    by_mean: tuple[Statement, ...]
    repeated: tuple[Statement, ...]
    """Queries (not utility statements) run at least ``min_calls`` times, by mean time: the
    ones to judge, where a one-off bulk load or index build would top ``by_mean``."""
    server_version: int
    database: str


def _missing_reason(row: dict[str, Any]) -> str | None:
    preload = [p.strip() for p in str(row["preload"]).split(",")]
    if "pg_stat_statements" not in preload:
        return (
            "pg_stat_statements is not loaded: add it to shared_preload_libraries in"
            " postgresql.conf, restart PostgreSQL, then run CREATE EXTENSION pg_stat_statements"
            f" in database {row['database']}"
        )
    if row["schema"] is None:
        return (
            f"pg_stat_statements is not installed in database {row['database']}: run CREATE"
            " EXTENSION pg_stat_statements (as a superuser)"
        )
    return None


def read_statements(db: Database, *, limit: int = 10, min_calls: int = 5) -> Statements:
    """The ``limit`` statements with the most total and the highest mean execution time, and
    the queries run at least ``min_calls`` times with the highest mean.

    Raises :class:`DependencyError` with one line saying how to enable ``pg_stat_statements``
    when it is not loaded or not installed in this database.
    """
    state = db.fetch_one(_STATE)
    assert state is not None
    reason = _missing_reason(state)
    if reason is not None:
        raise DependencyError(_NAME, reason)
    view = sql.Identifier(str(state["schema"]), "pg_stat_statements")
    rows = db.fetch_all(sql.SQL(_TOP).format(view=view), {"limit": limit, "min_calls": min_calls})
    ranked: dict[str, list[Statement]] = {"total": [], "mean": [], "repeated": []}
    for r in rows:
        ranked[r["ranked_by"]].append(
            Statement(
                queryid=int(r["queryid"]),
                query=str(r["query"] or ""),
                calls=int(r["calls"]),
                total_ms=float(r["total_exec_time"]),
                mean_ms=float(r["mean_exec_time"]),
                rows=int(r["rows"]),
            )
        )
    return Statements(
        tuple(ranked["total"]),
        tuple(ranked["mean"]),
        tuple(ranked["repeated"]),
        int(state["version"]),
        str(state["database"]),
    )


def _kind(word: str) -> str:
    """``an INSERT``, ``a CREATE``, ``a utility``."""
    shown = word.upper() or "utility"
    return f"{'an' if shown[0] in 'AEIOU' else 'a'} {shown}"


def _refusal(text: str, server_version: int) -> str | None:  # noqa: PLR0911 - one per reason
    """Why ``text`` is not explained, or None."""
    if text.startswith("<insufficient privilege>"):
        return "another role's statement: its text is hidden (grant pg_read_all_stats)"
    if ";" in text.strip().rstrip(";"):
        return "not a single statement"
    match = _FIRST_WORD.match(text)
    kind = match.group(1).lower() if match else ""
    if server_version >= 160000:
        if kind not in _GENERIC_KINDS:
            return f"{_kind(kind)} statement: only queries are explained"
        return None
    if kind != "select":
        return f"{_kind(kind)} statement: before PostgreSQL 16 only plain SELECTs are explained"
    if re.search(r"\binto\b", text, re.I):
        return "SELECT INTO creates a table: not explained"
    return None


def explain_statement(db: Database, statement: Statement, server_version: int) -> Explained:
    """The generic plan of ``statement`` (see the module docstring), never executing it."""
    text = statement.query.strip().rstrip(";").strip()
    refusal = _refusal(text, server_version)
    if refusal is not None:
        return Explained(statement, None, refusal)
    # The text is the server's own record of one statement, checked above to be a single
    # query of an allowed kind; it cannot be passed as a parameter, so it is composed as SQL.
    body = sql.SQL(text)
    try:
        if server_version >= 160000:
            rows = _read_only(db, [sql.SQL("EXPLAIN (GENERIC_PLAN) {}").format(body)])
        else:
            rows = _explain_prepared(db, body, text)
    except OpsError as exc:
        detail = exc.reason if isinstance(exc, DependencyError) else str(exc)
        return Explained(statement, None, f"EXPLAIN failed: {detail}")
    plan = "\n".join(str(next(iter(r.values()))) for r in rows)
    return Explained(statement, plan)


def _explain_prepared(db: Database, body: sql.SQL, text: str) -> list[dict[str, Any]]:
    count = max((int(n) for n in _PLACEHOLDER.findall(text)), default=0)
    # One fixed name (a prepared statement belongs to this session, and is deallocated below):
    # pg_stat_statements records `EXPLAIN EXECUTE name`, and a new name per call would add an
    # entry per call to the very statistics being read, pushing real statements out.
    plain = _PREPARED
    name = sql.Identifier(plain)
    execute = sql.SQL("EXPLAIN EXECUTE {}").format(name)
    if count:
        nulls = sql.SQL(", ").join([sql.SQL("NULL")] * count)
        execute = sql.SQL("EXPLAIN EXECUTE {} ({})").format(name, nulls)
    try:
        return _read_only(
            db,
            [
                sql.Composed([sql.SQL("SET LOCAL plan_cache_mode = force_generic_plan")]),
                sql.SQL("PREPARE {} AS {}").format(name, body),
                execute,
            ],
        )
    finally:
        # PREPARE outlives its transaction: drop it, so the next plan can use the name.
        row = db.fetch_one(
            "SELECT count(*) AS n FROM pg_prepared_statements WHERE name = %s", (plain,)
        )
        if row and row["n"]:
            db.execute(sql.SQL("DEALLOCATE {}").format(name))


def _read_only(db: Database, statements: list[sql.Composed]) -> list[dict[str, Any]]:
    """Run ``statements`` in one READ ONLY transaction; the last one's rows."""
    rows: list[dict[str, Any]] = []
    with db.transaction():
        db.execute("SET TRANSACTION READ ONLY")
        for statement in statements:
            rows = db.fetch_all(statement)
    return rows

"""The review's database side: per domain and week, requests, success rate and duration
percentiles from ``scrape_logs``; per day, the same overall and the prices delivered.

Success is an HTTP status under 400 (``status_code``), else the ``outcome`` ``ok``; names are
the configured ones, through ``psycopg.sql.Identifier``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from psycopg import sql

from opslib.adapters import Database
from opslib.quality import PlatformSchema

__all__ = ["DailyFigures", "WeekFigures", "daily_figures", "week_figures"]

OVERALL = "(all domains)"


@dataclass(frozen=True)
class WeekFigures:
    """One domain's (or all domains') figures over one week; None where not measured."""

    domain: str
    requests: int
    success_rate: float | None
    p50_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class DailyFigures:
    """All domains' figures on one UTC day, and the prices delivered that day."""

    day: date
    requests: int
    success_rate: float | None
    p95_ms: float | None
    prices: int | None


def _success(schema: PlatformSchema) -> tuple[sql.Composable | None, str]:
    if schema.has("scrape_logs", "status_code"):
        code = schema.column("scrape_logs", "status_code")
        return sql.SQL("{c} BETWEEN 200 AND 399").format(c=code), ""
    if schema.has("scrape_logs", "outcome"):
        return sql.SQL("{c} = 'ok'").format(c=schema.column("scrape_logs", "outcome")), (
            "success is the outcome 'ok' (no status_code column)"
        )
    return None, schema.missing("scrape_logs", "status_code") or ""


def _parts(schema: PlatformSchema) -> tuple[sql.Composable, sql.Composable, sql.Composable, str]:
    """(success count, p50, p95) expressions and a note on what is missing."""
    success, note = _success(schema)
    ok: sql.Composable = (
        sql.SQL("count(*) FILTER (WHERE {})").format(success) if success else sql.SQL("NULL")
    )
    p50: sql.Composable
    p95: sql.Composable
    if schema.has("scrape_logs", "duration_ms"):
        duration = schema.column("scrape_logs", "duration_ms")
        p50 = sql.SQL("percentile_cont(0.5) WITHIN GROUP (ORDER BY {})").format(duration)
        p95 = sql.SQL("percentile_cont(0.95) WITHIN GROUP (ORDER BY {})").format(duration)
    else:
        p50 = p95 = sql.SQL("NULL")
        missing = schema.missing("scrape_logs", "duration_ms") or ""
        note = "; ".join(x for x in (note, f"response times not measured: {missing}") if x)
    return ok, p50, p95, note


def week_figures(
    db: Database, schema: PlatformSchema, end: datetime
) -> tuple[dict[str, WeekFigures], dict[str, WeekFigures], str]:
    """(this week, the week before) by domain (and :data:`OVERALL`), and a note on what could
    not be measured; the weeks end at ``end``."""
    ok, p50, p95, note = _parts(schema)
    stamp = schema.column("scrape_logs", "started_at")
    if schema.has("scrape_logs", "domain"):
        domain: sql.Composable = sql.SQL("{}::text").format(schema.column("scrape_logs", "domain"))
    else:
        domain = sql.SQL("NULL::text")
    week = sql.SQL("({} >= %(mid)s)").format(stamp)
    sets = sql.SQL("GROUPING SETS (({d}, {w}), ({w}))").format(d=domain, w=week)
    query = sql.SQL(
        "SELECT {domain} AS domain, {week} AS this_week, count(*) AS requests,"
        " {ok} AS ok, {p50} AS p50, {p95} AS p95 FROM {table}"
        " WHERE {ts} >= %(start)s AND {ts} < %(end)s GROUP BY {sets}"
    ).format(
        domain=domain,
        week=week,
        ts=stamp,
        ok=ok,
        p50=p50,
        p95=p95,
        table=schema.table("scrape_logs"),
        sets=sets,
    )
    mid = end - timedelta(days=7)
    rows = db.fetch_all(query, {"start": mid - timedelta(days=7), "mid": mid, "end": end})
    this: dict[str, WeekFigures] = {}
    before: dict[str, WeekFigures] = {}
    for row in rows:
        name = row["domain"] if row["domain"] is not None else OVERALL
        requests = int(row["requests"])
        figures = WeekFigures(
            name,
            requests,
            None if row["ok"] is None or not requests else int(row["ok"]) / requests,
            None if row["p50"] is None else float(row["p50"]),
            None if row["p95"] is None else float(row["p95"]),
        )
        (this if row["this_week"] else before)[name] = figures
    return this, before, note


def daily_figures(db: Database, schema: PlatformSchema, end: datetime) -> list[DailyFigures]:
    """Each UTC day of the 14 before ``end``: requests, success, p95 and prices delivered."""
    ok, _p50, p95, _note = _parts(schema)
    stamp = schema.column("scrape_logs", "started_at")
    start = end - timedelta(days=14)
    query = sql.SQL(
        "SELECT ({ts} AT TIME ZONE 'UTC')::date AS day, count(*) AS requests, {ok} AS ok,"
        " {p95} AS p95 FROM {table} WHERE {ts} >= %(start)s AND {ts} < %(end)s"
        " GROUP BY 1 ORDER BY 1"
    ).format(ts=stamp, ok=ok, p95=p95, table=schema.table("scrape_logs"))
    rows = db.fetch_all(query, {"start": start, "end": end})
    prices: dict[date, int] = {}
    if schema.has("price_history", "checked_at"):
        checked = schema.column("price_history", "checked_at")
        for row in db.fetch_all(
            sql.SQL(
                "SELECT ({ts} AT TIME ZONE 'UTC')::date AS day, count(*) AS n FROM {table}"
                " WHERE {ts} >= %(start)s AND {ts} < %(end)s GROUP BY 1"
            ).format(ts=checked, table=schema.table("price_history")),
            {"start": start, "end": end},
        ):
            prices[row["day"]] = int(row["n"])
    return [
        DailyFigures(
            row["day"],
            int(row["requests"]),
            None if row["ok"] is None else int(row["ok"]) / max(1, int(row["requests"])),
            None if row["p95"] is None else float(row["p95"]),
            prices.get(row["day"], 0) if schema.has("price_history", "checked_at") else None,
        )
        for row in rows
    ]

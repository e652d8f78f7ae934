"""What capacity planning reads: table and database sizes, rows and URLs per day from the
platform tables' timestamps, the volumes' free space, and per-service resource series.

Every identifier comes from the configured names (``settings.tables``) through
``psycopg.sql.Identifier``; the days are UTC calendar days, today's partial day left out.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from psycopg import sql

from opslib.adapters import Database, RangeSeries
from opslib.errors import OpsError
from opslib.quality import PlatformSchema, TableKey

__all__ = [
    "DailyCounts",
    "RangeQuery",
    "TableSize",
    "VolumeUsage",
    "daily_counts",
    "database_size",
    "database_volume",
    "directory_volume",
    "service_series",
    "table_sizes",
]

_TIMESTAMP: Mapping[TableKey, str] = {"price_history": "checked_at", "scrape_logs": "started_at"}

_SIZE = """
SELECT pg_total_relation_size(c.oid) AS bytes, c.reltuples::float8 AS estimate
FROM pg_class c
WHERE c.oid = to_regclass(CASE WHEN %(nsp)s::text IS NULL THEN quote_ident(%(rel)s)
                          ELSE quote_ident(%(nsp)s) || '.' || quote_ident(%(rel)s) END)
"""


class RangeQuery(Protocol):
    """What resource trends need of :class:`opslib.adapters.Prometheus`."""

    def query_range(
        self, promql: str, start: datetime, end: datetime, step: float
    ) -> list[RangeSeries]: ...


@dataclass(frozen=True)
class TableSize:
    """A platform table's size on disk (with indexes and TOAST) and its row count."""

    key: TableKey
    name: str
    bytes: int
    rows: int

    @property
    def bytes_per_row(self) -> float | None:
        return self.bytes / self.rows if self.rows > 0 else None


@dataclass(frozen=True)
class DailyCounts:
    """Rows (and distinct URLs, for ``price_history``) per UTC day, from the day after the first
    day with a row (that one is likely partial) to yesterday; days without rows count zero."""

    key: TableKey
    start: date
    rows: tuple[float, ...]
    urls: tuple[float, ...] = ()

    @property
    def days(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class VolumeUsage:
    """A volume: its size, free space, and what of it the watched data uses; ``note`` says where
    the figures came from (or why there are none: ``size`` None)."""

    name: str
    path: str
    size: int | None
    free: int | None
    used_by_data: int
    note: str = ""


def _split(name: str) -> tuple[str | None, str]:
    nsp, _, rel = name.rpartition(".")
    return (nsp or None), rel


def table_sizes(db: Database, schema: PlatformSchema) -> list[TableSize]:
    """Size and row count (the planner's estimate; counted when never analysed) of each
    configured platform table that exists."""
    found = []
    for key in ("monitored_urls", "price_history", "scrape_logs"):
        if schema.columns[key] is None:
            continue
        nsp, rel = _split(schema.name(key))
        row = db.fetch_one(_SIZE, {"nsp": nsp, "rel": rel})
        if row is None:
            continue
        rows = float(row["estimate"] or 0)
        if rows <= 0:
            counted = db.fetch_one(
                sql.SQL("SELECT count(*) AS n FROM {}").format(schema.table(key))
            )
            rows = float(counted["n"]) if counted else 0.0
        found.append(TableSize(key, schema.name(key), int(row["bytes"]), round(rows)))
    return found


def database_size(db: Database) -> int:
    """``pg_database_size`` of the connected database, in bytes."""
    row = db.fetch_one("SELECT pg_database_size(current_database()) AS bytes")
    return int(row["bytes"]) if row else 0


def daily_counts(
    db: Database, schema: PlatformSchema, key: TableKey, *, days: int, today: date
) -> DailyCounts | None:
    """Rows per day of table ``key`` over the ``days`` before ``today`` (UTC), by its timestamp
    column; ``price_history`` also counts distinct URLs per day. None when the table or column
    is missing (``schema.missing`` says why)."""
    field = _TIMESTAMP[key]
    extra = ("url_id",) if key == "price_history" else ()
    if not schema.has(key, field, *extra):
        if key == "price_history" and schema.has(key, field):
            extra = ()
        else:
            return None
    stamp = schema.column(key, field)
    urls = (
        sql.SQL("count(DISTINCT {})").format(schema.column(key, "url_id"))
        if extra
        else sql.SQL("0")
    )
    query = sql.SQL(
        "SELECT ({ts} AT TIME ZONE 'UTC')::date AS day, count(*) AS n, {urls} AS urls"
        " FROM {table} WHERE {ts} >= %(since)s AND {ts} < %(until)s GROUP BY 1 ORDER BY 1"
    ).format(ts=stamp, urls=urls, table=schema.table(key))
    until = datetime.combine(today, datetime.min.time(), UTC)
    rows = db.fetch_all(query, {"since": until - timedelta(days=days), "until": until})
    if not rows:
        return DailyCounts(key, today, ())
    first: date = rows[0]["day"]
    if len(rows) > 1:  # the oldest day is most likely cut by the history's start: left out
        rows = rows[1:]
        first = rows[0]["day"]
    by_day = {r["day"]: (float(r["n"]), float(r["urls"])) for r in rows}
    span = (today - first).days
    series = [by_day.get(first + timedelta(days=n), (0.0, 0.0)) for n in range(span)]
    return DailyCounts(
        key,
        first,
        tuple(n for n, _ in series),
        tuple(u for _, u in series) if extra else (),
    )


def _disk(path: Path) -> tuple[int, int] | None:
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None
    return usage.total, usage.free


def _limited(
    disk: tuple[int, int] | None, configured: int | None, used: int
) -> tuple[int | None, int | None, str]:
    """Size and free space: the disk's, a configured size (free = size - used), or both (the
    smaller free space)."""
    if configured is not None:
        free = max(0, configured - used)
        if disk is not None:
            return configured, min(free, disk[1]), "configured size; disk free counted too"
        return configured, free, "configured size"
    if disk is not None:
        return disk[0], disk[1], "disk"
    return None, None, ""


def database_volume(db: Database, used: int, configured: int | None) -> VolumeUsage:
    """The database's volume: the data directory's disk when the server runs on this machine,
    else ``capacity.database_volume_bytes`` (free = it less the database's size)."""
    path = ""
    disk = None
    try:
        row = db.fetch_one("SELECT setting FROM pg_settings WHERE name = 'data_directory'")
    except OpsError:
        row = None
    if row and row["setting"] and os.path.isdir(str(row["setting"])):
        path = str(row["setting"])
        disk = _disk(Path(path))
    size, free, how = _limited(disk, configured, used)
    if size is None:
        note = (
            "database volume unknown: the server's data directory is not on this machine (or"
            " not readable): set capacity.database_volume_bytes"
        )
        return VolumeUsage("database volume", path, None, None, used, note)
    return VolumeUsage("database volume", path, size, free, used, how)


def directory_volume(name: str, path: Path, configured: int | None) -> VolumeUsage:
    """A local directory's volume (the backups): its disk, or a configured size; ``used`` is
    what the directory holds."""
    used = 0
    if path.is_dir():
        for root, _dirs, files in os.walk(path):
            for file in files:
                try:
                    used += (Path(root) / file).stat().st_size
                except OSError:
                    continue
    disk = _disk(path) if path.exists() else None
    size, free, how = _limited(disk, configured, used)
    if size is None:
        note = f"{path} does not exist: create it (backups.backup_dir)"
        return VolumeUsage(name, str(path), None, None, used, note)
    return VolumeUsage(name, str(path), size, free, used, how)


def service_series(
    prometheus: RangeQuery, promql: str, label: str, *, days: int, today: date
) -> dict[str, tuple[date, tuple[float, ...]]]:
    """One value per UTC day per ``label`` value of a daily PromQL expression (evaluated at
    the end of each day), over the ``days`` before ``today``: {service: (first day, values)}."""
    end = datetime.combine(today, datetime.min.time(), UTC)
    start = end - timedelta(days=days - 1)
    found: dict[str, tuple[date, tuple[float, ...]]] = {}
    for series in prometheus.query_range(promql, start, end, 86400):
        points = [(ts, v) for ts, v in series.points if math.isfinite(v)]
        if not points:
            continue
        first = datetime.fromtimestamp(points[0][0], UTC).date() - timedelta(days=1)
        values = _dense(first, points)
        found[series.labels.get(label, "")] = (first, values)
    return found


def _dense(first: date, points: Sequence[tuple[float, float]]) -> tuple[float, ...]:
    by_day = {datetime.fromtimestamp(ts, UTC).date() - timedelta(days=1): v for ts, v in points}
    last = max(by_day)
    out = []
    day = first
    previous = points[0][1]
    while day <= last:
        previous = by_day.get(day, previous)
        out.append(previous)
        day += timedelta(days=1)
    return tuple(out)

"""daily.data_quality: the runbook's hourly extraction query, judged hour by hour."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables, Settings
from opslib.quality._schema import PlatformSchema
from opslib.results import Chart, CheckResult, Measurement, Series, Table

__all__ = [
    "HourlyStats",
    "data_freshness",
    "extraction_confidence",
    "hourly_stats",
    "newest_row",
    "price_coverage",
    "recent_stats",
]

SOP = "daily.data_quality"

# The runbook's query (Daily Operations 3), with the window as a parameter and the configured
# names. Its window (`checked_at > NOW() - INTERVAL '24 hours'`) starts inside an hour, so its
# oldest bucket holds a sliver of that hour: a small sample whose coverage and confidence swing by
# chance. Here the window is whole hours: the current hour and the (hours - 1) complete ones
# before it.
_HOURLY_SQL = sql.SQL("""
SELECT
    date_trunc('hour', {checked_at}) AS hour,
    count(*) AS total,
    {with_price} AS with_price,
    {avg_confidence} AS avg_confidence
FROM {price_history}
WHERE {checked_at} >= date_trunc('hour', now()) - make_interval(hours => %(hours)s - 1)
GROUP BY 1
ORDER BY 1 DESC
""")

_RECENT_SQL = sql.SQL("""
SELECT
    date_trunc('hour', now()) AS hour,
    count(*) AS total,
    {with_price} AS with_price,
    {avg_confidence} AS avg_confidence
FROM {price_history}
WHERE {checked_at} > now() - make_interval(mins => %(minutes)s)
""")

_NEWEST_SQL = sql.SQL("SELECT max({checked_at}) AS newest, now() AS now FROM {price_history}")

_REMEDY_QUALITY = (
    "Data Quality response: `pytest checks/emergency/data_quality` names the domains (confidence,"
    " missing and implausible prices) and the commands that fix them; `opslib quality by-domain`"
    " shows every figure"
)


@dataclass(frozen=True)
class HourlyStats:
    """One row of the runbook's hourly query."""

    hour: datetime
    total: int
    with_price: int | None
    avg_confidence: float | None

    @property
    def coverage(self) -> float | None:
        """``with_price / total`` (None without rows or without a price column)."""
        if not self.total or self.with_price is None:
            return None
        return self.with_price / self.total


def _figures(schema: PlatformSchema) -> dict[str, sql.Composable]:
    """The query parts: a column the table lacks (price, confidence) reads as NULL."""
    price = schema.column("price_history", "price")
    confidence = schema.column("price_history", "extraction_confidence")
    return {
        "price_history": schema.table("price_history"),
        "checked_at": schema.column("price_history", "checked_at"),
        "with_price": sql.SQL("count(*) FILTER (WHERE {} IS NOT NULL)").format(price)
        if schema.has("price_history", "price")
        else sql.SQL("NULL::bigint"),
        "avg_confidence": sql.SQL("avg({})").format(confidence)
        if schema.has("price_history", "extraction_confidence")
        else sql.SQL("NULL::float8"),
    }


def _read(db: Database, schema: PlatformSchema | None) -> PlatformSchema:
    if schema is None:
        schema = PlatformSchema.read(db, PlatformTables())
    schema.require("price_history", "checked_at")
    return schema


def hourly_stats(
    db: Database, hours: int, schema: PlatformSchema | None = None
) -> list[HourlyStats]:
    """The hourly rows, newest first (``schema``: the configured tables, read when not given).

    Raises DependencyError naming the setting when the table or ``checked_at`` is absent.
    """
    query = _HOURLY_SQL.format(**_figures(_read(db, schema)))
    return [_stats(r) for r in db.fetch_all(query, {"hours": hours})]


def recent_stats(db: Database, minutes: int, schema: PlatformSchema | None = None) -> HourlyStats:
    """The same figures over the last ``minutes`` (a fault that began minutes ago shows here
    long before it moves the current hour's average)."""
    query = _RECENT_SQL.format(**_figures(_read(db, schema)))
    return _stats(db.fetch_all(query, {"minutes": minutes})[0])


def newest_row(
    db: Database, schema: PlatformSchema | None = None
) -> tuple[datetime | None, datetime]:
    """``max(checked_at)`` and the server's ``now()``."""
    schema = _read(db, schema)
    query = _NEWEST_SQL.format(
        checked_at=schema.column("price_history", "checked_at"),
        price_history=schema.table("price_history"),
    )
    row = db.fetch_all(query)[0]
    return row["newest"], row["now"]


def _stats(r: dict[str, Any]) -> HourlyStats:
    return HourlyStats(
        hour=r["hour"],
        total=int(r["total"]),
        with_price=None if r["with_price"] is None else int(r["with_price"]),
        avg_confidence=None if r["avg_confidence"] is None else float(r["avg_confidence"]),
    )


def data_freshness(db: Database, settings: Settings) -> CheckResult:
    """New rows keep arriving: the newest is recent and no complete hour of the window is empty."""
    hours = settings.quality_hours
    title = f"price data is fresh and no hour of the last {hours} h is missing"
    schema = PlatformSchema.read(db, settings.tables)
    reason = schema.missing("price_history", "checked_at")
    if reason is not None:
        return CheckResult.unknown(SOP, title, reason)
    newest, now = newest_row(db, schema)
    stats = hourly_stats(db, hours, schema)
    age = None if newest is None else (now - newest).total_seconds() / 60
    present = {s.hour for s in stats}
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    expected = [current - timedelta(hours=h) for h in range(1, hours)]
    missing = [h for h in expected if h not in present]
    return CheckResult(
        SOP,
        title,
        (
            Measurement(
                "newest_row_age",
                None if age is None else round(age, 1),
                settings.threshold("quality.freshness"),
                note=f"{schema.name('price_history')} is empty"
                if newest is None
                else f"newest row at {newest:%Y-%m-%d %H:%M}",
            ),
            Measurement(
                "missing_hours",
                len(missing),
                settings.threshold("quality.missing_hours"),
                note=", ".join(f"{h:%m-%d %H:00}" for h in sorted(missing)[:6]),
            ),
        ),
        remediation=(
            "scrapers are not writing: check `docker-compose ps` and scraper logs, the queue, and "
            "the database; restart scrapers (Emergency Maintenance, Quick Recovery)"
        ),
        tables=(_hourly_table(stats),),
    )


def price_coverage(db: Database, settings: Settings) -> CheckResult:
    """Share of extractions with a price, per hour (hours with too few rows are not judged)."""
    return _per_hour(
        db,
        settings,
        title=f"price coverage (with_price / total) per hour, last {settings.quality_hours} h",
        name="price_coverage",
        value=lambda s: s.coverage,
        threshold_name="quality.price_coverage",
        column="price",
    )


def extraction_confidence(db: Database, settings: Settings) -> CheckResult:
    """Average extraction confidence per hour."""
    return _per_hour(
        db,
        settings,
        title=f"average extraction confidence per hour, last {settings.quality_hours} h",
        name="avg_confidence",
        value=lambda s: s.avg_confidence,
        threshold_name="quality.avg_confidence",
        column="extraction_confidence",
    )


def _per_hour(
    db: Database,
    settings: Settings,
    *,
    title: str,
    name: str,
    value: Callable[[HourlyStats], float | None],
    threshold_name: str,
    column: str,
) -> CheckResult:
    """Judge ``value`` of every hour with enough rows, and of the last ``recent_minutes``."""
    schema = PlatformSchema.read(db, settings.tables)
    reason = schema.missing("price_history", "checked_at", column)
    if reason is not None:
        return CheckResult.unknown(SOP, title, reason)
    stats = hourly_stats(db, settings.quality_hours, schema)
    if not stats:
        return CheckResult.unknown(
            SOP,
            title,
            f"{schema.name('price_history')} has no rows in the last {settings.quality_hours} h",
        )
    threshold = settings.threshold(threshold_name)
    recent = recent_stats(db, settings.recent_minutes, schema)
    judged = [(f"last {settings.recent_minutes} min", recent)] if recent.total else []
    judged += [(f"{s.hour:%m-%d %H:00}", s) for s in stats]
    measurements = []
    for subject, bucket in judged:
        if bucket.total < settings.quality_min_rows:
            continue
        v = value(bucket)
        measurements.append(
            Measurement(
                name,
                None if v is None else round(v, 4),
                threshold,
                subject,
                note="all values NULL" if v is None else "",
            )
        )
    if not measurements:
        return CheckResult.unknown(
            SOP, title, f"no hour has {settings.quality_min_rows} rows or more to judge"
        )
    chart = Chart(f"{name} per hour", (_series(name, stats, value),), limit=threshold.crit)
    return CheckResult(
        SOP,
        title,
        tuple(measurements),
        _REMEDY_QUALITY,
        tables=(_hourly_table(stats),),
        charts=(chart,),
    )


def _series(
    name: str, stats: list[HourlyStats], value: Callable[[HourlyStats], float | None]
) -> Series:
    # Day and hour: a 24 h window holds the same clock hour twice (its first and current hour).
    points = tuple((f"{s.hour:%d %H:00}", value(s)) for s in reversed(stats))
    return Series(name, points)


def _hourly_table(stats: list[HourlyStats]) -> Table:
    return Table(
        ("hour", "total", "with_price", "coverage", "avg_confidence"),
        tuple(
            (
                f"{s.hour:%Y-%m-%d %H:00}",
                str(s.total),
                "-" if s.with_price is None else str(s.with_price),
                "-" if s.coverage is None else f"{s.coverage:.1%}",
                "-" if s.avg_confidence is None else f"{s.avg_confidence:.3f}",
            )
            for s in stats
        ),
        "hourly extractions (runbook Daily 3)",
    )

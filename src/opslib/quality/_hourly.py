"""daily.data_quality: the runbook's hourly extraction query, judged hour by hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString, Protocol

from opslib.config import Settings
from opslib.results import Chart, CheckResult, Measurement, Series, Table

__all__ = [
    "HourlyStats",
    "Rows",
    "data_freshness",
    "extraction_confidence",
    "hourly_stats",
    "newest_row",
    "price_coverage",
    "recent_stats",
]

SOP = "daily.data_quality"

# The runbook's query (Daily Operations 3), with the window as a parameter.
_HOURLY_SQL: LiteralString = """
SELECT
    date_trunc('hour', checked_at) AS hour,
    count(*) AS total,
    count(*) FILTER (WHERE price IS NOT NULL) AS with_price,
    avg(extraction_confidence) AS avg_confidence
FROM price_history
WHERE checked_at > now() - make_interval(hours => %(hours)s)
GROUP BY 1
ORDER BY 1 DESC
"""

_RECENT_SQL: LiteralString = """
SELECT
    date_trunc('hour', now()) AS hour,
    count(*) AS total,
    count(*) FILTER (WHERE price IS NOT NULL) AS with_price,
    avg(extraction_confidence) AS avg_confidence
FROM price_history
WHERE checked_at > now() - make_interval(mins => %(minutes)s)
"""

_NEWEST_SQL: LiteralString = "SELECT max(checked_at) AS newest, now() AS now FROM price_history"

_REMEDY_QUALITY = (
    "Data Quality response: find the domains with the emergency query (confidence by domain), "
    "verify extractors and check for site changes; update patterns"
)


class Rows(Protocol):
    """What these checks need of :class:`opslib.adapters.Database`."""

    def fetch_all(
        self, query: LiteralString, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class HourlyStats:
    """One row of the runbook's hourly query."""

    hour: datetime
    total: int
    with_price: int
    avg_confidence: float | None

    @property
    def coverage(self) -> float | None:
        return self.with_price / self.total if self.total else None


def hourly_stats(db: Rows, hours: int) -> list[HourlyStats]:
    """The hourly rows, newest first."""
    return [
        HourlyStats(
            hour=r["hour"],
            total=int(r["total"]),
            with_price=int(r["with_price"] or 0),
            avg_confidence=None if r["avg_confidence"] is None else float(r["avg_confidence"]),
        )
        for r in db.fetch_all(_HOURLY_SQL, {"hours": hours})
    ]


def recent_stats(db: Rows, minutes: int) -> HourlyStats:
    """The same figures over the last ``minutes`` (a fault that began minutes ago shows here
    long before it moves the current hour's average)."""
    r = db.fetch_all(_RECENT_SQL, {"minutes": minutes})[0]
    return HourlyStats(
        hour=r["hour"],
        total=int(r["total"]),
        with_price=int(r["with_price"] or 0),
        avg_confidence=None if r["avg_confidence"] is None else float(r["avg_confidence"]),
    )


def newest_row(db: Rows) -> tuple[datetime | None, datetime]:
    """``max(checked_at)`` and the server's ``now()``."""
    row = db.fetch_all(_NEWEST_SQL)[0]
    return row["newest"], row["now"]


def data_freshness(db: Rows, settings: Settings) -> CheckResult:
    """New rows keep arriving: the newest is recent and no complete hour of the window is empty."""
    hours = settings.quality_hours
    title = f"price data is fresh and no hour of the last {hours} h is missing"
    newest, now = newest_row(db)
    stats = hourly_stats(db, hours)
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
                note="price_history is empty"
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


def price_coverage(db: Rows, settings: Settings) -> CheckResult:
    """Share of extractions with a price, per hour (hours with too few rows are not judged)."""
    stats = hourly_stats(db, settings.quality_hours)
    threshold = settings.threshold("quality.price_coverage")
    return _per_hour(
        stats,
        settings,
        title=f"price coverage (with_price / total) per hour, last {settings.quality_hours} h",
        name="price_coverage",
        value=lambda s: s.coverage,
        chart=Chart(
            "price coverage per hour",
            (_series("coverage", stats, lambda s: s.coverage),),
            limit=threshold.crit,
        ),
        threshold_name="quality.price_coverage",
        recent=recent_stats(db, settings.recent_minutes),
    )


def extraction_confidence(db: Rows, settings: Settings) -> CheckResult:
    """Average extraction confidence per hour."""
    stats = hourly_stats(db, settings.quality_hours)
    threshold = settings.threshold("quality.avg_confidence")
    return _per_hour(
        stats,
        settings,
        title=f"average extraction confidence per hour, last {settings.quality_hours} h",
        name="avg_confidence",
        value=lambda s: s.avg_confidence,
        chart=Chart(
            "average confidence per hour",
            (_series("avg_confidence", stats, lambda s: s.avg_confidence),),
            limit=threshold.crit,
        ),
        threshold_name="quality.avg_confidence",
        recent=recent_stats(db, settings.recent_minutes),
    )


def _per_hour(
    stats: list[HourlyStats],
    settings: Settings,
    *,
    title: str,
    name: str,
    value: Any,
    chart: Chart,
    threshold_name: str,
    recent: HourlyStats,
) -> CheckResult:
    if not stats:
        return CheckResult.unknown(
            SOP, title, f"price_history has no rows in the last {settings.quality_hours} h"
        )
    threshold = settings.threshold(threshold_name)
    measurements = []
    for s in stats:
        if s.total < settings.quality_min_rows:
            continue
        v = value(s)
        measurements.append(
            Measurement(
                name,
                None if v is None else round(v, 4),
                threshold,
                f"{s.hour:%m-%d %H:00}",
                note="all values NULL" if v is None else "",
            )
        )
    if recent.total >= settings.quality_min_rows:
        v = value(recent)
        measurements.insert(
            0,
            Measurement(
                name,
                None if v is None else round(v, 4),
                threshold,
                f"last {settings.recent_minutes} min",
                note="all values NULL" if v is None else "",
            ),
        )
    if not measurements:
        return CheckResult.unknown(
            SOP, title, f"no hour has {settings.quality_min_rows} rows or more to judge"
        )
    return CheckResult(
        SOP,
        title,
        tuple(measurements),
        _REMEDY_QUALITY,
        tables=(_hourly_table(stats),),
        charts=(chart,),
    )


def _series(name: str, stats: list[HourlyStats], value: Any) -> Series:
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
                str(s.with_price),
                "-" if s.coverage is None else f"{s.coverage:.1%}",
                "-" if s.avg_confidence is None else f"{s.avg_confidence:.3f}",
            )
            for s in stats
        ),
        "hourly extractions (runbook Daily 3)",
    )

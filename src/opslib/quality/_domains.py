"""Confidence by shop domain: the runbook's Data Quality emergency query."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables, Settings
from opslib.quality._schema import PlatformSchema
from opslib.results import CheckResult, Measurement, Table

__all__ = ["DomainStats", "domain_confidence", "domain_stats"]

# The runbook's query without its HAVING, so every domain is judged against its own threshold.
# Names are the configured ones; without a price column, missing_price reads as NULL.
_DOMAIN_SQL = sql.SQL("""
SELECT
    mu.{domain} AS domain,
    count(*) AS total,
    avg(ph.{confidence}) AS confidence,
    {missing_price} AS missing_price
FROM {price_history} ph
JOIN {monitored_urls} mu ON ph.{url_id} = mu.{id}
WHERE ph.{checked_at} > now() - make_interval(mins => %(minutes)s)
GROUP BY 1
ORDER BY 1
""")


@dataclass(frozen=True)
class DomainStats:
    """Extraction figures of one shop domain over the window."""

    domain: str
    total: int
    confidence: float | None
    missing_price: int | None


_NEEDED = {
    "price_history": ("url_id", "extraction_confidence", "checked_at"),
    "monitored_urls": ("id", "domain"),
}


def _missing(schema: PlatformSchema) -> str | None:
    return schema.missing("price_history", *_NEEDED["price_history"]) or schema.missing(
        "monitored_urls", *_NEEDED["monitored_urls"]
    )


def domain_stats(
    db: Database, minutes: int, schema: PlatformSchema | None = None
) -> list[DomainStats]:
    """Per-domain totals, average confidence and missing prices over the last ``minutes``.

    ``schema``: the configured tables (read when not given). Raises DependencyError naming the
    setting when a table or column it needs is absent.
    """
    if schema is None:
        schema = PlatformSchema.read(db, PlatformTables())
    schema.require("price_history", *_NEEDED["price_history"])
    schema.require("monitored_urls", *_NEEDED["monitored_urls"])
    price = schema.column("price_history", "price")
    query = _DOMAIN_SQL.format(
        domain=schema.column("monitored_urls", "domain"),
        confidence=schema.column("price_history", "extraction_confidence"),
        missing_price=sql.SQL("count(*) FILTER (WHERE ph.{} IS NULL)").format(price)
        if schema.has("price_history", "price")
        else sql.SQL("NULL::bigint"),
        price_history=schema.table("price_history"),
        monitored_urls=schema.table("monitored_urls"),
        url_id=schema.column("price_history", "url_id"),
        id=schema.column("monitored_urls", "id"),
        checked_at=schema.column("price_history", "checked_at"),
    )
    return [
        DomainStats(
            domain=str(r["domain"]),
            total=int(r["total"]),
            confidence=None if r["confidence"] is None else float(r["confidence"]),
            missing_price=None if r["missing_price"] is None else int(r["missing_price"]),
        )
        for r in db.fetch_all(query, {"minutes": minutes})
    ]


def domain_confidence(
    db: Database, settings: Settings, sop: str = "daily.data_quality"
) -> CheckResult:
    """Average extraction confidence of each domain over the window above its threshold."""
    minutes = settings.recent_minutes
    title = f"extraction confidence by domain (last {minutes} min)"
    schema = PlatformSchema.read(db, settings.tables)
    reason = _missing(schema)
    if reason is not None:
        return CheckResult.unknown(sop, title, reason)
    stats = domain_stats(db, minutes, schema)
    if not stats:
        return CheckResult.unknown(
            sop, title, f"{schema.name('price_history')} has no rows in the last {minutes} min"
        )
    measurements = tuple(
        Measurement(
            "confidence",
            None if s.confidence is None else round(s.confidence, 3),
            settings.threshold("quality.domain_confidence", s.domain),
            s.domain,
            note="all confidences NULL" if s.confidence is None else "",
        )
        for s in stats
    )
    table = Table(
        ("domain", "total", "confidence", "missing_price"),
        tuple(
            (
                s.domain,
                str(s.total),
                "-" if s.confidence is None else f"{s.confidence:.3f}",
                "-" if s.missing_price is None else str(s.missing_price),
            )
            for s in stats
        ),
        "by domain",
    )
    return CheckResult(
        sop,
        title,
        measurements,
        remediation=(
            "the site probably changed: `pytest checks/emergency/data_quality` names the domains"
            " and the commands that fix them (runbook Data Quality Issues)"
        ),
        tables=(table,),
    )

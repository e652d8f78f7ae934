"""Confidence by shop domain: the runbook's Data Quality emergency query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import LiteralString

from opslib.adapters import RowSource
from opslib.config import Settings
from opslib.results import CheckResult, Measurement, Table

__all__ = ["DomainStats", "domain_confidence", "domain_stats"]

# The runbook's query without its HAVING, so every domain is judged against its own threshold.
_DOMAIN_SQL: LiteralString = """
SELECT
    domain,
    count(*) AS total,
    avg(extraction_confidence) AS confidence,
    count(*) FILTER (WHERE price IS NULL) AS missing_price
FROM price_history ph
JOIN monitored_urls mu ON ph.url_id = mu.id
WHERE checked_at > now() - make_interval(mins => %(minutes)s)
GROUP BY domain
ORDER BY domain
"""


@dataclass(frozen=True)
class DomainStats:
    """Extraction figures of one shop domain over the window."""

    domain: str
    total: int
    confidence: float | None
    missing_price: int


def domain_stats(db: RowSource, minutes: int) -> list[DomainStats]:
    """Per-domain totals, average confidence and missing prices over the last ``minutes``."""
    return [
        DomainStats(
            domain=str(r["domain"]),
            total=int(r["total"]),
            confidence=None if r["confidence"] is None else float(r["confidence"]),
            missing_price=int(r["missing_price"] or 0),
        )
        for r in db.fetch_all(_DOMAIN_SQL, {"minutes": minutes})
    ]


def domain_confidence(
    db: RowSource, settings: Settings, sop: str = "daily.data_quality"
) -> CheckResult:
    """Average extraction confidence of each domain over the window above its threshold."""
    minutes = settings.recent_minutes
    title = f"extraction confidence by domain (last {minutes} min)"
    stats = domain_stats(db, minutes)
    if not stats:
        return CheckResult.unknown(
            sop, title, f"price_history has no rows in the last {minutes} min"
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
                str(s.missing_price),
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
            "the site probably changed: verify extractors and detect site changes for that domain, "
            "then generate, test and deploy new patterns (runbook Data Quality Issues)"
        ),
        tables=(table,),
    )

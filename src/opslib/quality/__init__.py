"""daily.data_quality: freshness, price coverage and extraction confidence."""

from opslib.quality._domains import DomainStats, domain_confidence, domain_stats
from opslib.quality._hourly import (
    HourlyStats,
    data_freshness,
    extraction_confidence,
    hourly_stats,
    newest_row,
    price_coverage,
    recent_stats,
)
from opslib.quality._schema import PlatformSchema, TableKey

__all__ = [
    "DomainStats",
    "HourlyStats",
    "PlatformSchema",
    "TableKey",
    "data_freshness",
    "domain_confidence",
    "domain_stats",
    "extraction_confidence",
    "hourly_stats",
    "newest_row",
    "price_coverage",
    "recent_stats",
]

"""daily.data_quality: freshness, price coverage and extraction confidence; emergency.data_quality:
quality per domain (confidence, missing and implausible prices, overdue URLs, drift)."""

from opslib.quality._by_domain import (
    DomainBaseline,
    DomainQuality,
    domain_baselines,
    domain_coverage,
    domain_quality,
    implausible_prices,
    judge_domains,
    low_confidence_domains,
    missing_price_rates,
    quality_by_domain,
    window_quality,
)
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
    "DomainBaseline",
    "DomainQuality",
    "DomainStats",
    "HourlyStats",
    "PlatformSchema",
    "TableKey",
    "data_freshness",
    "domain_baselines",
    "domain_confidence",
    "domain_coverage",
    "domain_quality",
    "domain_stats",
    "extraction_confidence",
    "hourly_stats",
    "implausible_prices",
    "judge_domains",
    "low_confidence_domains",
    "missing_price_rates",
    "newest_row",
    "price_coverage",
    "quality_by_domain",
    "recent_stats",
    "window_quality",
]

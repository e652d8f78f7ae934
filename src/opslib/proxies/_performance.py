"""Proxy performance from the scrapers' own logs: success rate and p95 latency per proxy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import LiteralString

from opslib.adapters import RowSource
from opslib.config import Settings
from opslib.results import CheckResult, Measurement, Table

__all__ = ["ProxyStats", "proxy_performance", "proxy_stats"]

# Failures that are the proxy's fault; a shop's 5xx through a working proxy is not.
_PROXY_FAULTS = ("proxy_error", "timeout", "banned")

_STATS_SQL: LiteralString = """
SELECT proxy,
       max(proxy_country) AS country,
       count(*) AS total,
       count(*) FILTER (WHERE outcome <> ALL(%(faults)s)) AS succeeded,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms
FROM scrape_logs
WHERE started_at > now() - make_interval(mins => %(minutes)s)
  AND proxy IS NOT NULL
GROUP BY proxy
ORDER BY proxy
"""


@dataclass(frozen=True)
class ProxyStats:
    """One proxy's figures over the window."""

    proxy: str
    country: str | None
    total: int
    succeeded: int
    p95_ms: float | None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.total if self.total else None


def proxy_stats(db: RowSource, minutes: int) -> list[ProxyStats]:
    """Per-proxy totals, successes and p95 latency over the last ``minutes``."""
    rows = db.fetch_all(_STATS_SQL, {"faults": list(_PROXY_FAULTS), "minutes": minutes})
    return [
        ProxyStats(
            proxy=str(r["proxy"]),
            country=r["country"],
            total=int(r["total"]),
            succeeded=int(r["succeeded"]),
            p95_ms=None if r["p95_ms"] is None else float(r["p95_ms"]),
        )
        for r in rows
    ]


def proxy_performance(
    db: RowSource, settings: Settings, sop: str = "daily.performance"
) -> CheckResult:
    """Success rate and p95 latency of each proxy the scrapers used in the window."""
    minutes = settings.proxy_window_minutes
    title = f"proxy success rate and p95 latency (last {minutes} min)"
    stats = proxy_stats(db, minutes)
    if not stats:
        return CheckResult.unknown(
            sop, title, f"no scrape_logs rows with a proxy in the last {minutes} min"
        )
    success = settings.threshold("performance.proxy_success_rate")
    latency = settings.threshold("performance.proxy_p95_latency")
    measurements: list[Measurement] = []
    for s in stats:
        rate = s.success_rate
        measurements.append(
            Measurement("success_rate", None if rate is None else round(rate, 3), success, s.proxy)
        )
        measurements.append(
            Measurement(
                "p95_latency", None if s.p95_ms is None else round(s.p95_ms), latency, s.proxy
            )
        )
    table = Table(
        ("proxy", "country", "requests", "success rate", "p95 ms"),
        tuple(
            (
                s.proxy,
                s.country or "-",
                str(s.total),
                "-" if s.success_rate is None else f"{s.success_rate:.1%}",
                "-" if s.p95_ms is None else f"{s.p95_ms:.0f}",
            )
            for s in stats
        ),
        "proxies",
    )
    return CheckResult(
        sop,
        title,
        tuple(measurements),
        remediation="quarantine failing proxies and promote reserves (opslib proxies rotate)",
        tables=(table,),
    )

"""Proxy performance: success rate and latency per proxy, from the scrapers' logs or the pool.

Two sources, the first that has data in the window wins:

1. ``scrape_logs`` (the runbook names the table, not its columns): used when it has a proxy
   column and an ``outcome`` or ``status_code`` column (names in ``[tables.scrape_logs]``).
   Success rate per proxy, p95 of ``duration_ms`` when that column exists.
2. opslib's own pool (``opslib.proxy_usage`` and ``opslib.proxies``, written by
   ``ProxyPool.report``): requests, failures and bans per proxy and hour, and the pool's moving
   average latency (it keeps no p95).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, LiteralString

from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables, ScrapeLogsTable, Settings
from opslib.errors import DependencyError
from opslib.quality import PlatformSchema
from opslib.results import CheckResult, Measurement, Table

__all__ = ["ProxySource", "ProxyStats", "pool_proxy_stats", "proxy_performance", "proxy_stats"]

ProxySource = Literal["scrape_logs", "pool"]
"""Where proxy figures came from: the platform's ``scrape_logs`` or opslib's proxy pool."""

_STATS_SQL = sql.SQL("""
SELECT {proxy}::text AS proxy,
       {country} AS country,
       count(*) AS total,
       count(*) FILTER (WHERE NOT ({fault})) AS succeeded,
       {p95} AS p95_ms
FROM {scrape_logs}
WHERE {started_at} > now() - make_interval(mins => %(minutes)s)
  AND {proxy} IS NOT NULL
GROUP BY 1
ORDER BY 1
""")

# The pool counts per proxy, domain and hour: the window rounds out to whole hours. A ban is
# the proxy's fault here as the lab's `banned` outcome is.
_POOL_SQL: LiteralString = """
SELECT p.url AS proxy, p.country,
       sum(u.requests)::bigint AS total,
       greatest(sum(u.requests) - sum(u.failures) - sum(u.bans), 0)::bigint AS succeeded,
       p.latency_ms AS mean_ms
FROM opslib.proxy_usage u
JOIN opslib.proxies p ON p.id = u.proxy_id
WHERE u.hour >= date_trunc('hour', now() - make_interval(mins => %(minutes)s))
GROUP BY p.id, p.url, p.country, p.latency_ms
HAVING sum(u.requests) > 0
ORDER BY p.url
"""

_POOL_PRESENT: LiteralString = "SELECT to_regclass('opslib.proxy_usage') IS NOT NULL AS ok"


@dataclass(frozen=True)
class ProxyStats:
    """One proxy's figures over the window: ``p95_ms`` from ``scrape_logs``, ``mean_ms`` (the
    pool's moving average) from the pool."""

    proxy: str
    country: str | None
    total: int
    succeeded: int
    p95_ms: float | None
    mean_ms: float | None = None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.total if self.total else None


def _log_gap(schema: PlatformSchema) -> str | None:
    """Why ``scrape_logs`` cannot give proxy figures (None: it can)."""
    gap = schema.missing("scrape_logs", "started_at", "proxy")
    if gap is None and not schema.has("scrape_logs", "outcome"):
        gap = schema.missing("scrape_logs", "status_code")
    return gap


def proxy_stats(
    db: Database, minutes: int, tables: ScrapeLogsTable | None = None
) -> list[ProxyStats]:
    """Per-proxy totals, successes and p95 latency from ``scrape_logs`` over ``minutes``.

    A request failed through the proxy's fault when its outcome is one of
    ``proxy_fault_outcomes``; without an outcome column, when it got no status or one of
    ``proxy_fault_statuses``. Raises DependencyError naming the setting when a column is absent.
    """
    logs = tables if tables is not None else ScrapeLogsTable()
    schema = PlatformSchema.read(db, PlatformTables(scrape_logs=logs))
    gap = _log_gap(schema)
    if gap is not None:
        raise DependencyError("postgresql", gap)
    return _log_stats(db, schema, minutes)


def _log_stats(db: Database, schema: PlatformSchema, minutes: int) -> list[ProxyStats]:
    logs = schema.tables.scrape_logs

    def col(field: str) -> sql.Identifier:
        return schema.column("scrape_logs", field)

    if schema.has("scrape_logs", "outcome"):
        fault = sql.SQL("coalesce({} = ANY(%(faults)s), false)").format(col("outcome"))
    else:
        fault = sql.SQL("{0} IS NULL OR {0} = ANY(%(statuses)s)").format(col("status_code"))
    query = _STATS_SQL.format(
        proxy=col("proxy"),
        country=sql.SQL("max({})::text").format(col("proxy_country"))
        if schema.has("scrape_logs", "proxy_country")
        else sql.SQL("NULL::text"),
        fault=fault,
        p95=sql.SQL("percentile_cont(0.95) WITHIN GROUP (ORDER BY {})").format(col("duration_ms"))
        if schema.has("scrape_logs", "duration_ms")
        else sql.SQL("NULL::float8"),
        scrape_logs=schema.table("scrape_logs"),
        started_at=col("started_at"),
    )
    params = {
        "faults": list(logs.proxy_fault_outcomes),
        "statuses": list(logs.proxy_fault_statuses),
        "minutes": minutes,
    }
    return [
        ProxyStats(
            proxy=str(r["proxy"]),
            country=r["country"],
            total=int(r["total"]),
            succeeded=int(r["succeeded"]),
            p95_ms=None if r["p95_ms"] is None else float(r["p95_ms"]),
        )
        for r in db.fetch_all(query, params)
    ]


def pool_proxy_stats(db: Database, minutes: int) -> list[ProxyStats]:
    """Per-proxy requests and successes from opslib's pool (``ProxyPool.report``) over the
    hours ``minutes`` reaches into, with the pool's moving average latency.

    Failures and bans count against the proxy. Raises DependencyError when the opslib schema
    has no pool (``opslib db migrate``).
    """
    if not _pool_present(db):
        raise DependencyError("postgresql", _NO_POOL)
    return [
        ProxyStats(
            proxy=str(r["proxy"]),
            country=r["country"],
            total=int(r["total"]),
            succeeded=int(r["succeeded"]),
            p95_ms=None,
            mean_ms=None if r["mean_ms"] is None else float(r["mean_ms"]),
        )
        for r in db.fetch_all(_POOL_SQL, {"minutes": minutes})
    ]


_NO_POOL = "the opslib schema has no proxy pool (run opslib db migrate)"


def _pool_present(db: Database) -> bool:
    row = db.fetch_one(_POOL_PRESENT)
    return bool(row and row["ok"])


def proxy_performance(
    db: Database, settings: Settings, sop: str = "daily.performance"
) -> CheckResult:
    """Success rate and latency of each proxy used in the window: from ``scrape_logs`` when it
    has proxy columns and rows, else from opslib's pool; the title names the source."""
    minutes = settings.proxy_window_minutes
    schema = PlatformSchema.read(db, settings.tables)
    log_gap = _log_gap(schema)
    logs = schema.name("scrape_logs")
    if log_gap is None:
        stats = _log_stats(db, schema, minutes)
        if stats:
            return _judge(stats, "scrape_logs", settings, sop, schema)
        log_gap = f"{logs} has no rows with a proxy in the last {minutes} min"
    pool_present = _pool_present(db)
    if pool_present:
        stats = pool_proxy_stats(db, minutes)
        if stats:
            return _judge(stats, "pool", settings, sop, schema)
    pool_gap = (
        f"opslib's proxy pool recorded no requests in the last {minutes} min (scrapers that"
        " lease through ProxyPool.acquire report each request with ProxyPool.report)"
        if pool_present
        else _NO_POOL
    )
    return CheckResult.unknown(
        sop,
        f"proxy success rate and latency (last {minutes} min)",
        f"no proxy figures: {log_gap}; {pool_gap}",
    )


def _judge(
    stats: list[ProxyStats],
    source: ProxySource,
    settings: Settings,
    sop: str,
    schema: PlatformSchema,
) -> CheckResult:
    minutes = settings.proxy_window_minutes
    success = settings.threshold("performance.proxy_success_rate")
    latency = settings.threshold("performance.proxy_p95_latency")
    from_logs = source == "scrape_logs"
    if from_logs:
        origin = schema.name("scrape_logs")
        has_latency = schema.has("scrape_logs", "duration_ms")
        title = f"proxy success rate and p95 latency (last {minutes} min, from {origin})"
        if not has_latency:
            title = f"proxy success rate (last {minutes} min, from {origin}; no duration column)"
    else:
        has_latency = True
        title = (
            f"proxy success rate and mean latency (last {minutes} min rounded out to whole"
            " hours, from opslib's proxy pool)"
        )
    measurements: list[Measurement] = []
    for s in stats:
        rate = s.success_rate
        measurements.append(
            Measurement("success_rate", None if rate is None else round(rate, 3), success, s.proxy)
        )
        if not has_latency:
            continue
        ms = s.p95_ms if from_logs else s.mean_ms
        if ms is None and not from_logs:
            continue  # only failures through it: the pool has no latency to judge
        measurements.append(
            Measurement(
                "p95_latency" if from_logs else "mean_latency",
                None if ms is None else round(ms),
                latency,
                s.proxy,
                note="" if from_logs else "the pool's moving average, judged by the p95 limit",
            )
        )
    table = Table(
        ("proxy", "country", "requests", "success rate", "p95 ms" if from_logs else "mean ms"),
        tuple(
            (
                s.proxy,
                s.country or "-",
                str(s.total),
                "-" if s.success_rate is None else f"{s.success_rate:.1%}",
                _ms(s.p95_ms if from_logs else s.mean_ms),
            )
            for s in stats
        ),
        f"proxies (source: {source})",
    )
    return CheckResult(
        sop,
        title,
        tuple(measurements),
        remediation="quarantine failing proxies and promote reserves (opslib proxies rotate)",
        tables=(table,),
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"

"""The weekly proxy-pool checks (``weekly.proxy_pool``) over the pool's shared state."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from opslib.config import Settings
from opslib.proxies._model import ProxyState
from opslib.proxies._pool import PoolProxy, ProxyPool
from opslib.results import Chart, CheckResult, Measurement, Series, Table

__all__ = [
    "ban_rate",
    "country_distribution",
    "healthy_proxies",
    "leaking_proxies",
    "pool_latency",
]

SOP = "weekly.proxy_pool"
_ROTATE = "quarantine failing proxies and promote reserves (opslib proxies rotate)"


def _healthy(pool: ProxyPool, settings: Settings, now: datetime) -> list[PoolProxy]:
    floor = settings.proxies.min_success_rate
    return [p for p in pool.proxies() if p.healthy(floor, now)]


def healthy_proxies(pool: ProxyPool, settings: Settings, now: datetime) -> CheckResult:
    """How many active proxies are healthy, and what share of the active ones."""
    title = "healthy proxies"
    active = pool.proxies([ProxyState.ACTIVE])
    if not active:
        return CheckResult.unknown(SOP, title, "no active proxy (opslib proxies update FILE)")
    healthy = _healthy(pool, settings, now)
    bad = sorted(p.url for p in active if p not in healthy)
    note = f"unhealthy: {', '.join(bad)}" if bad else ""
    return CheckResult(
        SOP,
        title,
        (
            Measurement(
                "healthy_count",
                len(healthy),
                settings.threshold("proxies.healthy_count"),
                note=note,
            ),
            Measurement(
                "healthy_share",
                round(len(healthy) / len(active), 3),
                settings.threshold("proxies.healthy_share"),
            ),
        ),
        remediation=_ROTATE,
    )


def country_distribution(pool: ProxyPool, settings: Settings, now: datetime) -> CheckResult:
    """Healthy proxies per country against the required minimums and the maximum share.

    Country codes match whatever their case: the pool stores them as imported (lower case),
    ``required_countries`` as written in the config."""
    title = "geographic distribution of healthy proxies"
    healthy = _healthy(pool, settings, now)
    counts = Counter((p.country or "??").upper() for p in healthy)
    wanted = settings.proxies.required_countries
    measurements = [
        Measurement(
            "country_shortfall", max(0, minimum - counts[country.upper()]),
            settings.threshold("proxies.country_shortfall"), country,
            note=f"{counts[country.upper()]} healthy, {minimum} required",
        )
        for country, minimum in sorted(wanted.items())
    ]  # fmt: skip
    required = {country.upper(): minimum for country, minimum in wanted.items()}
    total = sum(counts.values())
    share = settings.threshold("proxies.country_share")
    if total:
        country, top = counts.most_common(1)[0]
        measurements.append(Measurement("country_share", round(top / total, 3), share, country))
    if not measurements:
        return CheckResult.unknown(SOP, title, "no healthy proxy and no required country")
    countries = sorted(set(counts) | set(required))
    table = Table(
        ("country", "healthy", "required", "share"),
        tuple(
            (
                c,
                str(counts[c]),
                str(required.get(c, "-")),
                f"{counts[c] / total:.0%}" if total else "-",
            )
            for c in countries
        ),
        "healthy proxies per country",
    )
    chart = Chart(
        "healthy proxies per country",
        (
            Series("healthy", tuple((c, float(counts[c])) for c in countries)),
            Series("required", tuple((c, float(required.get(c, 0))) for c in countries)),
        ),
        unit="proxies",
        kind="bar",
    )
    return CheckResult(
        SOP, title, tuple(measurements),
        remediation="add proxies in the short countries (opslib proxies update FILE), "
        "then opslib proxies rotate",
        tables=(table,), charts=(chart,),
    )  # fmt: skip


def ban_rate(pool: ProxyPool, settings: Settings) -> CheckResult:
    """Per target domain: bans per request over the window, and the share of active proxies it
    bans right now."""
    hours = settings.proxies.ban_window_hours
    title = f"proxy bans per domain (last {hours} h)"
    rates = pool.ban_rates(hours)
    if not rates:
        return CheckResult.unknown(SOP, title, f"no proxied requests in the last {hours} h")
    active = pool.proxies([ProxyState.ACTIVE])
    banned = Counter(d for p in active for d in p.banned_for)
    measurements = []
    for domain, (requests, bans) in sorted(rates.items()):
        threshold = settings.threshold("proxies.ban_rate", domain)
        rate = bans / requests if requests else 0.0
        measurements.append(Measurement("ban_rate", round(rate, 4), threshold, domain))
        measurements.append(
            Measurement(
                "banned_share", round(banned[domain] / len(active), 3) if active else None,
                settings.threshold("proxies.banned_share", domain), domain,
                note=f"{banned[domain]} of {len(active)} active proxies banned now",
            )
        )  # fmt: skip
    return CheckResult(
        SOP, title, tuple(measurements),
        remediation="rotate banned proxies out (opslib proxies rotate) and slow down the "
        "domain (opslib proxies config DOMAIN --max-concurrency N)",
    )  # fmt: skip


def pool_latency(pool: ProxyPool, settings: Settings) -> CheckResult:
    """p95 of the active proxies' smoothed latency."""
    title = "p95 latency of active proxies"
    latencies = sorted(
        p.latency_ms for p in pool.proxies([ProxyState.ACTIVE]) if p.latency_ms is not None
    )
    if not latencies:
        return CheckResult.unknown(SOP, title, "no active proxy has a measured latency")
    rank = 0.95 * (len(latencies) - 1)
    low = int(rank)
    high = min(low + 1, len(latencies) - 1)
    p95 = latencies[low] + (latencies[high] - latencies[low]) * (rank - low)
    return CheckResult(
        SOP, title,
        (Measurement("p95_latency", round(p95), settings.threshold("proxies.p95_latency")),),
        remediation=_ROTATE,
    )  # fmt: skip


def leaking_proxies(pool: ProxyPool, settings: Settings) -> CheckResult:
    """Active proxies whose last test saw the client's IP (Via / X-Forwarded-For) at the judge.

    Scrapers cannot notice a leak (the page still loads), so only a test run shows it: this
    reads the results ``opslib proxies test`` recorded.
    """
    title = "active proxies leaking the client IP (last test)"
    active = pool.proxies([ProxyState.ACTIVE])
    tested = [p for p in active if p.checked_at is not None]
    if not tested:
        return CheckResult.unknown(
            SOP, title, "no active proxy has been tested yet (opslib proxies test)"
        )
    leaking = sorted(p.url for p in tested if p.leaks)
    untested = len(active) - len(tested)
    oldest = min(p.checked_at for p in tested if p.checked_at is not None)
    note = f"leaking: {', '.join(leaking)}; " if leaking else ""
    note += f"{len(tested)} tested, oldest test {oldest.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    note += f", {untested} untested" if untested else ""
    return CheckResult(
        SOP, title,
        (Measurement("leaking", len(leaking), settings.threshold("proxies.leaking"), note=note),),
        remediation="retest (opslib proxies test), then quarantine leaking proxies "
        "(opslib proxies rotate)",
    )  # fmt: skip

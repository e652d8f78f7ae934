"""Rotation: quarantine failing and banned proxies, promote reserves, and never leave a required
country with fewer active proxies than its minimum."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from opslib.config import ProxySettings
from opslib.proxies._model import ProxyState
from opslib.proxies._pool import PoolProxy, ProxyPool

__all__ = ["RotationPlan", "apply_rotation", "plan_rotation"]

_LOCK = 0x70726F7879  # "proxy": one rotation at a time, across processes


@dataclass(frozen=True)
class RotationPlan:
    """Which proxies leave, which come in, and which stay only to hold a country's minimum."""

    quarantine: tuple[tuple[str, str], ...]  # (url, reason)
    promote: tuple[tuple[str, str], ...]
    kept: tuple[tuple[str, str], ...]

    @property
    def empty(self) -> bool:
        return not (self.quarantine or self.promote)


def _failing(p: PoolProxy, settings: ProxySettings, now: datetime, ban_domains: int) -> str:
    if p.check_ok is False:
        return "failed its last test"
    if p.leaks:
        return "leaks the client IP"
    if p.backoff_until is not None and p.backoff_until > now:
        return f"backing off after {p.consecutive_failures} failures"
    if p.requests >= 10 and p.success_rate < settings.min_success_rate:
        return f"success rate {p.success_rate:.0%}"
    if len(p.banned_for) >= ban_domains:
        return f"banned by {len(p.banned_for)} domain(s)"
    return ""


def plan_rotation(
    proxies: Sequence[PoolProxy], settings: ProxySettings, now: datetime, ban_domains: int = 3
) -> RotationPlan:
    """The rotation to make now (pure: no I/O)."""
    active = [p for p in proxies if p.state is ProxyState.ACTIVE]
    reserves = [
        p for p in proxies if p.state is ProxyState.RESERVE and not _failing(p, settings, now, 1)
    ]
    reserves.sort(key=lambda p: (-p.success_rate, p.latency_ms or 0.0))
    count = Counter(p.country for p in active)
    quarantine, promote, kept = [], [], []
    failing = [(p, why) for p in active if (why := _failing(p, settings, now, ban_domains))]
    for proxy, why in failing:
        minimum = settings.required_countries.get(proxy.country or "", 0)
        if count[proxy.country] - 1 < minimum:
            stand_in = next((r for r in reserves if r.country == proxy.country), None)
            if stand_in is None:
                kept.append((proxy.url, f"{why}, but the last active proxy of {proxy.country}"))
                continue
            reserves.remove(stand_in)
            promote.append((stand_in.url, f"replaces {proxy.url} in {proxy.country}"))
            count[proxy.country] += 1
        quarantine.append((proxy.url, why))
        count[proxy.country] -= 1
    for _ in range(len(quarantine) - len(promote)):
        if not reserves:
            break
        stand_in = reserves.pop(0)
        promote.append((stand_in.url, "replaces a quarantined proxy"))
    return RotationPlan(tuple(quarantine), tuple(promote), tuple(kept))


def apply_rotation(pool: ProxyPool, settings: ProxySettings, ban_domains: int = 3) -> RotationPlan:
    """Plan and apply under a lock, so concurrent rotations never both remove a country's last
    proxy: the second plans on what the first left."""
    db = pool.database
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        now_row = db.fetch_one("SELECT now() AS now")
        assert now_row is not None
        plan = plan_rotation(pool.proxies(), settings, now_row["now"], ban_domains)
        for url, why in plan.quarantine:
            pool.set_state([url], ProxyState.QUARANTINED, why)
        for url, why in plan.promote:
            pool.set_state([url], ProxyState.ACTIVE, f"promoted: {why}")
    return plan

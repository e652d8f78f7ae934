"""One verification run: every site directly and through every sampled proxy, all at once,
each request within the timeout; then a verdict per site."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Sequence

from opslib.config import Settings
from opslib.proxies import Proxy, ProxyPool, ProxyState, proxies_to_test
from opslib.results import Severity
from opslib.sites._judge import failing_proxies, judge
from opslib.sites._model import Outcome, Probe, SiteReport, SiteTarget
from opslib.sites._probe import Prober

__all__ = ["averify_sites", "sample_proxies", "verify_sites"]

_CONFIRM_AT_ONCE = 16  # a slow site's second request: few at once, so this machine is calm


def sample_proxies(pool: ProxyPool, count: int, rng: random.Random | None = None) -> list[Proxy]:
    """``count`` active proxies of the pool at random, with their credentials (for the
    requests only: never print them)."""
    if count <= 0:
        return []
    return proxies_to_test(pool, [ProxyState.ACTIVE], sample=count, rng=rng)


def _over_limit(settings: Settings, domain: str, probe: Probe) -> bool:
    """The page came, but over the domain's ``sites.latency`` limit."""
    limit = settings.threshold("sites.latency", domain)
    return probe.outcome is Outcome.OK and limit.evaluate(probe.latency_ms) is not Severity.OK


def _faster(one: Probe, other: Probe) -> bool:
    return (one.latency_ms or math.inf) < (other.latency_ms or math.inf)


def _marker(settings: Settings, domain: str) -> str | None:
    markers = settings.sites.content_markers
    return markers.get(domain) or markers.get("*")


async def averify_sites(
    targets: Sequence[SiteTarget], settings: Settings, proxies: Sequence[Proxy] = ()
) -> SiteReport:
    """Verify ``targets`` directly, then through each of ``proxies``; every request ends within
    ``sites.timeout`` (default ``timeouts.http``), each round all at once (at most
    ``sites.concurrency`` in flight). A site over its ``sites.latency`` limit is asked once
    more, a few at a time, before it is called slow: the first answer may have waited on this
    machine rather than on the site."""
    began = time.perf_counter()
    unique = list({t.domain: t for t in targets}.values())
    timeout = settings.sites.timeout or settings.timeouts.http
    gate = asyncio.Semaphore(settings.sites.concurrency)

    async with Prober(settings.sites, timeout, proxies, len(unique)) as prober:

        async def one(target: SiteTarget, via: str | None) -> Probe:
            async with gate:
                try:
                    return await prober.probe(target, via, _marker(settings, target.domain))
                except Exception as exc:  # a bug must cost one verdict (unknown), not the run
                    detail = f"{type(exc).__name__}: {exc}"[:200]
                    return Probe(via, Outcome.UNREACHABLE, "error", detail)

        # Directly first, then through the proxies: the direct latency, which judges "slow", is
        # not measured while the proxies' requests load this process (decisions.md).
        direct = list(await asyncio.gather(*(one(t, None) for t in unique)))
        slow = [i for i, t in enumerate(unique) if _over_limit(settings, t.domain, direct[i])]
        calm = asyncio.Semaphore(_CONFIRM_AT_ONCE)

        async def again(target: SiteTarget) -> Probe:
            async with calm:
                return await one(target, None)

        seconds = await asyncio.gather(*(again(unique[i]) for i in slow))
        for i, second in zip(slow, seconds, strict=True):
            if second.outcome is Outcome.OK and _faster(second, direct[i]):
                direct[i] = second  # the faster of two: a slow site is slow both times
        via = await asyncio.gather(*(one(t, p.url) for t in unique for p in proxies))
    width = len(proxies)
    by_domain = {
        t.domain: [direct[i], *via[i * width : (i + 1) * width]] for i, t in enumerate(unique)
    }
    broken = failing_proxies(by_domain)
    verdicts = tuple(
        judge(
            t,
            by_domain[t.domain],
            broken,
            latency=settings.threshold("sites.latency", t.domain),
            cert_days=settings.threshold("sites.cert_days", t.domain),
        )
        for t in unique
    )
    return SiteReport(
        verdicts,
        tuple(p.url for p in proxies),
        tuple(sorted(broken)),
        round(time.perf_counter() - began, 3),
    )


def verify_sites(
    targets: Sequence[SiteTarget], settings: Settings, proxies: Sequence[Proxy] = ()
) -> SiteReport:
    """:func:`averify_sites` from synchronous code (runs its own event loop)."""
    return asyncio.run(averify_sites(targets, settings, proxies))

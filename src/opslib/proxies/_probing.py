"""Testing the pool's proxies: which ones (all, or a random sample), and one run of the tester
over them with the pool's settings."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opslib.config import ProxySettings
from opslib.errors import ConfigError
from opslib.proxies._model import Proxy, ProxyState
from opslib.proxies._pool import ProxyPool
from opslib.proxies._tester import ProbeResult, probe_proxies

__all__ = ["ProbeRun", "proxies_to_test", "run_probes"]


@dataclass(frozen=True)
class ProbeRun:
    """The results of one test run, in the order the proxies were given."""

    results: tuple[ProbeResult, ...]

    @property
    def failing(self) -> tuple[ProbeResult, ...]:
        """Proxies that failed their test or leak the client IP."""
        return tuple(r for r in self.results if not r.ok or r.leaks)

    @property
    def all_failing(self) -> bool:
        return bool(self.results) and len(self.failing) == len(self.results)

    @property
    def summary(self) -> str:
        return f"{len(self.results)} tested, {len(self.failing)} failing or leaking"


def proxies_to_test(
    pool: ProxyPool,
    states: Sequence[ProxyState] = (ProxyState.ACTIVE, ProxyState.RESERVE),
    *,
    sample: int | None = None,
    rng: random.Random | None = None,
) -> list[Proxy]:
    """The proxies in ``states`` by URL, with their credentials (for the tester only: never
    print them); ``sample`` of them chosen at random when given."""
    proxies = pool.connectable(states)
    if sample is None:
        return proxies
    count = min(len(proxies), sample)
    return rng.sample(proxies, count) if rng is not None else random.sample(proxies, count)


def run_probes(
    proxies: Sequence[Proxy],
    settings: ProxySettings,
    *,
    targets: Sequence[str] = (),
    progress: Callable[[ProbeResult], None] | None = None,
) -> ProbeRun:
    """Test ``proxies`` against ``settings.judge_url`` (and ``targets``) with the settings'
    timeout, deadline and concurrency; runs its own event loop, so call it from sync code."""
    if settings.judge_url is None:
        raise ConfigError(
            "no judge URL",
            ("proxies.judge_url: not set (the lab's /judge, httpbin's /get, an azenv page)",),
        )
    results = asyncio.run(
        probe_proxies(
            proxies, settings.judge_url, timeout=settings.test_timeout,
            deadline=settings.test_deadline, concurrency=settings.test_concurrency,
            targets=targets, progress=progress,
        )
    )  # fmt: skip
    return ProbeRun(tuple(results))

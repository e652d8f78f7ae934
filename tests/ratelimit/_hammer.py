"""Run in child processes: take permits from one shared limit as fast as they come."""

from __future__ import annotations

import time
from collections.abc import Sequence

from opslib.adapters import Database
from opslib.config import RateLimitSettings
from opslib.ratelimit import RateLimiter, RateLimitTimeout


def hammer(
    dsn: str, domain: str, seconds: float, start_at: float, settings: dict[str, float]
) -> list[float]:
    """The wall-clock times (time.time()) at which this process was handed a permit."""
    admitted: list[float] = []
    with Database(dsn) as db:
        limiter = RateLimiter(db, RateLimitSettings(**settings))
        time.sleep(max(0.0, start_at - time.time()))
        until = start_at + seconds
        while (now := time.time()) < until:
            try:
                limiter.acquire(domain, timeout=until - now)
            except RateLimitTimeout:
                break
            admitted.append(time.time())
    return admitted


def max_in_window(times: Sequence[float], seconds: float) -> int:
    """The most events in any window of ``seconds`` (closed at both ends)."""
    ordered = sorted(times)
    best = start = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] > seconds:
            start += 1
        best = max(best, end - start + 1)
    return best

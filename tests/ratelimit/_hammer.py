"""Run in child processes: take permits from one shared limit as fast as they come."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from opslib.adapters import Database
from opslib.config import RateLimitSettings
from opslib.ratelimit import RateLimiter, RateLimitTimeout


def hammer(
    dsn: str,
    domain: str,
    seconds: float,
    ready: Barrier,
    settings: dict[str, float],
    results: Queue[list[float]],
) -> None:
    """Put the wall-clock times (time.time()) at which this process was handed a permit;
    it starts when every process (and the parent) reached ``ready``."""
    admitted: list[float] = []
    with Database(dsn) as db:
        limiter = RateLimiter(db, RateLimitSettings(**settings))
        limiter.limit(domain)  # connected
        ready.wait(120)
        until = time.time() + seconds
        while (now := time.time()) < until:
            try:
                limiter.acquire(domain, timeout=until - now)
            except RateLimitTimeout:
                break
            admitted.append(time.time())
    results.put(admitted)


class Hammers:
    """``processes`` hammer processes on one limit; ``start()`` returns when all run."""

    def __init__(
        self, processes: int, dsn: str, domain: str, seconds: float, settings: dict[str, Any]
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._ready = ctx.Barrier(processes + 1)
        self._results: Queue[list[float]] = ctx.Queue()
        self._seconds = seconds
        self._procs = [
            ctx.Process(
                target=hammer,
                args=(dsn, domain, seconds, self._ready, settings, self._results),
                daemon=True,
            )
            for _ in range(processes)
        ]

    def start(self) -> float:
        """Start them; return the wall-clock time they began."""
        for proc in self._procs:
            proc.start()
        self._ready.wait(120)
        return time.time()

    def results(self) -> list[list[float]]:
        """Each process's admission times, once they are done."""
        runs = [self._results.get(timeout=self._seconds + 120) for _ in self._procs]
        for proc in self._procs:
            proc.join(30)
        return runs


def max_in_window(times: Sequence[float], seconds: float) -> int:
    """The most events in any window of ``seconds`` (closed at both ends)."""
    ordered = sorted(times)
    best = start = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] > seconds:
            start += 1
        best = max(best, end - start + 1)
    return best

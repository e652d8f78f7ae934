"""Run in child processes: many acquire + report cycles against one shared pool."""

from __future__ import annotations

import time

from opslib.adapters import Database
from opslib.config import ProxySettings
from opslib.errors import NoProxyAvailable
from opslib.proxies import Outcome, ProxyPool


def hammer(dsn: str, domain: str, cycles: int, hold: float = 0.0) -> tuple[int, int, float]:
    """(leases granted, NoProxyAvailable refusals, seconds); every third outcome fails."""
    granted = refused = 0
    settings = ProxySettings(failures_to_backoff=100)
    begin = time.perf_counter()
    with Database(dsn) as db:
        pool = ProxyPool(db, settings)
        for n in range(cycles):
            try:
                lease = pool.acquire(domain)
            except NoProxyAvailable:
                refused += 1
                continue
            granted += 1
            if hold:
                time.sleep(hold)
            kind = "failure" if n % 3 == 0 else "success"
            pool.report(lease, Outcome(kind, None if kind == "failure" else 50.0))
    return granted, refused, time.perf_counter() - begin

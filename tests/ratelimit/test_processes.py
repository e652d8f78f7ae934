"""Four real processes share one limit: the admitted rate stays within rate x window + burst in
every window, and a Retry-After given by one holds all of them."""

from __future__ import annotations

import time

from opslib.adapters import Database
from opslib.config import RateLimitSettings
from opslib.ratelimit import RateLimiter
from tests.dbkit import TestDatabase
from tests.ratelimit._hammer import Hammers, max_in_window

PROCESSES = 4


def test_four_processes_never_exceed_the_limit(platform_db: TestDatabase) -> None:
    rate, burst = 200.0, 50
    with Database(platform_db.dsn) as db:
        RateLimiter(db).set_limit("shared.test", rate=rate, burst=burst, actor="test")
    hammers = Hammers(PROCESSES, platform_db.dsn, "shared.test", 12.0, {})
    hammers.start()
    runs = hammers.results()
    times = [t for run in runs for t in run]
    assert all(runs), "every process was admitted"
    for window in (10.0, 1.0):
        assert max_in_window(times, window) <= rate * window + burst
    # and the limit is used, not starved: at least 90 % of what it allows while they ran
    assert len(times) >= 0.9 * rate * (max(times) - min(times))


def test_retry_after_holds_every_process(platform_db: TestDatabase) -> None:
    settings = {"hold_seconds": 0.2, "batch_seconds": 0.05}
    with Database(platform_db.dsn) as db:
        RateLimiter(db).set_limit("held.test", rate=100, burst=10, actor="test")
    hammers = Hammers(PROCESSES, platform_db.dsn, "held.test", 5.0, settings)
    began = hammers.start()
    time.sleep(max(0.0, began + 1.5 - time.time()))
    with Database(platform_db.dsn) as db:
        pushed = time.time()
        RateLimiter(db, RateLimitSettings(**settings)).retry_after("held.test", 2.0, "429")
    runs = hammers.results()
    held = [t for run in runs for t in run if pushed + 0.25 < t < pushed + 1.95]
    assert held == []
    for run in runs:  # every process had permits before and after
        assert any(t < pushed for t in run)
        assert any(t > pushed + 2.0 for t in run)

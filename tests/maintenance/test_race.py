"""Operators racing: four processes turn maintenance on (then off) at the same moment; one
window is opened and closed once, the others see it done."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from multiprocessing.pool import Pool

from opslib.maintenance._mode import _LOCK
from tests.dbkit import TestDatabase
from tests.maintenance._racer import race
from tests.support import wait_until


def _waiting(db: TestDatabase) -> int:
    row = db.fetch_one(
        "SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
        " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
    )
    return int(row["n"]) if row else 0


def _race(pool: Pool, db: TestDatabase, action: str) -> list[tuple[str, tuple[int, ...]]]:
    """Hold the lock until all four wait for it, so they provably run at the same time."""
    holder = db.open()
    holder.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
    pending = pool.starmap_async(race, [(db.dsn, action, f"op{i}") for i in range(4)])
    try:
        wait_until(lambda: _waiting(db) == 4, 30, "four operators waiting for the lock")
    finally:
        holder.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
        holder.close()
    return pending.get(timeout=30)


def test_four_operators_open_one_window_and_close_it_once(platform_db: TestDatabase) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        opened = _race(pool, platform_db, "on")
        rows = platform_db.fetch_all("SELECT id, ended_at FROM opslib.maintenance_windows")
        closed = _race(pool, platform_db, "off")
    assert Counter(a for a, _ in opened) == {"open": 1, "keep": 3}
    assert len({ids for _, ids in opened}) == 1  # all name the same window
    assert len(rows) == 1
    assert rows[0]["ended_at"] is None
    assert Counter(a for a, _ in closed) == {"close": 1, "none": 3}
    row = platform_db.fetch_one("SELECT id, ended_at, ended_by FROM opslib.maintenance_windows")
    assert row is not None
    assert row["id"] == rows[0]["id"]
    assert row["ended_at"] is not None
    assert row["ended_by"] in {f"op{i}" for i in range(4)}

"""``plan_maintenance`` / ``apply_maintenance`` on the real test PostgreSQL: absent tables, no
rights, fresh statistics skipped, the lock timeout honoured behind a conflicting lock."""

from __future__ import annotations

import time

import psycopg

from opslib.config import PlatformTables
from opslib.dbmaintain import MaintainPolicy, apply_maintenance, plan_maintenance, read_stats
from tests.db_maintenance.conftest import seed
from tests.dbkit import TestDatabase

TABLES = PlatformTables()


def _states(steps: object) -> dict[str, str]:
    return {s.key: s.state for s in steps}  # type: ignore[attr-defined]


def test_runs_analyze_and_vacuum_then_skips_fresh_tables(seeded: TestDatabase) -> None:
    plan = plan_maintenance(seeded, TABLES)
    assert _states(plan.steps) == dict.fromkeys(
        ("monitored_urls", "price_history", "scrape_logs"), "planned"
    )
    assert [s.operation for s in plan.steps] == ["analyze", "vacuum_analyze", "analyze"]
    before = {s.key: s for s in plan.before}
    assert before["price_history"].analyzed is None
    assert before["price_history"].live == 20_000
    result = apply_maintenance(seeded, plan, TABLES)
    assert _states(result.steps) == dict.fromkeys(
        ("monitored_urls", "price_history", "scrape_logs"), "done"
    )
    after = {s.key: s for s in result.after}
    assert after["price_history"].vacuumed is not None
    assert all(after[k].analyzed is not None for k in after)
    # Statistics now fresh: the next run skips every table, saying why.
    again = plan_maintenance(seeded, TABLES)
    assert _states(again.steps) == dict.fromkeys(
        ("monitored_urls", "price_history", "scrape_logs"), "fresh"
    )
    assert "analysed 0.0 h ago" in again.steps[1].reason
    # Many rows changed since: that table is due again, the others stay fresh.
    seed_more = 5_000
    seeded.execute("UPDATE price_history SET price = price + 1 WHERE id <= %s", (seed_more,))
    seeded.execute("SELECT pg_stat_force_next_flush()")
    assert _states(plan_maintenance(seeded, TABLES).steps)["price_history"] == "planned"
    # fresh_hours 0: every table runs.
    everything = plan_maintenance(seeded, TABLES, MaintainPolicy(fresh_hours=0))
    assert not any(s.state == "fresh" for s in everything.steps)


def test_a_table_that_does_not_exist(seeded: TestDatabase) -> None:
    tables = PlatformTables.model_validate({"price_history": {"name": "no_such_prices"}})
    plan = plan_maintenance(seeded, tables)
    step = next(s for s in plan.steps if s.key == "price_history")
    assert step.state == "failed"
    assert step.reason.startswith("table no_such_prices not found")
    assert "tables.price_history.name" in step.reason
    result = apply_maintenance(seeded, plan, tables)
    assert _states(result.steps) == {
        "monitored_urls": "done",
        "price_history": "failed",
        "scrape_logs": "done",
    }


def test_no_rights_to_vacuum(plain_dsn: str) -> None:
    with TestDatabase(plain_dsn) as plain:
        plan = plan_maintenance(plain, TABLES)
        assert _states(plan.steps) == dict.fromkeys(
            ("monitored_urls", "price_history", "scrape_logs"), "failed"
        )
        vacuum = plan.steps[1]
        assert vacuum.reason.startswith("no rights to VACUUM price_history")
        result = apply_maintenance(plain, plan, TABLES)
        assert not any(s.state == "done" for s in result.steps)


def test_lock_timeout_honoured_behind_a_conflicting_lock(seeded: TestDatabase) -> None:
    waits: list[float] = []
    policy = MaintainPolicy(lock_timeout=0.3, attempts=3, retry_wait=0.1, sleep=waits.append)
    with psycopg.connect(seeded.dsn, autocommit=False) as holder:
        holder.execute("LOCK TABLE price_history IN SHARE UPDATE EXCLUSIVE MODE")
        # A writer still inserts while the lock is held and maintenance waits.
        with psycopg.connect(seeded.dsn, autocommit=True) as writer:
            plan = plan_maintenance(seeded, TABLES, policy)
            started = time.monotonic()
            result = apply_maintenance(seeded, plan, TABLES)
            elapsed = time.monotonic() - started
            writer.execute(
                "INSERT INTO price_history (url_id, price) VALUES (1, 1)",
            )
        holder.rollback()
    step = next(s for s in result.steps if s.key == "price_history")
    assert step.state == "skipped"
    assert step.attempts == 3
    assert "lock not granted within 0.3 s in 3 attempts" in step.reason
    assert waits == [0.1, 0.1]
    # Three waits of 0.3 s each, not a wait for the holder: the others ran meanwhile.
    assert 0.8 < step.seconds < 2.0, step.seconds
    assert elapsed < 5.0
    assert _states(result.steps)["monitored_urls"] == "done"
    # Once the lock is gone it runs.
    done = apply_maintenance(seeded, plan_maintenance(seeded, TABLES, policy), TABLES)
    assert _states(done.steps)["price_history"] == "done"


def test_stats_before_and_after(platform_db: TestDatabase) -> None:
    seed(platform_db, prices=30_000)
    platform_db.execute("DELETE FROM price_history WHERE id % 2 = 0")
    platform_db.execute("SELECT pg_stat_force_next_flush()")
    stats = {s.key: s for s in read_stats(platform_db, TABLES)}
    ph = stats["price_history"]
    assert ph.dead >= 15_000
    assert ph.table_bytes > 1_000_000
    assert ph.index_bytes > 0
    assert 0 <= ph.xid_share < 0.01

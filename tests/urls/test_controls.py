"""UrlControls against a real database: the load a pause or an interval change removes, pause
and resume of exactly what opslib paused, the automatic resume, the refusal to pause every
URL, factor within floor and ceiling, an exact restore, an interval stored as seconds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from opslib.audit import AuditLog
from opslib.config import PlatformTables, UrlControlSettings
from opslib.errors import InputError, UnsafeActionError
from opslib.urls import AUTO_RESUME_ACTOR, UrlControls, select_urls
from tests.dbkit import TestDatabase

SETTINGS = UrlControlSettings(interval_floor_seconds=10, interval_ceiling_seconds=200)


@pytest.fixture
def urls_db(platform_db: TestDatabase) -> TestDatabase:
    # 20 URLs: priorities 1..10 twice, alpha.test and beta.test, every one checked each 60 s
    platform_db.execute(
        "INSERT INTO monitored_urls (domain, url, priority, check_interval)"
        " SELECT CASE WHEN n % 2 = 0 THEN 'alpha.test' ELSE 'beta.test' END,"
        " 'http://shop.test/' || n, (n - 1) % 10 + 1, interval '60 seconds'"
        " FROM generate_series(1, 20) AS n"
    )
    return platform_db


@pytest.fixture
def controls(urls_db: TestDatabase) -> Iterator[UrlControls]:
    with urls_db.open() as db:
        yield UrlControls(db, SETTINGS)


def _active(db: TestDatabase) -> int:
    row = db.fetch_one("SELECT count(*) AS n FROM monitored_urls WHERE active")
    assert row is not None
    return int(row["n"])


def test_selection_by_name_value_range_and_domain() -> None:
    low = select_urls(SETTINGS, "low", None)
    assert (low.lowest, low.highest, low.describe()) == (7, 10, "priority low (7-10)")
    assert (
        select_urls(SETTINGS, "8-9", "Alpha.test").describe() == "priority 8-9, domain alpha.test"
    )
    assert select_urls(SETTINGS, None, "a.test").describe() == "domain a.test"
    for bad in ("lowest", "9-8", "x1"):
        with pytest.raises(InputError):
            select_urls(SETTINGS, bad, None)
    with pytest.raises(InputError, match="--priority"):
        select_urls(SETTINGS, None, None)


def test_pause_shows_load_then_resume_restores_exactly(
    controls: UrlControls, urls_db: TestDatabase
) -> None:
    urls_db.execute("UPDATE monitored_urls SET active = false WHERE priority = 10 AND id = 10")
    low = select_urls(SETTINGS, "low", None)
    plan = controls.plan_pause(low, timedelta(hours=2))
    # priorities 7..10 twice, one of them inactive already: 7 URLs at 60 requests/h each
    assert (plan.removed.urls, round(plan.removed.requests_per_hour)) == (7, 420)
    assert (plan.total.urls, round(plan.total.requests_per_hour)) == (19, 1140)
    assert "removes 37% of the 1,140 requests/h of 19 active URLs" in plan.describe()
    assert _active(urls_db) == 19  # planning changed nothing
    controls.pause(low, timedelta(hours=2), reason="overload", actor="carol")
    assert _active(urls_db) == 12
    again = controls.plan_pause(low)
    assert (again.changes, again.already_paused) == (False, 7)
    paused = controls.paused()
    assert {(r["actor"], r["reason"]) for r in paused} == {("carol", "overload")}
    resumed = controls.resume()
    assert (len(resumed.url_ids), round(resumed.restored.requests_per_hour)) == (7, 420)
    assert _active(urls_db) == 19  # id 10 stays off: opslib did not pause it
    assert controls.paused() == []


def test_pausing_every_url_is_refused_unless_forced(
    controls: UrlControls, urls_db: TestDatabase
) -> None:
    everything = select_urls(SETTINGS, "1-10", None)
    with pytest.raises(UnsafeActionError, match="every active URL"):
        controls.pause(everything)
    assert _active(urls_db) == 20  # nothing half-applied
    controls.pause(everything, force=True)
    assert _active(urls_db) == 0


def test_expired_pause_resumes_automatically(controls: UrlControls, urls_db: TestDatabase) -> None:
    controls.pause(select_urls(SETTINGS, None, "alpha.test"), timedelta(hours=1))
    assert _active(urls_db) == 10
    urls_db.execute("UPDATE opslib.paused_urls SET until = now() - interval '1 second'")
    # the next change resumes it first
    controls.pause(select_urls(SETTINGS, "1", "beta.test"), timedelta(hours=1))
    assert _active(urls_db) == 18  # alpha's 10 back, beta's two of priority 1 off
    urls_db.execute("UPDATE opslib.paused_urls SET until = now() - interval '1 second'")
    assert controls.resume_expired().restored.urls == 2
    assert _active(urls_db) == 20
    entries = AuditLog(urls_db).recent(action="urls.resume")
    assert {e.actor for e in entries} == {AUTO_RESUME_ACTOR}
    with pytest.raises(InputError, match="max_pause_hours"):
        controls.plan_pause(select_urls(SETTINGS, "low", None), timedelta(days=30))


def _intervals(db: TestDatabase) -> dict[int, float]:
    rows = db.fetch_all(
        "SELECT id, extract(epoch FROM check_interval)::float8 AS s FROM monitored_urls"
    )
    return {int(r["id"]): float(r["s"]) for r in rows}


def test_interval_factor_floor_ceiling_and_exact_restore(
    controls: UrlControls, urls_db: TestDatabase
) -> None:
    urls_db.execute("UPDATE monitored_urls SET check_interval = interval '150 s' WHERE id = 7")
    before = _intervals(urls_db)
    low = select_urls(SETTINGS, "low", None)
    plan = controls.plan_interval(low, 2)
    # 8 URLs: 7 go 60 -> 120 s, id 7 150 -> 200 (the ceiling): 8 x 60 -> 7 x 30 + 18 per hour
    assert round(plan.before.requests_per_hour) == 7 * 60 + 24
    assert round(plan.after.requests_per_hour) == 7 * 30 + 18
    assert "held at the floor 10 s / ceiling 200 s" in plan.describe()
    controls.interval(low, 2, actor="carol")
    after = _intervals(urls_db)
    assert after[7] == 200
    assert after[8] == 120
    assert after[1] == 60
    controls.interval(low, 2)  # twice: the originals recorded the first time stay
    assert _intervals(urls_db)[8] == 200
    faster = controls.plan_interval(select_urls(SETTINGS, "1", None), 0.1)
    assert {c.new_seconds for c in faster.changes_} == {10}  # the floor
    with pytest.raises(InputError, match="max_factor"):
        controls.plan_interval(low, 50)
    restored = controls.interval(low, None)
    assert restored.changes
    assert _intervals(urls_db) == before
    assert not controls.plan_interval(low, None).changes


def test_interval_stored_as_seconds_under_other_names(fresh_db: TestDatabase) -> None:
    from opslib.migrations import migrate

    migrate(fresh_db, ("opslib",))
    fresh_db.execute(
        "CREATE TABLE watch (uid integer PRIMARY KEY, shop text, prio integer,"
        " every_s integer, enabled boolean)"
    )
    fresh_db.execute(
        "INSERT INTO watch SELECT n, 'a.test', n, 100, true FROM generate_series(1, 4) n"
    )
    tables = PlatformTables.model_validate(
        {
            "monitored_urls": {
                "name": "watch",
                "id": "uid",
                "domain": "shop",
                "priority": "prio",
                "check_interval": "every_s",
                "active": "enabled",
            }
        }
    )
    with fresh_db.open() as db:
        controls = UrlControls(db, SETTINGS, tables)
        high = select_urls(SETTINGS, "3-4", None)
        controls.interval(high, 1.5)
        controls.pause(select_urls(SETTINGS, "1", None))
    rows = fresh_db.fetch_all("SELECT uid, every_s, enabled FROM watch ORDER BY uid")
    assert [(r["every_s"], r["enabled"]) for r in rows] == [
        (100, False),
        (100, True),
        (150, True),
        (150, True),
    ]

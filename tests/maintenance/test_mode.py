"""MaintenanceMode against a real PostgreSQL: windows, idempotence, the cache, an unreadable
database. The cache's clock is injected: no test sleeps."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from opslib import MaintenanceMode, MaintenanceWindow
from opslib.adapters import Database
from opslib.config import MaintenanceSettings
from opslib.errors import DataError, InputError
from opslib.maintenance import MaintenanceScope
from tests.dbkit import TestDatabase
from tests.support import free_port


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _mode(db: Database, clock: Clock | None = None, **settings: object) -> MaintenanceMode:
    return MaintenanceMode(db, MaintenanceSettings(**settings), clock=clock or Clock())


def _open_count(db: TestDatabase) -> int:
    row = db.fetch_one(
        "SELECT count(*) AS n FROM opslib.maintenance_windows WHERE ended_at IS NULL"
    )
    assert row is not None
    return int(row["n"])


def test_enable_and_disable_are_idempotent(platform_db: TestDatabase) -> None:
    mode = _mode(platform_db)
    assert mode.status().state == "off"
    first = mode.enable("deploy v2", actor="alice")
    assert first.action == "open"
    [window] = first.windows
    assert isinstance(window, MaintenanceWindow)
    assert (window.reason, window.actor, window.scope.everything) == ("deploy v2", "alice", True)
    assert window.expected_end - window.started_at == timedelta(minutes=120)
    again = mode.enable("deploy v2 (again)", actor="bob")
    assert again.action == "keep"
    assert not again.changes
    assert "already on for everything" in again.describe()
    assert _open_count(platform_db) == 1
    status = mode.status()
    assert status.state == "on"
    assert status.windows[0].actor == "alice"
    closed = mode.disable(actor="bob")
    assert closed.action == "close"
    assert [w.id for w in closed.windows] == [window.id]
    assert mode.disable().action == "none"
    assert mode.status().state == "off"
    [old] = mode.history()
    assert (old.ended_by, old.open) == ("bob", False)


def test_until_moves_the_end_of_the_same_scope_and_scopes_coexist(
    platform_db: TestDatabase,
) -> None:
    mode = _mode(platform_db)
    alpha = MaintenanceScope.of(domains=["alpha.test"])
    opened = mode.enable("alpha migrates", scope=alpha)
    later = opened.windows[0].expected_end + timedelta(hours=1)
    moved = mode.enable("alpha migrates", scope=alpha, until=later)
    assert moved.action == "move_end"
    assert "expected end moves" in moved.describe()
    assert mode.status().windows[0].expected_end == later
    assert mode.enable("everything too").action == "open"
    assert _open_count(platform_db) == 2
    plan = mode.plan_disable()
    assert (plan.action, len(plan.windows)) == ("close", 2)
    assert _open_count(platform_db) == 2  # a plan changes nothing
    assert len(mode.disable().windows) == 2


def test_plan_enable_changes_nothing_and_bad_input_is_refused(platform_db: TestDatabase) -> None:
    mode = _mode(platform_db)
    plan = mode.plan_enable("deploy", scope=MaintenanceScope.of(["scraper"]))
    assert plan.action == "open"
    assert plan.describe().startswith("open a maintenance window for service scraper until")
    assert _open_count(platform_db) == 0
    with pytest.raises(InputError, match="say why"):
        mode.enable("  ")
    assert _open_count(platform_db) == 0


def test_one_open_window_per_scope_is_a_constraint(platform_db: TestDatabase) -> None:
    _mode(platform_db).enable("deploy", scope=MaintenanceScope.of(["scraper"]))
    with pytest.raises(DataError, match="maintenance_windows_open_scope_idx"):
        platform_db.execute(
            "INSERT INTO opslib.maintenance_windows (reason, actor, expected_end, services)"
            " VALUES ('again', 'x', now() + interval '1 h', '{scraper}')"
        )


def test_is_active_by_scope(platform_db: TestDatabase) -> None:
    mode = _mode(platform_db, cache_seconds=0)
    assert not mode.is_active()
    mode.enable("alpha", scope=MaintenanceScope.of(["api"], ["alpha.test"]))
    assert mode.is_active()  # some window is open
    assert mode.is_active(service="api")
    assert mode.is_active(domain="ALPHA.test")
    assert mode.is_active(service="scraper", domain="alpha.test")
    assert not mode.is_active(service="scraper")
    assert not mode.is_active(service="scraper", domain="bravo.test")
    assert mode.is_active(MaintenanceScope.of(domains=["alpha.test", "bravo.test"]))
    assert not mode.is_active(MaintenanceScope.of(["scraper"]))
    assert mode.paused_domains() == {"alpha.test"}
    mode.enable("everything")
    assert mode.is_active(service="scraper", domain="bravo.test")


def test_is_active_is_cached_for_cache_seconds(platform_db: TestDatabase) -> None:
    clock = Clock()
    service = _mode(platform_db.open(), clock, cache_seconds=5)
    operator = _mode(platform_db)
    assert not service.is_active(service="scraper")
    operator.enable("deploy")
    clock.now += 4.9
    assert not service.is_active(service="scraper")  # still the answer read 4.9 s ago
    clock.now += 0.1
    assert service.is_active(service="scraper")
    operator.disable()
    clock.now += 4.9
    assert service.is_active(service="scraper")
    clock.now += 0.2
    assert not service.is_active(service="scraper")
    service.database.close()


def test_the_process_that_changes_it_sees_it_at_once(platform_db: TestDatabase) -> None:
    clock = Clock()
    mode = _mode(platform_db, clock, cache_seconds=60)
    assert not mode.is_active()
    mode.enable("deploy")
    assert mode.is_active()
    mode.disable()
    assert not mode.is_active()


def _break_table(db: TestDatabase) -> None:
    db.execute("ALTER TABLE opslib.maintenance_windows RENAME TO maintenance_windows_gone")


@pytest.mark.parametrize(
    ("policy", "while_on", "while_off"),
    [("last_known", True, False), ("assume_on", True, True), ("assume_off", False, False)],
)
def test_when_the_database_cannot_be_read(
    platform_db: TestDatabase, policy: str, while_on: bool, while_off: bool
) -> None:
    clock = Clock()
    reader = platform_db.open()
    on = _mode(reader, clock, cache_seconds=5, when_unreachable=policy)
    off = _mode(reader, Clock(), cache_seconds=5, when_unreachable=policy)
    _mode(platform_db).enable("deploy", scope=MaintenanceScope.of(["on-service"]))
    assert on.is_active(service="on-service")
    assert not off.is_active(service="off-service")
    assert on.unreachable is None
    _break_table(platform_db)
    clock.now += 5
    off.invalidate()
    assert on.is_active(service="on-service") is while_on
    assert off.is_active(service="off-service") is while_off
    assert on.unreachable is not None
    assert "maintenance_windows" in on.unreachable
    platform_db.execute("ALTER TABLE opslib.maintenance_windows_gone RENAME TO maintenance_windows")
    clock.now += 5
    assert on.is_active(service="on-service")
    assert on.unreachable is None
    reader.close()


def test_an_unreachable_server_follows_the_policy_without_a_query_per_call() -> None:
    closed = Database(f"host=127.0.0.1 port={free_port()} dbname=x user=u", connect_timeout=1)
    clock = Clock()
    never_read = _mode(closed, clock, when_unreachable="last_known")
    assert not never_read.is_active()  # nothing known yet: off
    assert never_read.unreachable is not None
    pessimist = _mode(closed, clock, when_unreachable="assume_on")
    began = time.perf_counter()
    assert pessimist.is_active(service="scraper")
    tried = time.perf_counter() - began
    # Cached like an answer: the next calls within cache_seconds do not try to connect again.
    began = time.perf_counter()
    assert all(pessimist.is_active(domain="a.test") for _ in range(1000))
    cached = time.perf_counter() - began
    assert tried >= 0.5  # libpq was retried for timeouts.connect (1 s)
    assert cached < 0.1
    assert pessimist.unreachable is not None

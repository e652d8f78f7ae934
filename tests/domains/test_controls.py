"""DomainControls against a real database: cooldown and pause plans, a cooldown that ends by
itself (injected clock, and for real), the cached answers, auto-cooldown from scrape_logs
recorded in the audit log and not restarted by the bans that caused it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from opslib.audit import AuditLog
from opslib.config import DomainControlSettings, PlatformTables
from opslib.domains import AUTO_ACTOR, DomainControls, parse_duration
from opslib.errors import InputError
from opslib.quality import PlatformSchema
from tests.dbkit import TestDatabase


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def controls(platform_db: TestDatabase) -> Iterator[DomainControls]:
    with platform_db.open() as db:
        yield DomainControls(db, DomainControlSettings(cache_seconds=0))


def test_cooldown_plan_apply_and_end(controls: DomainControls) -> None:
    plan = controls.plan_cooldown("Alpha.test", timedelta(minutes=30), "bans")
    assert (plan.action, plan.changes) == ("cooldown", True)
    assert controls.is_allowed("alpha.test")  # planning changed nothing
    done = controls.cooldown("alpha.test", timedelta(minutes=30), reason="bans", actor="carol")
    assert done.action == "cooldown"
    assert not controls.is_allowed("alpha.test")
    assert controls.is_allowed("beta.test")
    assert controls.blocked_domains() == {"alpha.test"}
    shorter = controls.cooldown("alpha.test", timedelta(minutes=5))
    assert shorter.action == "none"  # a shorter one does not cut the running cooldown
    longer = controls.cooldown("alpha.test", timedelta(hours=1))
    assert longer.action == "extend"
    state = controls.state("alpha.test")
    assert state.state(controls.now()) == "cooling"
    assert "cooling down until" in state.describe(controls.now())
    assert controls.cooldown("alpha.test", None).action == "end"
    assert controls.is_allowed("alpha.test")
    assert controls.cooldown("alpha.test", None).action == "none"


def test_pause_and_resume(controls: DomainControls) -> None:
    assert controls.pause("alpha.test", reason="site redesign").action == "pause"
    assert controls.pause("alpha.test").action == "none"
    assert not controls.is_allowed("alpha.test")
    assert controls.state("alpha.test").describe(controls.now()).startswith("paused (site")
    assert controls.pause("alpha.test", False).action == "resume"
    assert controls.is_allowed("alpha.test")


def test_a_cooldown_ends_by_itself_between_reads(platform_db: TestDatabase) -> None:
    clock = Clock()
    with platform_db.open() as db:
        controls = DomainControls(db, DomainControlSettings(cache_seconds=300), clock=clock)
        controls.cooldown("alpha.test", timedelta(seconds=90))
        assert not controls.is_allowed("alpha.test")
        clock.now += 60
        assert not controls.is_allowed("alpha.test")  # from memory, still cooling
        clock.now += 31
        assert controls.is_allowed("alpha.test")  # over, with no read since
        assert controls.blocked_domains() == frozenset()


def test_a_cooldown_ends_by_itself_for_real(platform_db: TestDatabase) -> None:
    with platform_db.open() as db:
        controls = DomainControls(db, DomainControlSettings(cache_seconds=1))
        controls.cooldown("alpha.test", timedelta(seconds=2))
        other = DomainControls(db, DomainControlSettings(cache_seconds=1))
        assert not other.is_allowed("alpha.test")
        time.sleep(2.2)
        assert other.is_allowed("alpha.test")
        assert controls.state("alpha.test").state(controls.now()) == "active"


def test_cached_answers_see_changes_within_the_cache(platform_db: TestDatabase) -> None:
    clock = Clock()
    with platform_db.open() as db, platform_db.open() as other_db:
        reader = DomainControls(db, DomainControlSettings(cache_seconds=5), clock=clock)
        assert reader.is_allowed("alpha.test")
        DomainControls(other_db).pause("alpha.test")
        assert reader.is_allowed("alpha.test")  # cached
        clock.now += 5
        assert not reader.is_allowed("alpha.test")


def test_a_reader_whose_connection_was_killed_sees_changes_again(
    platform_db: TestDatabase,
) -> None:
    """A scraper's controls whose database connection is terminated (a restart, a failover,
    an idle timeout) keep the last read while the read fails, then reconnect and see what
    changed meanwhile: never a stale pause, cooldown or strategy for good."""
    clock = Clock()
    with platform_db.open() as db, platform_db.open() as other_db:
        reader = DomainControls(db, DomainControlSettings(cache_seconds=5), clock=clock)
        assert reader.is_allowed("alpha.test")
        row = db.fetch_one("SELECT pg_backend_pid() AS pid")
        assert row is not None
        other_db.execute("SELECT pg_terminate_backend(%s)", (row["pid"],))
        DomainControls(other_db).pause("alpha.test")
        seen = []
        for _ in range(2):  # the refresh that meets the dead connection may fail: the next not
            clock.now += 5
            seen.append(reader.is_allowed("alpha.test"))
        assert seen[-1] is False, seen
        assert reader.unreachable is None


def _log(db: TestDatabase, domain: str, outcomes: dict[str, int], ago: str = "1 minute") -> None:
    for outcome, n in outcomes.items():
        db.execute(
            "INSERT INTO scrape_logs (domain, started_at, outcome)"
            " SELECT %s, now() - %s::interval, %s FROM generate_series(1, %s)",
            (domain, ago, outcome, n),
        )


def test_auto_cooldown_starts_records_and_does_not_restart(platform_db: TestDatabase) -> None:
    settings = DomainControlSettings(ban_share=0.5, min_requests=20, cache_seconds=0)
    _log(platform_db, "alpha.test", {"banned": 15, "ok": 10})  # 60 %: over
    _log(platform_db, "beta.test", {"banned": 5, "ok": 20})  # 20 %: under
    _log(platform_db, "gamma.test", {"banned": 10})  # too few requests to judge
    _log(platform_db, "delta.test", {"banned": 30}, ago="10 minutes")  # outside the window
    with platform_db.open() as db:
        controls = DomainControls(db, settings)
        schema = PlatformSchema.read(db, PlatformTables())
        audit = AuditLog(db, AUTO_ACTOR)
        [started] = controls.auto_cooldown(schema, audit)
        assert (started.domain, started.requests, started.bans) == ("alpha.test", 25, 15)
        assert not controls.is_allowed("alpha.test")
        state = controls.state("alpha.test")
        assert (state.auto, state.actor) == (True, AUTO_ACTOR)
        assert "ban share 60% (15 of 25 requests" in state.reason
        [entry] = audit.recent(action="domains.cooldown")
        assert (entry.actor, entry.outcome, entry.arguments["auto"]) == (AUTO_ACTOR, "ok", True)
        assert controls.auto_cooldown(schema, audit) == []  # already cooling down
        controls.cooldown("alpha.test", None)  # ended: the old bans no longer count
        assert controls.auto_cooldown(schema, audit) == []


def test_auto_cooldown_without_an_outcome_column_uses_status_codes(
    platform_db: TestDatabase,
) -> None:
    platform_db.execute("ALTER TABLE scrape_logs RENAME COLUMN outcome TO result")
    platform_db.execute(
        "INSERT INTO scrape_logs (domain, status_code, result)"
        " SELECT 'alpha.test', CASE WHEN n % 4 = 0 THEN 200 ELSE 429 END, 'ok'"
        " FROM generate_series(1, 40) n"
    )
    with platform_db.open() as db:
        controls = DomainControls(db, DomainControlSettings())
        [started] = controls.auto_cooldown(PlatformSchema.read(db, PlatformTables()))
        assert (started.domain, started.bans) == ("alpha.test", 30)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a duration"),
        ("soon", "not a duration"),
        ("0m", "must last"),
        ("9d", "more than 168 h"),
    ],
)
def test_bad_durations(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_duration(text, max_hours=168)


def test_durations() -> None:
    assert parse_duration("1h30m", max_hours=2) == timedelta(minutes=90)
    assert parse_duration("45s", max_hours=2) == timedelta(seconds=45)

"""Sessions, ages, waits and the blocking tree, read from a real server with real locks."""

from __future__ import annotations

from opslib.config import Settings
from opslib.dbactivity import (
    Activity,
    blocked_sessions,
    connection_usage,
    long_queries,
    read_activity,
)
from opslib.results import Severity
from tests.dbactivity.conftest import Sessions
from tests.dbkit import TestDatabase
from tests.support import wait_until


def _blocked(db: TestDatabase, pid: int) -> Activity:
    holder: list[Activity] = []

    def seen() -> bool:
        holder[:] = [read_activity(db)]
        session = holder[0].session(pid)
        # Waiting for a moment: a wait judged against a zero limit is then above it.
        return session is not None and session.waiting and (session.query_seconds or 0) > 0.2

    wait_until(seen, 10, f"session {pid} waiting for a lock")
    return holder[0]


def test_blocking_tree(lockable: TestDatabase, sessions: Sessions) -> None:
    blocker = sessions.blocker()
    first = sessions.blocked_writer()
    _blocked(lockable, first)
    second = sessions.blocked_writer()
    activity = _blocked(lockable, second)

    root = activity.session(blocker)
    assert root is not None
    assert root.idle_in_transaction
    assert not root.waiting
    assert [s.pid for s in activity.roots()] == [blocker]
    waiting = activity.session(first)
    assert waiting is not None
    assert waiting.wait.startswith("Lock:")
    assert waiting.blocked_by == (blocker,)
    # The second writer queues behind the first (tuple lock) or the blocker: either way the
    # blocker heads the tree and holds both up.
    assert activity.blocked_count(blocker) == 2
    tree = [(depth, s.pid) for depth, s in activity.tree()]
    assert tree[0] == (0, blocker)
    assert {pid for _d, pid in tree[1:]} == {first, second}


def test_blocked_check_names_the_blocker_and_the_command(
    lockable: TestDatabase, sessions: Sessions
) -> None:
    settings = Settings(thresholds={"db.lock_wait_seconds": {"warn": 0, "crit": 0}})
    blocker = sessions.blocker()
    writer = sessions.blocked_writer()
    activity = _blocked(lockable, writer)
    result = blocked_sessions(lockable, settings, activity)
    assert result.severity is Severity.CRITICAL
    # The test's role is a superuser: the command says --force, as the refusal would.
    assert f"opslib db terminate {blocker} --force" in result.remediation
    assert f"blocked by pid {blocker}" in result.message()
    assert blocked_sessions(lockable, Settings()).severity is Severity.OK  # 30 s not reached


def test_nothing_blocked_is_ok(lockable: TestDatabase) -> None:
    result = blocked_sessions(lockable, Settings())
    assert result.severity is Severity.OK
    assert "no session waits for a lock" in result.message()


def test_long_query_and_idle_transaction(lockable: TestDatabase, sessions: Sessions) -> None:
    sleeper = sessions.open(application="test-sleeper")
    sessions.background(sleeper, "SELECT pg_sleep(30)")
    pid = sleeper.info.backend_pid
    idle = sessions.blocker()
    wait_until(
        lambda: (
            (s := read_activity(lockable).session(pid)) is not None and (s.query_seconds or 0) > 0.2
        ),
        10,
        "the pg_sleep query running for a moment",
    )
    strict = Settings(
        thresholds={
            "db.query_seconds": {"warn": 0, "crit": 0},
            "db.idle_in_transaction_seconds": {"warn": 0, "crit": 0},
        }
    )
    result = long_queries(lockable, strict)
    assert result.severity is Severity.CRITICAL
    assert f"opslib db cancel {pid} --force" in result.remediation
    assert f"opslib db terminate {idle} --force" in result.remediation
    relaxed = long_queries(lockable, Settings())
    assert relaxed.severity is Severity.OK
    assert any(m.name == "query_seconds" and m.subject.startswith(f"pid {pid}")
               for m in relaxed.measurements)  # fmt: skip


def test_connections_against_max_connections(lockable: TestDatabase, sessions: Sessions) -> None:
    for _ in range(3):
        sessions.open()
    activity = read_activity(lockable)
    assert activity.max_connections == 100
    assert len(activity.clients) >= 4
    assert activity.own_pid in {s.pid for s in activity.clients}
    assert activity.own_pid not in {s.pid for s in activity.others}
    ok = connection_usage(lockable, Settings(), activity)
    assert ok.severity is Severity.OK
    share = len(activity.clients) / 100
    tight = Settings(thresholds={"db.connections_used": {"warn": share / 2, "crit": share / 2}})
    red = connection_usage(lockable, tight, activity)
    assert red.severity is Severity.CRITICAL
    assert "opslib db activity" in red.remediation
